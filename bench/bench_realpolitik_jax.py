"""Benchmark: phases per second of the JAX realpolitik engine vs the reference and `diplomacy`.

The JAX engine plays random legal actions on the classic board, sampled on the device from the
masks inside one jitted `lax.scan` (auto-reset at the game end), at several batch sizes; the
reference environment (`RealpolitikEnv`, random legal actions from its masks) and the `diplomacy`
package (random legal orders, `process()`) run in the same process. Every figure is the median
of 3 timings (the package's: runs before, between and after ours), since a shared machine's
speed drifts between runs. Also reports the compile time and the bytes of one game's State
(mask included).

On the CPU each batch is split into one part per core (`--host-parts`, default
`detente.lib.default_num_parts()`), each part stepped by its own jitted call from its own host
thread (`detente.lib.host_parallel`): one call keeps about 1.5 of 2 cores busy. The parts'
engine runs its phase dispatch in chunks of `--parts-dispatch-chunk` games (32; a part has a
core to itself, and one call's default chunks of up to 256 are for a call using every core).
Batch 1,024 (`--one-call-batch`) and the adjudication are also timed in one call, with the
default chunks, for the gain. The
`diplomacy` package runs in this one Python process, as it ships: one core. Ends by printing
one JSON line:
{"bench": "realpolitik_jax", "ours": ..., "peer": ..., "unit": "phases/s", "ratio": ..., ...}.

With --equivalence it instead plays random games through both engines on every shipped board
(`compare_with_reference`) and prints the number of phases compared and of mismatches.

Run: python bench/bench_realpolitik_jax.py [--batches 1,64,1024,4096] [--steps 20]
     python bench/bench_realpolitik_jax.py --equivalence [--phases-per-board 5000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
from bench_realpolitik_adjudicator import diplomacy_rates

from detente.games.jax_games import auto_reset
from detente.games.realpolitik.env import RealpolitikEnv
from detente.games.realpolitik_jax import RealpolitikJax
from detente.games.realpolitik_jax._check import compare_with_reference, random_legal_actions
from detente.lib import HostParallel, default_num_parts, map_parts, split_batch


def _prefix_sum(x: jax.Array) -> jax.Array:
    """Inclusive prefix sums int32 along the last axis of small counts, as one float32 matrix
    product with a triangular matrix (exact below 2**24; XLA's CPU backend runs `jnp.cumsum` as
    a slow windowed reduction)."""
    n = x.shape[-1]
    upper = jnp.asarray(np.triu(np.ones((n, n), np.float32)))
    return jnp.dot(x.astype(jnp.float32), upper).astype(jnp.int32)


def _nth_set_bit(word: jax.Array, n: jax.Array) -> jax.Array:
    """Position int32 of the (n + 1)-th set bit of uint32 `word` (binary search on popcounts)."""
    pos = jnp.zeros(word.shape, jnp.int32)
    width = _BLOCK // 2
    while width:
        below = (jnp.uint32(1) << (pos + width).astype(jnp.uint32)) - jnp.uint32(1)
        count = jax.lax.population_count(word & below).astype(jnp.int32)
        pos = jnp.where(count <= n, pos + width, pos)
        width //= 2
    return pos


def sample_legal(key: jax.Array, mask: jax.Array) -> jax.Array:
    """Uniform legal actions int32 [..., K] from a mask [..., K, A] (the r-th True entry).

    The one pass over the mask packs each block of `_BLOCK` entries into a uint32 word (the
    last block holds the A mod `_BLOCK` remaining entries); popcounts and their prefix sums
    pick the word holding the r-th legal entry, and a binary search on popcounts the bit. The
    same answer as `argmax(cumsum(mask) > r)` without a cumulative sum over all A entries.
    """
    lead = mask.shape[:-1]
    nb, tail = divmod(mask.shape[-1], _BLOCK)
    shifts = jnp.arange(_BLOCK, dtype=jnp.uint32)

    def pack(bits):  # [..., _BLOCK] bool -> uint32
        return jnp.sum(bits.astype(jnp.uint32) << shifts, axis=-1, dtype=jnp.uint32)

    last = jnp.pad(mask[..., nb * _BLOCK :], [(0, 0)] * len(lead) + [(0, _BLOCK - tail)])
    words = jnp.concatenate(
        [pack(mask[..., : nb * _BLOCK].reshape(*lead, nb, _BLOCK)), pack(last)[..., None]],
        axis=-1,
    )  # [..., nb + 1]
    counts = jax.lax.population_count(words).astype(jnp.int32)
    csum = _prefix_sum(counts)
    count = csum[..., -1]
    r = jnp.floor(jax.random.uniform(key, count.shape) * count).astype(jnp.int32)
    blk = jnp.minimum(jnp.sum(csum <= r[..., None], axis=-1, dtype=jnp.int32), nb)
    before = jnp.take_along_axis(csum - counts, blk[..., None], axis=-1)[..., 0]
    word = jnp.take_along_axis(words, blk[..., None], axis=-1)[..., 0]
    return (blk * _BLOCK + _nth_set_bit(word, r - before)).astype(jnp.int32)


_BLOCK = 32


def make_rollout(env: RealpolitikJax, steps: int):
    """jit(rollout(state, key) -> (state, phases played)) over `steps` phases of a batch."""
    step = jax.vmap(auto_reset(env.init, env.step))

    def body(carry, _):
        state, key, played = carry
        key, k_act, k_step = jax.random.split(key, 3)
        actions = sample_legal(k_act, state.legal_action_mask)
        live = ~(state.terminated | state.truncated)
        keys = jax.random.split(k_step, live.shape[0])
        state = step(state, actions, keys)
        return (state, key, played + jnp.sum(live)), None

    def rollout(state, key):
        (state, _, played), _ = jax.lax.scan(body, (state, key, jnp.int32(0)), None, steps)
        return state, played

    return jax.jit(rollout)


def bench_jax(
    env: RealpolitikJax, batch: int, steps: int, seed: int, parts: int = 1, repeats: int = 3
) -> dict:
    """Phases/s of `steps`-phase jitted rollouts of a batch: the median of `repeats` timed
    rollouts (each from where the last ended), after one untimed rollout into mid-game.

    With `parts` > 1 the batch is split into that many parts (`detente.lib.split_batch`), each
    rolled out by its own call from its own host thread (`detente.lib.map_parts`); part i draws
    from `fold_in(key, i)`. `compile_s` is the compile time of every part shape.
    """
    parts = min(parts, batch)
    init = jax.jit(jax.vmap(env.init))
    states = split_batch(init(jax.random.split(jax.random.key(seed), batch)), parts)
    rollout = make_rollout(env, steps)
    t0 = time.perf_counter()
    compiled = {}
    for s in states:
        size = s.phase_kind.shape[0]
        if size not in compiled:
            compiled[size] = rollout.lower(s, jax.random.key(seed)).compile()
    compile_s = time.perf_counter() - t0

    def play(key):
        nonlocal states
        outs = map_parts(
            lambda s, k: compiled[s.phase_kind.shape[0]](s, k),
            [(s, jax.random.fold_in(key, i)) for i, s in enumerate(states)],
        )
        states = [state for state, _ in outs]
        return sum(int(played) for _, played in outs)

    play(jax.random.key(seed + 1))  # warm up (games in the middle)
    rates = []
    for r in range(repeats):
        t0 = time.perf_counter()
        played = play(jax.random.key(seed + 2 + r))
        rates.append(played / (time.perf_counter() - t0))
    return {
        "batch": batch,
        "parts": parts,
        "phases_per_s": statistics.median(rates),
        "range": [round(min(rates), 1), round(max(rates), 1)],
        "compile_s": compile_s,
    }


def bench_reference(phases: int, seed: int) -> float:
    env = RealpolitikEnv("classic", 8, max_years=10, auto_reset=True)
    ts = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    done_phases = 0
    t0 = time.perf_counter()
    while done_phases < phases:
        live = ~(ts.terminated | ts.truncated)
        ts = env.step(random_legal_actions(rng, ts.legal_action_mask))
        done_phases += int(live.sum())
    return done_phases / (time.perf_counter() - t0)


def bench_adjudication(
    env: RealpolitikJax,
    batch: int,
    steps: int,
    seed: int,
    parts: tuple[int, ...] = (1,),
    parts_env: RealpolitikJax | None = None,
) -> dict[int, float]:
    """Phases/s of `RealpolitikJax.adjudicate` alone (jitted, vmapped over the batch).

    `steps` phases of random legal play are recorded first (positions, slot locations and
    actions; the mask and observation are dropped, which `adjudicate` does not read), then one
    jitted call adjudicates all of them, `lax.map` over the phases. For each entry of `parts`
    the batch is split into that many parts, adjudicated by concurrent calls from host threads
    (`detente.lib.HostParallel`; 1: one call), adjudicated by `parts_env` (None: `env`) when
    there are several. The settings alternate; each figure is the median of 3 timings.
    """
    init = jax.jit(jax.vmap(env.init))
    step = jax.jit(jax.vmap(auto_reset(env.init, env.step)))
    sample = jax.jit(sample_legal)
    state = init(jax.random.split(jax.random.key(seed), batch))
    key = jax.random.key(seed + 1)
    empty = {"observation": jnp.zeros((batch, 0)), "legal_action_mask": jnp.zeros((batch, 0))}
    states, actions = [], []
    for _ in range(steps + 5):  # the first 5 phases (the opening) are not recorded
        key, k_act, k_step = jax.random.split(key, 3)
        a = sample(k_act, state.legal_action_mask)
        states.append(state._replace(**empty))
        actions.append(a)
        state = step(state, a, jax.random.split(k_step, batch))
    states = jax.tree.map(lambda *x: jnp.stack(x), *states[5:])
    actions = jnp.stack(actions[5:])

    def adjudicator(engine):
        adjudicate = jax.vmap(engine.adjudicate)
        return jax.jit(lambda s, a: jax.lax.map(lambda x: adjudicate(*x), (s, a)))

    one_call = adjudicator(env)
    in_parts = one_call if parts_env is None else adjudicator(parts_env)  # one compile if same
    settings = {}
    for n in parts:
        run = one_call if min(n, batch) == 1 else in_parts
        parallel = HostParallel(run, min(n, batch), in_axes=(1, 1), out_axis=1)
        split = parallel.split(states, actions)
        parallel.call_parts(split)  # compile, warm up
        settings[n] = (parallel, split)
    times = {n: [] for n in parts}
    for _ in range(3):
        for n, (parallel, split) in settings.items():
            t0 = time.perf_counter()
            parallel.call_parts(split)
            times[n].append(time.perf_counter() - t0)
    return {n: steps * batch / statistics.median(t) for n, t in times.items()}


def state_bytes(env: RealpolitikJax) -> int:
    state = jax.eval_shape(env.init, jax.random.key(0))
    return int(sum(np.prod(x.shape) * x.dtype.itemsize for x in jax.tree.leaves(state)))


def equivalence(phases_per_board: int, games: int, seed: int) -> dict:
    out = {}
    for name in ("duel", "triad", "quartet", "classic"):
        total, mismatches, unsupported, s = 0, 0, 0, seed
        t0 = time.perf_counter()
        while total < phases_per_board:
            r = compare_with_reference(
                name, num_games=games, num_phases=60, seed=s, stop_at_first=False
            )
            total += r["phases"]
            mismatches += r["mismatches"]
            unsupported += r["unsupported"]
            if r["first"] is not None:
                print(json.dumps({"board": name, "seed": s, "first": r["first"]}, default=str))
            s += 1
        out[name] = {
            "phases": total,
            "games": games * (s - seed),
            "mismatches": mismatches,
            "unsupported": unsupported,
            "seconds": round(time.perf_counter() - t0, 1),
        }
        print(json.dumps({name: out[name]}), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="1,64,1024,4096")
    parser.add_argument("--steps", type=int, default=20, help="phases per timed rollout")
    parser.add_argument("--ref-phases", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--equivalence", action="store_true")
    parser.add_argument("--phases-per-board", type=int, default=5000)
    parser.add_argument("--games", type=int, default=32)
    parser.add_argument("--adjudication-batch", type=int, default=1024)
    parser.add_argument(
        "--host-parts",
        type=int,
        default=default_num_parts(),
        help="split each batch into this many parts run from host threads (default: the "
        "host's cores on the CPU backend, 1 on accelerators; detente.lib.host_parallel)",
    )
    parser.add_argument(
        "--one-call-batch",
        type=int,
        default=1024,
        help="with host parts, also time this batch in one call (0: skip)",
    )
    parser.add_argument(
        "--parts-dispatch-chunk",
        type=int,
        default=32,
        help="with host parts, the parts' engine's RealpolitikJax(dispatch_chunk=...) (0: the "
        "engine's default)",
    )
    args = parser.parse_args()
    if args.host_parts < 1:
        parser.error(f"--host-parts must be a positive integer, got {args.host_parts}")
    if args.parts_dispatch_chunk < 0:
        parser.error(
            "--parts-dispatch-chunk must be a non-negative integer, "
            f"got {args.parts_dispatch_chunk}"
        )
    if args.equivalence:
        res = equivalence(args.phases_per_board, args.games, args.seed)
        total = sum(r["phases"] for r in res.values())
        bad = sum(r["mismatches"] for r in res.values())
        print(
            json.dumps(
                {
                    "bench": "realpolitik_jax_equivalence",
                    "phases": total,
                    "mismatches": bad,
                    "boards": res,
                }
            )
        )
        return
    env = RealpolitikJax("classic", max_years=10)
    parts_env = RealpolitikJax(
        "classic", max_years=10, dispatch_chunk=args.parts_dispatch_chunk or None
    )

    # The package's speed drifts with the machine's load (1.5x between runs on a shared
    # machine): it is sampled before, between and after our timings, and the medians used.
    peer_runs = []

    def sample_peer():
        rates = diplomacy_rates(args.ref_phases, args.seed, last_year=1910)
        if rates is not None:
            peer_runs.append(rates)

    sample_peer()
    results = []
    parts = args.host_parts
    for batch in (int(b) for b in args.batches.split(",")):
        r = bench_jax(
            parts_env if min(parts, batch) > 1 else env, batch, args.steps, args.seed, parts
        )
        print(json.dumps(r), flush=True)
        results.append(r)
    one_call = None
    if parts > 1 and args.one_call_batch:  # one call for a batch, for the host threads' gain
        one_call = bench_jax(env, args.one_call_batch, args.steps, args.seed, parts=1)
        print(json.dumps(one_call), flush=True)
    sample_peer()
    ref = bench_reference(args.ref_phases, args.seed)
    adj_batch = args.adjudication_batch
    adj = {}
    if adj_batch:
        adj = bench_adjudication(
            env, adj_batch, args.steps, args.seed, tuple(sorted({1, parts})), parts_env
        )
    sample_peer()
    ours = results[-1]["phases_per_s"]
    peer = statistics.median(p[0] for p in peer_runs) if peer_runs else None
    adj_peer = statistics.median(p[1] for p in peer_runs) if peer_runs else None
    for n, rate in sorted(adj.items()):
        print(f"adjudication alone, batch {adj_batch}, {n} part(s): {rate:.0f} phases/s")
    if peer is not None:
        runs = ", ".join(f"{w:.0f} ({p:.0f})" for w, p in peer_runs)
        print(f"diplomacy package: {peer:.0f} phases/s ({adj_peer:.0f} for process() alone);")
        print(f"  its {len(peer_runs)} runs: {runs}")
    print(
        json.dumps(
            {
                "bench": "realpolitik_jax",
                "ours": round(ours, 1),
                "peer": None if peer is None else round(peer, 1),
                "unit": "phases/s",
                "ratio": None if peer is None else round(ours / peer, 2),
                "batch": results[-1]["batch"],
                "host_parts": results[-1]["parts"],
                "parts_dispatch_chunk": args.parts_dispatch_chunk or None,
                "one_call": None
                if one_call is None
                else {
                    "batch": one_call["batch"],
                    "phases_per_s": round(one_call["phases_per_s"], 1),
                },
                "by_batch": {r["batch"]: round(r["phases_per_s"], 1) for r in results},
                "by_batch_range": {r["batch"]: r["range"] for r in results},
                "peer_runs": [[round(w, 1), round(p, 1)] for w, p in peer_runs],
                "compile_s": {r["batch"]: round(r["compile_s"], 1) for r in results},
                "reference_env": round(ref, 1),
                "adjudication_only": {
                    "ours": round(adj[parts], 1) if adj else None,
                    "peer": None if adj_peer is None else round(adj_peer, 1),
                    "ratio": round(adj[parts] / adj_peer, 2) if adj and adj_peer else None,
                    "batch": adj_batch,
                    "host_parts": parts,
                    "one_call": round(adj[1], 1) if adj else None,
                    "ratio_one_call": round(adj[1] / adj_peer, 2) if adj and adj_peer else None,
                },
                "state_bytes_per_game": state_bytes(env),
                "device": jax.devices()[0].device_kind,
            }
        )
    )


if __name__ == "__main__":
    main()
