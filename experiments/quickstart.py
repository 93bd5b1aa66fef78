"""The quickstart: naive self-play on small OpenSpiel games, evaluated exactly.

For each game: train a policy by self-play (`detente.population.train_self_play`), then compute
the exact NashConv (`detente.lib.nash_conv`) of the uniform policy and of the trained one.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import re
from typing import NamedTuple

from detente.agents import PPOConfig
from detente.agents.policy_fn import make_policy_fn
from detente.games import load
from detente.lib import make_run_logger, nash_conv, uniform_policy_fn
from detente.population import SelfPlayConfig, train_self_play


def _default_trainer() -> SelfPlayConfig:
    # Plain PPO self-play cycles around the equilibrium of a zero-sum game (NashConv on Kuhn
    # stays near 0.3); a magnet term that moves to the current policy every 50 updates
    # (magnetic mirror descent / R-NaD style) plus a decaying step size make the last
    # iterate converge. See docs/quickstart.md for the measured comparison.
    return SelfPlayConfig(
        batch_size=256,
        unroll_length=8,
        num_updates=400,
        hidden_sizes=(64, 64),
        log_every=20,
        checkpoint_every=100,
        ppo=PPOConfig(
            learning_rate=3e-4,
            entropy_cost=0.0,
            gamma=1.0,
            gae_lambda=0.95,
            num_epochs=4,
            num_minibatches=4,
            anneal_updates=400,
            magnet_cost=0.2,
            magnet_update_every=50,
        ),
    )


@dataclasses.dataclass(frozen=True)
class QuickstartConfig:
    """Configuration of the quickstart.

    Attributes:
      games: game strings to train on, one self-play run each.
      trainer: the self-play configuration shared by every game (its `game` is replaced).
      evaluate_every: exact NashConv every this many updates for the learning curve (0: only
        at the end).
    """

    games: tuple[str, ...] = ("kuhn_poker", "kuhn_poker(players=3)")
    trainer: SelfPlayConfig = dataclasses.field(default_factory=_default_trainer)
    evaluate_every: int = 100

    def __post_init__(self):
        if not self.games:
            raise ValueError("QuickstartConfig.games must name at least one game")
        for game in self.games:
            load(game)  # fails early, naming the bad game or parameter
        if not isinstance(self.evaluate_every, int) or self.evaluate_every < 0:
            raise ValueError(
                "QuickstartConfig.evaluate_every must be a non-negative integer, got "
                f"{self.evaluate_every!r}"
            )


class QuickstartRow(NamedTuple):
    """One game's result.

    Attributes:
      game: the game string.
      players: number of players.
      uniform_nash_conv: NashConv of the uniform random policy.
      trained_nash_conv: NashConv of the trained self-play policy.
      wall_time: seconds of training (compilation included).
      steps_per_second: environment game-steps per second, learner updates included.
      env_steps: game-steps played.
    """

    game: str
    players: int
    uniform_nash_conv: float
    trained_nash_conv: float
    wall_time: float
    steps_per_second: float
    env_steps: int


def _slug(game: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", game).strip("_")


def run_quickstart(
    config: QuickstartConfig, run_dir: str | pathlib.Path, *, progress: bool = True
) -> list[QuickstartRow]:
    """Trains and evaluates every game of `config`; writes metrics and results to `run_dir`.

    Returns:
      One `QuickstartRow` per game, also written to `run_dir/results.json`.
    """
    run_dir = pathlib.Path(run_dir)
    rows = []
    for game_name in config.games:
        game = load(game_name)
        game_dir = run_dir / _slug(game_name)
        trainer = dataclasses.replace(config.trainer, game=game_name)
        logger = make_run_logger(game_dir)

        def on_log(update, metrics, network, params, game=game, trainer=trainer):
            if config.evaluate_every and (
                update % config.evaluate_every == 0 or update == trainer.num_updates
            ):
                return {"nash_conv": nash_conv(game, make_policy_fn(network, params))}
            return {}

        result = train_self_play(
            trainer, run_dir=game_dir, logger=logger, progress=progress, on_log=on_log
        )
        logger.close()
        rows.append(
            QuickstartRow(
                game=game_name,
                players=game.num_players(),
                uniform_nash_conv=nash_conv(game, uniform_policy_fn),
                trained_nash_conv=nash_conv(game, make_policy_fn(result.network, result.params)),
                wall_time=result.wall_time,
                steps_per_second=result.steps_per_second,
                env_steps=result.env_steps,
            )
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "results.json", "w") as f:
        json.dump([row._asdict() for row in rows], f, indent=1)
    return rows


def format_table(rows: list[QuickstartRow]) -> str:
    """The quickstart's results as a plain-text table."""
    header = (
        f"{'game':<26} {'P':>2} {'NashConv uniform':>17} {'NashConv trained':>17} "
        f"{'wall s':>8} {'steps/s':>9}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row.game:<26} {row.players:>2} {row.uniform_nash_conv:>17.4f} "
            f"{row.trained_nash_conv:>17.4f} {row.wall_time:>8.1f} {row.steps_per_second:>9.0f}"
        )
    return "\n".join(lines)
