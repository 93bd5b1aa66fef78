"""The `crossplay` experiment: league-trained against self-play-trained agents on realpolitik.

Two runs of `population.league.run_league` on the same small realpolitik board and the same
environment (`RealpolitikEnv`, so both agents see the same observations and share one network
architecture):

* **league**: `league` (by default one main agent, one main exploiter, one league exploiter,
  the main agent mixing self-play, prioritised fictitious self-play and forgotten-opponent
  games; Vinyals et al. 2019);
* **self-play**: the same config with no exploiters and `self_play_fraction=1`, so its main
  agent only ever plays the current main agent: naive self-play on the same machinery, with
  the same number of main-agent PPO updates (`rounds x trainer.num_updates`).

Then the two main agents' final parameters and the shared initial policy play a cross-play
table (`population.league_env.play_env_matches`): every ordered seat assignment of
{league, self_play, initial} on the board's seats, `games_per_profile` games each, both
orders, so a seat advantage of the board is visible rather than averaged away.

Outputs in the run directory: `crossplay.csv` (one row per ordered profile: the member at
each seat, each seat's mean return and standard error), `results.json`, and the two league
runs (with their checkpoints) under `league/` and `self_play/`.
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import json
import pathlib
from typing import NamedTuple

import numpy as np

from detente.population import Member, Population
from detente.population.league import INITIAL_ID, LeagueConfig, LeagueResult, run_league
from detente.population.league_env import play_env_matches

AGENTS = ("league", "self_play", "initial")


@dataclasses.dataclass(frozen=True)
class CrossplayConfig:
    """Configuration of the `crossplay` experiment.

    Attributes:
      game: a realpolitik game string (or any game the league accepts).
      league: the league run (its `game` and `backend` are replaced).
      games_per_profile: games per ordered seat assignment in the cross-play table.
      seed: seed of the cross-play matches (the runs use `league.seed`).
      backend: `LeagueConfig.backend` of both runs and the cross-play matches: "host", or
        "jax" for a JAX-only game such as "realpolitik_jax(map=duel,max_years=2)" (learners
        and matches on the device).
    """

    game: str = "realpolitik(map=duel,max_years=2)"
    league: LeagueConfig = dataclasses.field(default_factory=LeagueConfig)
    games_per_profile: int = 64
    seed: int = 0
    backend: str = "host"

    def __post_init__(self):
        self.league_config()  # validates the game and backend for the league
        for name, minimum in (("games_per_profile", 1), ("seed", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(
                    f"CrossplayConfig.{name} must be an integer >= {minimum}, got {value!r}"
                )

    def league_config(self) -> LeagueConfig:
        """The league config of the league run: `league` with this config's game and backend."""
        return dataclasses.replace(self.league, game=self.game, backend=self.backend)

    def self_play_config(self) -> LeagueConfig:
        """The league config of the self-play run: one main agent, self-play only."""
        return dataclasses.replace(
            self.league_config(),
            num_main_exploiters=0,
            num_league_exploiters=0,
            self_play_fraction=1.0,
            pfsp_fraction=0.0,
            forgotten_fraction=0.0,
        )


class CrossplayRow(NamedTuple):
    """One ordered seat assignment of the cross-play table.

    Attributes:
      seats: the agent ("league", "self_play", "initial") at each seat.
      mean_returns: each seat's mean return over the games.
      stderr: each seat's standard error of the mean.
      games: games played.
    """

    seats: tuple[str, ...]
    mean_returns: tuple[float, ...]
    stderr: tuple[float, ...]
    games: int


class CrossplayResult(NamedTuple):
    """The cross-play table and the runs behind it.

    Attributes:
      rows: one per ordered seat assignment.
      league_updates: PPO updates of the league's main agent.
      self_play_updates: PPO updates of the self-play main agent.
      wall_times: seconds of the league run and of the self-play run.
      run_dir: the run directory.
    """

    rows: list[CrossplayRow]
    league_updates: int
    self_play_updates: int
    wall_times: tuple[float, float]
    run_dir: pathlib.Path


def _main_member(result: LeagueResult, agent: str) -> Member:
    main = next(record for record in result.learners if record.role == "main")
    return Member.create(agent, result.states[main.name].params, role="main", step=main.updates)


def run_crossplay(
    config: CrossplayConfig, run_dir: str | pathlib.Path, *, progress: bool = True
) -> CrossplayResult:
    """Trains both agents (or resumes them) and plays the cross-play table."""
    del progress
    run_dir = pathlib.Path(run_dir)
    league = run_league(config.league_config(), run_dir=run_dir / "league")
    self_play = run_league(config.self_play_config(), run_dir=run_dir / "self_play")
    population = Population(
        [
            _main_member(league, "league"),
            _main_member(self_play, "self_play"),
            Member.create("initial", league.population[INITIAL_ID].params, role="initial"),
        ]
    )
    num_players = league.spec.num_players
    profiles = list(itertools.product(AGENTS, repeat=num_players))
    matches = play_env_matches(
        config.game,
        league.network,
        population,
        profiles,
        games_per_profile=config.games_per_profile,
        seed=config.seed,
        on_device=config.backend == "jax",
    )
    rows = [
        CrossplayRow(
            seats=tuple(match.members),
            mean_returns=tuple(float(v) for v in match.mean_returns),
            stderr=tuple(float(v) for v in match.returns.std(axis=0) / np.sqrt(len(match.returns))),
            games=len(match.returns),
        )
        for match in matches
    ]
    with open(run_dir / "crossplay.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            [f"seat{p}" for p in range(num_players)]
            + [f"return{p}" for p in range(num_players)]
            + [f"stderr{p}" for p in range(num_players)]
            + ["games"]
        )
        for row in rows:
            writer.writerow([*row.seats, *row.mean_returns, *row.stderr, row.games])
    result = CrossplayResult(
        rows=rows,
        league_updates=population["league"].step,
        self_play_updates=population["self_play"].step,
        wall_times=(league.wall_time, self_play.wall_time),
        run_dir=run_dir,
    )
    with open(run_dir / "results.json", "w") as f:
        json.dump(
            {
                "game": config.game,
                "rows": [row._asdict() for row in rows],
                "league_updates": result.league_updates,
                "self_play_updates": result.self_play_updates,
                "member_hashes": {m.id: m.hash for m in population},
            },
            f,
            indent=1,
        )
    return result


def format_crossplay(result: CrossplayResult) -> str:
    """The cross-play table as text: each seat's mean return (standard error)."""
    num_players = len(result.rows[0].seats)
    header = " ".join(f"{f'seat {p}':>10}" for p in range(num_players))
    header += "  " + " ".join(f"{f'return {p}':>16}" for p in range(num_players))
    lines = [
        f"cross-play (main agents: league {result.league_updates} updates, self-play "
        f"{result.self_play_updates} updates)",
        header,
        "-" * len(header),
    ]
    for row in result.rows:
        seats = " ".join(f"{s:>10}" for s in row.seats)
        returns = " ".join(
            f"{f'{m:+.3f} ({e:.3f})':>16}"
            for m, e in zip(row.mean_returns, row.stderr, strict=True)
        )
        lines.append(f"{seats}  {returns}")
    return "\n".join(lines)
