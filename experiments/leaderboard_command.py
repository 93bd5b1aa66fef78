"""`detente leaderboard`: rate a frozen pool on a game, reproducibly.

detente leaderboard POOL_DIR_OR_MANIFEST --game GAME --seed S --games-per-pair N --out DIR
    [--games-per-match 32] [--anchor ID] [--anchor-rating 0] [--prior-draws 1]
    [--bootstrap 1000] [--max-steps N] [--no-uniform] [--no-progress]

The work lives in `detente.population.leaderboard_runner`; this module only parses arguments.
Bad input raises `ValueError` naming the problem, which `detente.experiments.cli.main` turns
into exit status 2. See docs/leaderboards.md.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_leaderboard_parser", "run_leaderboard_command"]


def add_leaderboard_parser(commands: Any) -> argparse.ArgumentParser:
    """Adds the `leaderboard` subcommand to the `detente` subparsers `commands`."""
    parser = commands.add_parser(
        "leaderboard",
        help="play a frozen pool's seeded matches and write an Elo leaderboard",
        description=(
            "Play the matches of a frozen pool (a pool.json manifest or a directory of "
            "checkpoints), seeded, and write matches.jsonl, leaderboard.json and "
            "leaderboard.md to --out. Rerunning with the same arguments resumes an interrupted "
            "run. See docs/leaderboards.md."
        ),
    )
    parser.add_argument("pool", help="pool manifest (pool.json) or a directory of checkpoints")
    parser.add_argument("--game", required=True, help="game string, e.g. kuhn_poker")
    parser.add_argument("--seed", type=int, default=0, help="schedule seed (default 0)")
    parser.add_argument(
        "--games-per-pair", type=int, default=100, help="games per pair of members (default 100)"
    )
    parser.add_argument(
        "--games-per-match", type=int, default=32, help="most games in one match (default 32)"
    )
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument(
        "--anchor", default=None, help="member fixed at --anchor-rating (default uniform_random)"
    )
    parser.add_argument("--anchor-rating", type=float, default=0.0, help="default 0")
    parser.add_argument(
        "--prior-draws", type=float, default=1.0, help="virtual draws per member (default 1)"
    )
    parser.add_argument(
        "--bootstrap", type=int, default=1000, help="bootstrap resamples (default 1000)"
    )
    parser.add_argument("--max-steps", type=int, default=None, help="truncate games")
    parser.add_argument(
        "--no-uniform",
        action="store_true",
        help="do not add the built-in uniform_random baseline to the pool",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def run_leaderboard_command(args: argparse.Namespace) -> int:
    """Runs `detente leaderboard`; returns the exit status."""
    from detente.population.leaderboard_runner import (
        LEADERBOARD_MD,
        load_pool,
        run_leaderboard,
    )

    pool = load_pool(args.pool, args.game)
    if not args.no_uniform:
        pool = pool.with_uniform()
    result = run_leaderboard(
        pool,
        args.game,
        args.out,
        seed=args.seed,
        games_per_pair=args.games_per_pair,
        games_per_match=args.games_per_match,
        anchor=args.anchor,
        anchor_rating=args.anchor_rating,
        prior_draws=args.prior_draws,
        num_bootstrap=args.bootstrap,
        max_steps=args.max_steps,
        progress=not args.no_progress,
    )
    print((result.out_dir / LEADERBOARD_MD).read_text(), end="")
    print(
        f"\n{result.played} matches played, {len(result.schedule) - result.played} "
        f"taken from the existing log; outputs in {result.out_dir}"
    )
    return 0
