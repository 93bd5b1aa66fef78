"""Benchmark: a realpolitik league with its games on the device against the same league on the host.

Both sides run `population.league.run_league` with the same config, rounds, learners, snapshot
schedule and match counts, on the same board:

* ours: `realpolitik_jax(...)` with `LeagueConfig.backend="jax"`: the learners' rollouts
  (`train_jax_against_opponents`, one `lax.scan` per update) and the payoff-filling matches
  (`play_env_matches(on_device=True)`) on the JAX engine, on the default device;
* peer: `realpolitik(...)` with `backend="host"`: the numpy reference engine
  (`RealpolitikEnv`) stepped from the host, acting on the default device;
* also shown, not in the ratio: `realpolitik_jax(...)` with `backend="host"`, the JAX engine
  behind the host interface (`JaxGameEnv`), which gives the peer's result bit for bit on the
  2-power board.

The unit is league rounds per second after the first round (the first compiles, so it is left
out). `snapshot_threshold=None` makes the snapshot schedule, and so the number of matches per
round, the same on every side.

Run:  python bench/bench_league_backends.py                 (2-power board, ~2 minutes on 2 cores)
      python bench/bench_league_backends.py --map classic    (the classic board; long on a CPU)
The last line of output is one JSON object:
  {"bench": "league_backends", "ours": ..., "peer": ..., "unit": "rounds/s", "ratio": ...}.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform

import jax

from detente.population import OpponentTrainingConfig
from detente.population.league import LeagueConfig, run_league


def league_config(game: str, backend: str, args: argparse.Namespace) -> LeagueConfig:
    """The bench's league: the default roles, `args`' sizes, snapshots on a fixed schedule."""
    base = LeagueConfig()
    trainer = dataclasses.replace(
        base.trainer,
        batch_size=args.batch_size,
        unroll_length=args.unroll_length,
        num_updates=args.updates,
    )
    return dataclasses.replace(
        base,
        game=game,
        backend=backend,
        rounds=args.rounds,
        trainer=trainer,
        games_per_profile=args.games_per_profile,
        snapshot_threshold=None,
    )


def rounds_per_second(config: LeagueConfig) -> tuple[float, float, int]:
    """(rounds/s after the first round, seconds of the first round, members at the end)."""
    result = run_league(config)
    seconds = [float(row["seconds"]) for row in result.rows]
    return (len(seconds) - 1) / max(sum(seconds[1:]), 1e-9), seconds[0], len(result.population)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--map", default="duel")
    parser.add_argument("--max-years", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--unroll-length", type=int, default=10)
    parser.add_argument("--updates", type=int, default=4, help="updates per learner per round")
    parser.add_argument("--games-per-profile", type=int, default=8)
    args = parser.parse_args(argv)
    if args.rounds < 2:
        parser.error(f"--rounds must be at least 2 (the first compiles), got {args.rounds}")
    OpponentTrainingConfig(batch_size=args.batch_size, num_groups=8)  # fails early on bad sizes
    params = f"map={args.map},max_years={args.max_years}"
    device = jax.devices()[0]
    print(
        f"# league_backends bench: python {platform.python_version()}, jax {jax.__version__} on "
        f"{device.platform} ({device.device_kind}), {os.cpu_count()} CPUs, "
        f"{platform.processor() or platform.machine()}"
    )
    print(
        f"# {params}: {args.rounds} rounds, B={args.batch_size}, T={args.unroll_length}, "
        f"{args.updates} updates per learner per round, {args.games_per_profile} games per profile"
    )
    sides = {
        "jax engine, games on the device": (f"realpolitik_jax({params})", "jax"),
        "RealpolitikEnv on the host (peer)": (f"realpolitik({params})", "host"),
        "jax engine behind JaxGameEnv": (f"realpolitik_jax({params})", "host"),
    }
    rates = {}
    print(f"{'':36s} {'rounds/s':>10s} {'first round s':>14s} {'members':>8s}")
    for name, (game, backend) in sides.items():
        rate, first, members = rounds_per_second(league_config(game, backend, args))
        rates[name] = rate
        print(f"{name:36s} {rate:10.3f} {first:14.1f} {members:8d}")
    ours, peer = (
        rates["jax engine, games on the device"],
        rates["RealpolitikEnv on the host (peer)"],
    )
    print(f"ratio (device / host): {ours / peer:.2f}")
    line = {
        "bench": "league_backends",
        "ours": round(ours, 4),
        "peer": round(peer, 4),
        "unit": "rounds/s",
        "ratio": round(ours / peer, 3),
        "game": params,
        "jax_game_env": round(rates["jax engine behind JaxGameEnv"], 4),
        "rounds": args.rounds,
        "batch_size": args.batch_size,
        "device": f"{device.platform}:{device.device_kind}",
    }
    print(json.dumps(line))


if __name__ == "__main__":
    main()
