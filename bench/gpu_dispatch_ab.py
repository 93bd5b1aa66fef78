"""A/B of the JAX engine's phase dispatch on this machine's backend: chunked against select.

Under `vmap` the engine's phase dispatch (`_engine._phase_dispatch`) either runs all three phase
transitions on every game and keeps one result (the select; the default on accelerators), or
sorts the games by phase kind and runs each transition on its own games only, in chunks (the
default on the CPU). This script measures both on the current backend, in one process, at the
same batches and seeds: the whole step of random legal play (phases/s, as
bench_realpolitik_jax.py), adjudication alone, and optionally self-play training frames/s. Each
chunked figure is run for several chunk sizes (at most a quarter of the batch, as the engine
caps it). Prepared for a GPU (the CPU's figures are in bench_realpolitik_jax.py); ends with one
JSON line whose "ours" is the best chunked whole-step figure and "peer" the select's at the same
batch.

Run: python bench/gpu_dispatch_ab.py [--batches 4096,16384] [--chunks 256,1024,4096]
         [--adjudication-batch 16384] [--self-play-batch 2048]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import jax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_realpolitik_jax import bench_adjudication, bench_jax  # noqa: E402
from gpu_realpolitik_jax import self_play_rate  # noqa: E402

from detente.games.realpolitik_jax import RealpolitikJax, _engine  # noqa: E402


def use(dispatch: str | int) -> None:
    """Select the dispatch of engines traced from now on: "select", or chunks of that many."""
    backend = jax.default_backend()
    if dispatch == "select":
        _engine.CHUNKED_BACKENDS = tuple(b for b in ("cpu", "gpu", "tpu") if b != backend)
    else:
        _engine.CHUNKED_BACKENDS = (backend,)
        _engine.DISPATCH_CHUNK = int(dispatch)


def best_chunk(rates: dict[str, float]) -> str | None:
    """The fastest chunk size of one batch's rates (keyed "select" or a chunk size), or None
    when only the select was measured."""
    chunked = {d: r for d, r in rates.items() if d != "select"}
    return max(chunked, key=chunked.get) if chunked else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="4096,16384")
    parser.add_argument("--chunks", default="256,1024,4096")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--adjudication-batch", type=int, default=16384)
    parser.add_argument("--self-play-game", default="realpolitik_jax(map=classic,max_years=2)")
    parser.add_argument("--self-play-batch", type=int, default=2048, help="0: skip")
    parser.add_argument("--self-play-chunk", type=int, default=512)
    parser.add_argument("--self-play-updates", type=int, default=6)
    args = parser.parse_args()
    device = jax.devices()[0]
    print(f"device: {device.platform} {device.device_kind}", flush=True)
    env = RealpolitikJax("classic", max_years=10)
    step: dict[int, dict[str, float]] = {}
    for batch in (int(b) for b in args.batches.split(",")):
        step[batch] = {}
        for dispatch in ["select", *(c for c in args.chunks.split(",") if int(c) <= batch // 4)]:
            use(dispatch)
            r = bench_jax(env, batch, args.steps, 0)
            step[batch][dispatch] = r["phases_per_s"]
            print(
                f"step B={batch} {dispatch}: {r['phases_per_s']:.0f} phases/s "
                f"(compile {r['compile_s']:.1f} s)",
                flush=True,
            )
    adjudication = {}
    batch = args.adjudication_batch
    best = best_chunk(step[max(step)])
    for dispatch in ("select",) if best is None else ("select", best):
        use(dispatch)
        adjudication[dispatch] = bench_adjudication(env, batch, args.steps, 0)[1]
        print(
            f"adjudication B={batch} {dispatch}: {adjudication[dispatch]:.0f} phases/s", flush=True
        )
    self_play = {}
    if args.self_play_batch:
        for dispatch in ("select", str(args.self_play_chunk)):
            use(dispatch)
            t0 = time.perf_counter()
            self_play[dispatch] = self_play_rate(
                args.self_play_game, args.self_play_batch, args.self_play_updates
            )
            print(
                f"self-play B={args.self_play_batch} {dispatch}: {self_play[dispatch]:.0f} "
                f"frames/s ({time.perf_counter() - t0:.0f} s)",
                flush=True,
            )
    batch, rates = max(step.items(), key=lambda kv: max(kv[1].values()))
    best = best_chunk(rates)
    print(
        json.dumps(
            {
                "bench": "realpolitik_jax_dispatch_ab",
                "device": device.device_kind,
                "ours": None if best is None else round(rates[best], 1),
                "peer": round(rates["select"], 1),
                "unit": "phases/s",
                "ratio": None if best is None else round(rates[best] / rates["select"], 3),
                "batch": batch,
                "chunk": best,
                "step": {b: {d: round(r, 1) for d, r in v.items()} for b, v in step.items()},
                "adjudication": {d: round(r, 1) for d, r in adjudication.items()},
                "self_play": {d: round(r, 1) for d, r in self_play.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
