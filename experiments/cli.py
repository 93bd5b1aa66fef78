"""The `detente` command line.

detente run NAME [--set key=value ...] [--run-dir DIR] [--no-progress]
detente list                     # registered experiments
detente games [--filter TEXT]    # registered games with their kind
detente leaderboard POOL --game GAME --seed S --games-per-pair N --out DIR
detente report RUN_DIR           # RUN_DIR/report.md with plots
detente evaluate PAYOFFS.json [--out DIR] [--json]   # every meta-game evaluator on a table
detente exploitability POOL --game GAME --member ID --out DIR [--set key=value ...]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from detente.experiments.exploitability_command import (
    add_exploitability_parser,
    run_exploitability_command,
)
from detente.experiments.leaderboard_command import add_leaderboard_parser, run_leaderboard_command
from detente.experiments.overrides import apply_overrides, config_to_dict
from detente.experiments.registry import EXPERIMENTS, default_run_dir, get_experiment
from detente.experiments.render_command import add_render_parser, run_render
from detente.experiments.report import (
    add_evaluate_parser,
    add_report_parser,
    run_evaluate,
    run_report,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="detente", description="Multi-agent RL for mixed-motive games."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run a registered experiment")
    run.add_argument("name", help="experiment name (see `detente list`)")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field, e.g. --set trainer.num_updates=50 (repeatable)",
    )
    run.add_argument("--run-dir", default=None, help="output directory (default runs/NAME)")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.add_argument("--print-config", action="store_true", help="print the config and exit")

    commands.add_parser("list", help="list registered experiments")

    games = commands.add_parser("games", help="list registered games with their kind")
    games.add_argument("--filter", default="", help="only names containing this text")

    add_render_parser(commands)
    add_leaderboard_parser(commands)
    add_report_parser(commands)
    add_evaluate_parser(commands)
    add_exploitability_parser(commands)
    return parser


def _run(args: argparse.Namespace) -> int:
    experiment = get_experiment(args.name)
    config = apply_overrides(experiment.config_class(), args.overrides)
    if args.print_config:
        print(json.dumps(config_to_dict(config), indent=1))
        return 0
    run_dir = args.run_dir or default_run_dir(experiment.name)
    result = experiment.run(config, run_dir, progress=not args.no_progress)
    print(experiment.summarize(result))
    print(f"\noutputs in {run_dir}")
    return 0


def _games(args: argparse.Namespace) -> int:
    from detente.games import list_games

    header = f"{'name':<34} {'source':<9} {'dynamics':<12} {'chance':<19} {'players':<8} utility"
    print(header)
    print("-" * len(header))
    for info in list_games():
        if args.filter and args.filter not in info.name:
            continue
        players = (
            str(info.min_players)
            if info.min_players == info.max_players
            else f"{info.min_players}-{info.max_players}"
        )
        print(
            f"{info.name:<34} {info.source:<9} {info.dynamics:<12} {info.chance:<19} "
            f"{players:<8} {info.utility}"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `detente` command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "list":
            for name, experiment in sorted(EXPERIMENTS.items()):
                print(f"{name:<14} {experiment.description}")
            return 0
        if args.command == "games":
            return _games(args)
        if args.command == "render":
            return run_render(args)
        if args.command == "leaderboard":
            return run_leaderboard_command(args)
        if args.command == "report":
            return run_report(args)
        if args.command == "evaluate":
            return run_evaluate(args)
        if args.command == "exploitability":
            return run_exploitability_command(args)
    except ValueError as error:  # bad input: a clear message, no traceback
        print(f"detente: error: {error}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
