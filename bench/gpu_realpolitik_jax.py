"""GPU benchmark of the JAX realpolitik engine: phases per second at large batches.

One prepared script for an accelerator machine (not run in CI): prints the device, then for each
batch size the compile time and the phases per second of random legal play on the classic board
(actions sampled on the device from the masks, auto-reset, one jitted `lax.scan`), then
self-play training frames per second on the JAX backend (`train_jax_self_play` on
`realpolitik_jax`, PPO updates included, compilation excluded, as in bench_jax_self_play.py),
then the issue's training ratio: duel self-play frames/s on the JAX backend against the host
backend (`train_self_play` on the numpy `RealpolitikEnv`, stepped on the host CPU, acting on
the device), the same board, network and PPO config as bench_jax_self_play.py, in this run;
then `RealpolitikJax.adjudicate` alone (the rules, no mask or observation), then the
`diplomacy` package's phases per second (whole loop, and `process()` alone) on this machine's
host CPU (one process; the peer of the ratios), then `agents.sample`'s near-legal draw against
the dense one on the classic masks (`--sampler-batch`), and ends with one JSON line. Batches
that do not fit in memory are reported as such and skipped. Designed to finish in under 5 minutes.

Run: python bench/gpu_realpolitik_jax.py [--batches 1024,4096,16384,65536] [--steps 20]
         [--self-play-game "realpolitik_jax(map=classic,max_years=2)"]
         [--self-play-batches 1024,2048] [--duel-batch 1024] [--adjudication-batch 4096]
         [--sampler-batch 1024]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import sys
import time

import jax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_jax_self_play import _rate, bench_config  # noqa: E402
from bench_realpolitik_adjudicator import diplomacy_rates  # noqa: E402
from bench_realpolitik_jax import bench_adjudication, bench_jax, state_bytes  # noqa: E402

from detente.agents import sample  # noqa: E402
from detente.games import jax_games  # noqa: E402
from detente.games.realpolitik_jax import RealpolitikJax  # noqa: E402
from detente.population.jax_rollout import init_env_states  # noqa: E402
from detente.population.jax_self_play import train_jax_self_play  # noqa: E402
from detente.population.self_play import train_self_play  # noqa: E402

DUEL_JAX, DUEL_HOST = "realpolitik_jax(map=duel,max_years=2)", "realpolitik(map=duel,max_years=2)"


def self_play_rate(game: str, batch: int, updates: int) -> float:
    """Self-play training frames/s (phases of one game) on the JAX backend, updates included."""
    return _rate(train_jax_self_play, bench_config(game, batch, (256, 256)), updates)


def duel_training_ratio(batch: int, updates: int) -> dict:
    """Duel self-play frames/s, JAX backend (4 * `updates` updates) against the host backend
    (`updates` updates), bench_jax_self_play.py's config (MLP (64, 64), T = 16, PPO 2 epochs
    x 4 minibatches) at batch `batch`, updates included, compilation excluded."""
    config = bench_config(DUEL_JAX, batch, (64, 64))
    ours = _rate(train_jax_self_play, config, 4 * updates)
    peer = _rate(train_self_play, dataclasses.replace(config, game=DUEL_HOST), updates)
    return {
        "batch": batch,
        "ours": round(ours, 1),
        "peer": round(peer, 1),
        "ratio": round(ours / peer, 1),
    }


def sampler_ab(batch: int, reps: int = 10) -> dict:
    """`agents.sample`'s near-legal draw against the dense one on this device: ms per call on
    the classic board's masks at the start of a game ([batch, 7, 17, 1,446], random logits);
    the actions are the same (checked). The CPU takes the near-legal draw by itself, an
    accelerator only if this says it pays (docs/agents.md)."""
    game = jax_games.make("realpolitik_jax(map=classic,max_years=2)")
    mask = init_env_states(game.init, jax.random.key(0), batch).legal_action_mask
    logits = jax.random.normal(jax.random.key(1), mask.shape)
    key = jax.random.key(2)
    times, actions = {}, {}
    for near in (False, True):
        draw = jax.jit(functools.partial(sample, near_legal=near))
        actions[near] = jax.block_until_ready(draw(key, logits, mask))
        start = time.perf_counter()
        for _ in range(reps):
            jax.block_until_ready(draw(key, logits, mask))
        times[near] = (time.perf_counter() - start) / reps * 1e3
    if not bool((actions[True] == actions[False]).all()):
        raise AssertionError("the near-legal draw gave other actions than the dense one")
    return {
        "batch": batch,
        "dense_ms": round(times[False], 2),
        "near_legal_ms": round(times[True], 2),
        "speedup": round(times[False] / times[True], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="1024,4096,16384,65536")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--budget-s", type=float, default=270.0, help="stop starting new sizes")
    parser.add_argument("--self-play-game", default="realpolitik_jax(map=classic,max_years=2)")
    parser.add_argument("--self-play-batches", default="1024,2048")
    parser.add_argument("--self-play-updates", type=int, default=6)
    parser.add_argument("--peer-phases", type=int, default=200, help="diplomacy package phases")
    parser.add_argument("--adjudication-batch", type=int, default=4096)
    parser.add_argument("--duel-batch", type=int, default=1024, help="0: skip the duel ratio")
    parser.add_argument("--duel-updates", type=int, default=6, help="host backend updates")
    parser.add_argument("--sampler-batch", type=int, default=1024, help="0: skip the A/B")
    args = parser.parse_args()
    device = jax.devices()[0]
    print(f"device: {device.platform} {device.device_kind}", flush=True)
    env = RealpolitikJax("classic", max_years=10)
    start = time.perf_counter()
    out = {}
    for batch in (int(b) for b in args.batches.split(",")):
        if time.perf_counter() - start > args.budget_s:
            print(f"batch {batch}: skipped (time budget)", flush=True)
            continue
        try:
            r = bench_jax(env, batch, args.steps, 0)
        except Exception as e:  # out of memory on the device: report and go on
            print(f"batch {batch}: failed ({type(e).__name__}: {str(e)[:200]})", flush=True)
            continue
        out[batch] = r
        print(json.dumps(r), flush=True)
    self_play = {}
    for batch in (int(b) for b in args.self_play_batches.split(",") if b):
        if time.perf_counter() - start > args.budget_s:
            print(f"self-play batch {batch}: skipped (time budget)", flush=True)
            continue
        try:
            self_play[batch] = self_play_rate(args.self_play_game, batch, args.self_play_updates)
        except Exception as e:  # out of memory on the device: report and go on
            print(f"self-play batch {batch}: failed ({type(e).__name__}: {str(e)[:200]})")
            continue
        print(f"self-play {args.self_play_game} B={batch}: {self_play[batch]:.0f} frames/s")
    duel = None
    if args.duel_batch:
        try:
            duel = duel_training_ratio(args.duel_batch, args.duel_updates)
            print(f"duel self-play training (JAX vs host backend): {json.dumps(duel)}", flush=True)
        except Exception as e:  # out of memory on the device: report and go on
            print(f"duel self-play: failed ({type(e).__name__}: {str(e)[:200]})", flush=True)
    sampler = None
    if args.sampler_batch:
        try:
            sampler = sampler_ab(args.sampler_batch)
            print(f"classic action draw, dense vs near-legal: {json.dumps(sampler)}", flush=True)
        except Exception as e:  # out of memory on the device: report and go on
            print(f"sampler A/B: failed ({type(e).__name__}: {str(e)[:200]})", flush=True)
    best = max(out.values(), key=lambda r: r["phases_per_s"], default=None)
    adj = bench_adjudication(env, args.adjudication_batch, args.steps, 0)[1]
    print(f"adjudication alone, batch {args.adjudication_batch}: {adj:.0f} phases/s", flush=True)
    # The peer runs on the host CPU of this machine, one process.
    peer, adj_peer = diplomacy_rates(args.peer_phases, 0, last_year=1910) or (None, None)
    if peer is not None:
        print(f"diplomacy package (host CPU): {peer:.0f} phases/s, process() alone {adj_peer:.0f}")
    ours = None if best is None else best["phases_per_s"]
    print(
        json.dumps(
            {
                "bench": "realpolitik_jax_gpu",
                "device": device.device_kind,
                "ours": None if ours is None else round(ours, 1),
                "peer": None if peer is None else round(peer, 1),
                "unit": "phases/s",
                "ratio": None if ours is None or peer is None else round(ours / peer, 1),
                "batch": None if best is None else best["batch"],
                "by_batch": {b: round(r["phases_per_s"], 1) for b, r in out.items()},
                "compile_s": {b: round(r["compile_s"], 1) for b, r in out.items()},
                "state_bytes_per_game": state_bytes(env),
                "adjudication_only": {
                    "ours": round(adj, 1),
                    "peer": None if adj_peer is None else round(adj_peer, 1),
                    "ratio": None if adj_peer is None else round(adj / adj_peer, 1),
                    "batch": args.adjudication_batch,
                },
                "self_play_game": args.self_play_game,
                "self_play_frames_per_s": {b: round(r, 1) for b, r in self_play.items()},
                "duel_training": duel,
                "sampler_ab": sampler,
            }
        )
    )


if __name__ == "__main__":
    main()
