"""The `self_play` experiment: naive self-play on any game, on the backend that fits it.

`detente run self_play` trains one policy by naive self-play with PPO
(`population.jax_self_play.train`): on the JAX backend (whole rollouts in one `lax.scan`, the
games on the device) for a registered JAX game such as the default
"realpolitik_jax(map=duel,max_years=2)" or "realpolitik_jax(map=classic)", on the host backend
(the OpenSpiel adapter, or `RealpolitikEnv` for "realpolitik(...)") for every other game.
Then the trained policy plays the run's initial policy: every seat assignment with the trained
policy in one seat and the initial policy in all others, `eval_games` games each, on the
backend's own environment (`population.play_jax_matches` on the JAX engine,
`population.league_env.play_env_matches` on the host).

The evaluation's score is the league's win-rate-like score (`population.pfsp.pairwise_score`):
per game, the mean over the initial seats of 1 if the trained seat's return beat theirs, 1/2
if equal, 0 if lower, averaged over every game of every seat assignment; 0.5 means no better
than the initial policy.

Outputs in the run directory: `metrics.csv` (the learner's metrics every `log_every` updates,
with frames/s), `checkpoint/` (an interrupted run resumes from it) and `results.json`
(training figures and the evaluation).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import pathlib
import time
from typing import Any, NamedTuple

import numpy as np

from detente.agents import PPOConfig
from detente.games import jax_games
from detente.lib import make_run_logger
from detente.population import Member, Population, play_jax_matches
from detente.population.jax_self_play import BACKENDS, train
from detente.population.league_env import league_spec, play_env_matches
from detente.population.pfsp import game_scores
from detente.population.self_play import SelfPlayConfig, run_initial_params

TRAINED, INITIAL = "trained", "initial"


def _default_trainer() -> SelfPlayConfig:
    return SelfPlayConfig(
        batch_size=256,
        unroll_length=16,
        num_updates=150,
        hidden_sizes=(64, 64),
        log_every=10,
        checkpoint_every=50,
        ppo=PPOConfig(num_epochs=2, num_minibatches=4),
    )


@dataclasses.dataclass(frozen=True)
class SelfPlayExperimentConfig:
    """Configuration of the `self_play` experiment.

    Attributes:
      game: the game string (a registered JAX game, or any game of `detente.games.load`).
      trainer: the self-play run (its `game` is set to `game` on construction).
      backend: "auto" (JAX for registered JAX games, else the host), "jax" or "openspiel".
      host_parts: the JAX backend rolls its batch out in this many parts from host threads
        (one per CPU core is fastest on a CPU; 1 on accelerators). Results depend on it, so it
        is part of the config rather than read from the machine.
      num_devices: local devices the JAX backend shards its games over.
      eval_games: games per seat assignment of the evaluation.
      eval_seed: seed of the evaluation's games.
    """

    game: str = "realpolitik_jax(map=duel,max_years=2)"
    trainer: SelfPlayConfig = dataclasses.field(default_factory=_default_trainer)
    backend: str = "auto"
    host_parts: int = 1
    num_devices: int = 1
    eval_games: int = 256
    eval_seed: int = 0

    def __post_init__(self):
        if self.backend not in BACKENDS:
            raise ValueError(
                f"SelfPlayExperimentConfig.backend must be one of {BACKENDS}, got {self.backend!r}"
            )
        for name, minimum in (
            ("host_parts", 1),
            ("num_devices", 1),
            ("eval_games", 1),
            ("eval_seed", 0),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(
                    f"SelfPlayExperimentConfig.{name} must be an integer >= {minimum}, "
                    f"got {value!r}"
                )
        if self.resolved_backend() == "jax":
            jax_games.make(self.game)  # fails early, naming the bad game or parameter
        else:
            # The host backend's environment (`league_env.env_factory`): OpenSpiel's, or
            # `RealpolitikEnv`, or `JaxGameEnv` for a JAX-only game; fails naming a bad game.
            league_spec(self.game, self.trainer.max_steps)
            if self.host_parts != 1 or self.num_devices != 1:
                raise ValueError(
                    f"host_parts={self.host_parts} and num_devices={self.num_devices} apply to "
                    f"the JAX backend only; {self.game!r} runs on the host backend (use 1)"
                )
        # The trainer carries the experiment's game (so a printed config shows the one played).
        object.__setattr__(self, "trainer", dataclasses.replace(self.trainer, game=self.game))

    def resolved_backend(self) -> str:
        """ "jax" or "openspiel": the backend this config trains on."""
        if self.backend == "auto":
            return "jax" if jax_games.is_registered(self.game) else "openspiel"
        return self.backend


class SelfPlayExperimentResult(NamedTuple):
    """A finished run and its evaluation.

    Attributes:
      game: the game string.
      backend: "jax" or "openspiel".
      updates: PPO updates done.
      env_steps: game-steps played (one step of one game each).
      wall_time: seconds of training in this call (compilation included).
      steps_per_second: game-steps per second in this call, learner updates and compilation
        included.
      steady_steps_per_second: game-steps per second from the first log step to the last
        (compilation left out, as in bench/bench_jax_self_play.py); None with fewer than two
        log steps in this call.
      score_vs_initial: the trained policy's win-rate-like score against the initial one.
      score_stderr: its standard error over the evaluation's games.
      profiles: each seat assignment of the evaluation with each seat's mean return.
      run_dir: the run directory.
    """

    game: str
    backend: str
    updates: int
    env_steps: int
    wall_time: float
    steps_per_second: float
    steady_steps_per_second: float | None
    score_vs_initial: float
    score_stderr: float
    profiles: list[dict[str, Any]]
    run_dir: pathlib.Path


def _seat_profiles(num_players: int) -> list[tuple[str, ...]]:
    """The trained policy at seat p, the initial policy at every other seat, for each p."""
    return [
        tuple(TRAINED if q == p else INITIAL for q in range(num_players))
        for p in range(num_players)
    ]


def _game_scores(returns: np.ndarray, seat: int) -> np.ndarray:
    """float [G]: per game, seat's mean over the other seats of 1 if its return was higher,
    1/2 if equal, 0 if lower (`population.pfsp.game_scores`)."""
    others = [q for q in range(returns.shape[1]) if q != seat]
    return np.mean([game_scores(returns[:, seat], returns[:, q]) for q in others], axis=0)


def run_self_play_experiment(
    config: SelfPlayExperimentConfig, run_dir: str | pathlib.Path, *, progress: bool = True
) -> SelfPlayExperimentResult:
    """Trains (or resumes) the self-play run into `run_dir`, evaluates it, writes results."""
    run_dir = pathlib.Path(run_dir)
    backend = config.resolved_backend()
    trainer = config.trainer
    logger = make_run_logger(run_dir)
    stamps: list[tuple[float, int]] = []  # (time, game-steps) at every log step

    def on_log(update, metrics, network, params):
        stamps.append((time.perf_counter(), int(metrics["env_steps"])))
        return {}

    try:
        result = train(
            trainer,
            backend=backend,
            run_dir=run_dir,
            logger=logger,
            progress=progress,
            on_log=on_log,
            num_devices=config.num_devices,
            host_parts=config.host_parts,
        )
    finally:
        logger.close()
    population = Population(
        [
            Member.create(TRAINED, result.params, role="main", step=trainer.num_updates),
            Member.create(
                INITIAL, run_initial_params(result.network, trainer.seed), role="initial"
            ),
        ]
    )
    profiles = _seat_profiles(result.spec.num_players)
    play = (
        play_jax_matches
        if backend == "jax"
        else functools.partial(play_env_matches, max_steps=trainer.max_steps)
    )
    matches = play(
        config.game,
        result.network,
        population,
        profiles,
        games_per_profile=config.eval_games,
        seed=config.eval_seed,
    )
    per_game = np.concatenate(
        [_game_scores(match.returns, seat) for seat, match in enumerate(matches)]
    )
    evaluation = SelfPlayExperimentResult(
        game=config.game,
        backend=backend,
        updates=trainer.num_updates,
        env_steps=result.env_steps,
        wall_time=result.wall_time,
        steps_per_second=result.steps_per_second,
        steady_steps_per_second=(
            (stamps[-1][1] - stamps[0][1]) / max(stamps[-1][0] - stamps[0][0], 1e-9)
            if len(stamps) > 1
            else None
        ),
        score_vs_initial=float(per_game.mean()),
        score_stderr=float(per_game.std() / np.sqrt(len(per_game))),
        profiles=[
            {"seats": list(m.members), "mean_returns": [float(v) for v in m.mean_returns]}
            for m in matches
        ],
        run_dir=run_dir,
    )
    summary = evaluation._asdict()
    summary["run_dir"] = str(run_dir)
    summary["member_hashes"] = {m.id: m.hash for m in population}
    with open(run_dir / "results.json", "w") as f:
        json.dump(summary, f, indent=1)
    return evaluation


def format_self_play(result: SelfPlayExperimentResult) -> str:
    """The run's training figures and evaluation as text."""
    lines = [
        f"self-play on {result.game} ({result.backend} backend): {result.updates} updates, "
        f"{result.env_steps:,} game-steps, {result.wall_time:.1f} s in this call, "
        f"{result.steps_per_second:,.0f} game-steps/s (updates and compilation included"
        + (
            f"; {result.steady_steps_per_second:,.0f} after the first log step)"
            if result.steady_steps_per_second is not None
            else ")"
        ),
        f"score of the trained policy against the initial one: {result.score_vs_initial:.3f} "
        f"(standard error {result.score_stderr:.3f}; 0.5 = no better)",
    ]
    for profile in result.profiles:
        returns = ", ".join(f"{v:+.3f}" for v in profile["mean_returns"])
        lines.append(f"  seats {' / '.join(profile['seats'])}: mean returns {returns}")
    return "\n".join(lines)
