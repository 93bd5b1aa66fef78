"""Named experiments: each a typed config class and the entry point that runs it.

`detente run NAME --set key=value ...` looks the name up here; a test builds and validates
every entry's default config.
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Callable
from typing import Any

from detente.experiments.crossplay_experiment import (
    CrossplayConfig,
    format_crossplay,
    run_crossplay,
)
from detente.experiments.cycles_experiment import CyclesConfig, format_cycles_table, run_cycles
from detente.experiments.league_experiment import format_league, run_league_experiment
from detente.experiments.psro_comparison import (
    PSROComparisonConfig,
    format_comparison_table,
    run_psro_comparison,
)
from detente.experiments.psro_experiment import format_psro_table, run_psro_experiment
from detente.experiments.quickstart import QuickstartConfig, format_table, run_quickstart
from detente.experiments.self_play_experiment import (
    SelfPlayExperimentConfig,
    format_self_play,
    run_self_play_experiment,
)
from detente.population.league import LeagueConfig
from detente.population.psro import PSROConfig


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A registered experiment.

    Attributes:
      name: the name given to `detente run`.
      description: one line for `detente list`.
      config_class: the frozen dataclass of its configuration (all fields have defaults).
      run: `run(config, run_dir, progress=...) -> result`.
      summarize: `summarize(result) -> str`, the text printed at the end of the run.
    """

    name: str
    description: str
    config_class: type
    run: Callable[..., Any]
    summarize: Callable[[Any], str]


EXPERIMENTS: dict[str, Experiment] = {
    experiment.name: experiment
    for experiment in [
        Experiment(
            name="quickstart",
            description=(
                "naive self-play with PPO on 2-player and 3-player Kuhn poker, then exact "
                "NashConv of the uniform and trained policies"
            ),
            config_class=QuickstartConfig,
            run=run_quickstart,
            summarize=format_table,
        ),
        Experiment(
            name="psro",
            description=(
                "PSRO with PPO best responses (per-player populations, exact payoffs) on a small "
                "game; exact NashConv of the meta-strategy mixture per iteration"
            ),
            config_class=PSROConfig,
            run=run_psro_experiment,
            summarize=format_psro_table,
        ),
        Experiment(
            name="cycles",
            description=(
                "naive self-play (plain PPO) vs PSRO vs fictitious play vs the league on "
                "rock-paper-scissors and a small Colonel Blotto: exact NashConv against "
                "game-steps and wall time"
            ),
            config_class=CyclesConfig,
            run=run_cycles,
            summarize=format_cycles_table,
        ),
        Experiment(
            name="psro_comparison",
            description=(
                "detente PSRO (PPO best responses) next to OpenSpiel psro_v2 (exact best "
                "responses) on 3-player Kuhn and Leduc poker: exact NashConv per iteration"
            ),
            config_class=PSROComparisonConfig,
            run=run_psro_comparison,
            summarize=format_comparison_table,
        ),
        Experiment(
            name="league",
            description=(
                "an AlphaStar-style league (main agent, main exploiter, league exploiter, PFSP) "
                "on the 2-power realpolitik board; leaderboard, score vs initial, strategy cycles"
            ),
            config_class=LeagueConfig,
            run=run_league_experiment,
            summarize=format_league,
        ),
        Experiment(
            name="crossplay",
            description=(
                "league-trained vs self-play-trained main agents on a small realpolitik board: "
                "cross-play table of mean per-seat returns, both seat orders"
            ),
            config_class=CrossplayConfig,
            run=run_crossplay,
            summarize=format_crossplay,
        ),
        Experiment(
            name="self_play",
            description=(
                "naive self-play with PPO on any game, the JAX backend for JAX games (default: "
                "the 2-power realpolitik board on the JAX engine); score vs the initial policy"
            ),
            config_class=SelfPlayExperimentConfig,
            run=run_self_play_experiment,
            summarize=format_self_play,
        ),
    ]
}


def get_experiment(name: str) -> Experiment:
    """Returns the registered experiment `name`; unknown names list the registered ones."""
    if name not in EXPERIMENTS:
        raise ValueError(
            f"unknown experiment {name!r}; registered experiments: {', '.join(sorted(EXPERIMENTS))}"
        )
    return EXPERIMENTS[name]


def default_run_dir(name: str) -> pathlib.Path:
    """Where `detente run NAME` writes by default: ./runs/NAME."""
    return pathlib.Path("runs") / name
