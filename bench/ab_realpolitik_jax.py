"""A/B benchmark: the JAX realpolitik engine of this tree against another git revision.

On a shared machine single timings drift by up to a third within minutes, and the profiler's
per-op sums do not predict wall-clock gains (docs/realpolitik_jax.md, "Measuring on the shared
CPU"). This script times both versions alternately in fresh processes, `--pairs` times,
each figure the median of 3 timings (`bench_jax` / `bench_adjudication` of
bench_realpolitik_jax.py, from this tree for both). The two processes differ only in which
`detente` they import. The revision is checked out into a temporary git worktree.

`--what step` times the bench's whole rollout (legality check, adjudication, mask,
observation; random legal actions), `--what adjudicate` `jax.vmap(RealpolitikJax.adjudicate)`
alone on recorded phases (both one call, the engine's default chunks), and `--what train`
JAX self-play training frames/s, learner updates included (`--game`, default the duel board;
the config of bench_jax_self_play.py: T = 16, MLP (64, 64), PPO 2 epochs x 4 minibatches,
`--updates` updates of `--batch` games, one host part per core; the median of 3 runs in each
process). Ends by printing one JSON line:
{"bench": "realpolitik_jax_ab", "ours": ..., "peer": ..., "unit": ..., "ratio": ...},
"peer" being the other revision (medians over the pairs).

Run: python bench/ab_realpolitik_jax.py --base HEAD~1 [--pairs 3] [--what step]
     [--batch 1024] [--steps 10]
     python bench/ab_realpolitik_jax.py --base HEAD~1 --what train [--updates 6]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

_TIMER = """
import functools, json, statistics, sys
sys.path.insert(0, {bench!r})
import detente

if {what!r} == "train":
    from bench_jax_self_play import _rate, bench_config
    from detente.lib import default_num_parts
    from detente.population.jax_self_play import train_jax_self_play

    train = functools.partial(train_jax_self_play, host_parts=default_num_parts())
    config = bench_config({game!r}, {batch}, (64, 64))
    rate = statistics.median(_rate(train, config, {updates}) for _ in range(3))
else:
    from bench_realpolitik_jax import bench_adjudication, bench_jax
    from detente.games.realpolitik_jax import RealpolitikJax

    env = RealpolitikJax("classic", max_years=10)
    if {what!r} == "adjudicate":
        rate = bench_adjudication(env, {batch}, {steps}, 0)[1]
    else:
        rate = bench_jax(env, {batch}, {steps}, 0)["phases_per_s"]
print(json.dumps({{"rate": rate, "detente": detente.__file__}}))
"""


def _time(package_parent: Path, args: argparse.Namespace) -> tuple[float, str]:
    """Phases/s (frames/s for `train`) measured in a fresh process importing `detente` from
    `package_parent`."""
    code = _TIMER.format(
        bench=str(BENCH),
        what=args.what,
        batch=args.batch,
        steps=args.steps,
        game=args.game,
        updates=args.updates,
    )
    env = dict(os.environ, PYTHONPATH=str(package_parent))
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["rate"], result["detente"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="git revision to compare against")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--what", choices=("step", "adjudicate", "train"), default="step")
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--game", default="realpolitik_jax(map=duel,max_years=2)")
    parser.add_argument("--updates", type=int, default=6, help="updates per training run")
    args = parser.parse_args()
    if args.pairs < 1:
        parser.error(f"--pairs must be at least 1, got {args.pairs}")
    if args.updates < 2:
        parser.error(f"--updates must be at least 2 (the first compiles), got {args.updates}")
    unit = "frames/s" if args.what == "train" else "phases/s"
    with tempfile.TemporaryDirectory(prefix="detente_ab_") as tmp:
        tmp = Path(tmp)
        worktree = tmp / "base"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree), args.base],
            check=True,
            capture_output=True,
        )
        try:
            # Each side imports `detente` from a folder holding only a link named `detente`.
            sides = {"ours": tmp / "ours_pkg", "base": tmp / "base_pkg"}
            for side, target in (("ours", ROOT), ("base", worktree)):
                sides[side].mkdir()
                (sides[side] / "detente").symlink_to(target, target_is_directory=True)
            rates: dict[str, list[float]] = {"ours": [], "base": []}
            for pair in range(args.pairs):
                for side in ("base", "ours") if pair % 2 else ("ours", "base"):
                    rate, where = _time(sides[side], args)
                    rates[side].append(rate)
                    print(f"pair {pair + 1} {side}: {rate:,.0f} {unit} ({where})", flush=True)
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)],
                check=False,
                capture_output=True,
            )
    ours, peer = statistics.median(rates["ours"]), statistics.median(rates["base"])
    print(
        json.dumps(
            {
                "bench": "realpolitik_jax_ab",
                "ours": round(ours, 1),
                "peer": round(peer, 1),
                "unit": unit,
                "ratio": round(ours / peer, 3),
                "base": args.base,
                "what": args.what,
                "batch": args.batch,
                "game": args.game if args.what == "train" else "classic",
                "runs": {k: [round(r, 1) for r in v] for k, v in rates.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
