"""Naive self-play: the simplest population, one learner playing every seat against itself.

The loop, on the host backend (the OpenSpiel adapter; for realpolitik games the numpy
`RealpolitikEnv`, one step = one phase, as in the league): act in B games with the current
parameters for T steps,
hand the `Trajectory` to the PPO learner, repeat. Every `checkpoint_every` updates the run
directory receives a checkpoint (arrays + JSON, no pickle), and the environment batch is
restarted from a seed derived from the run seed and the segment index, so a run resumed from
its last checkpoint continues exactly as an uninterrupted run with the same config would.

References: self-play as the baseline population (Tesauro 1995; Lanctot et al. 2017 describe
it as the degenerate case of PSRO whose meta-solver puts all mass on the newest policy).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from detente.agents import (
    Learner,
    Network,
    PPOConfig,
    TrainingState,
    initial_params,
    make_policy_value_network,
    stack_params,
    warm_start,
)
from detente.lib import EnvSpec, TimeStep
from detente.lib.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_metadata,
    save_checkpoint,
)
from detente.lib.config_checks import check_count
from detente.lib.metrics_logger import Logger
from detente.population.host_rollout import collect_unroll
from detente.population.league_env import env_factory

CHECKPOINT_DIR = "checkpoint"


@dataclasses.dataclass(frozen=True)
class SelfPlayConfig:
    """Configuration of a naive self-play run.

    Attributes:
      game: a game string for `detente.games.load`.
      batch_size: B, games stepped together.
      unroll_length: T, environment steps per learner update.
      num_updates: learner updates in the run.
      hidden_sizes: widths of the policy/value MLP torso.
      max_steps: truncate games after this many steps (None: the rules end games).
      seed: the run's seed (parameters, acting, chance, minibatches).
      log_every: write metrics every this many updates.
      checkpoint_every: save a checkpoint (and restart the environment batch) every this many
        updates.
      average_decay: if > 0, also keep an exponential moving average of the parameters with
        this decay per update (Polyak averaging); the run's result is then the averaged
        network, which damps the cycling of the last iterate in zero-sum self-play.
      ppo: the learner's hyperparameters.
    """

    game: str = "kuhn_poker"
    batch_size: int = 128
    unroll_length: int = 8
    num_updates: int = 300
    hidden_sizes: tuple[int, ...] = (64, 64)
    max_steps: int | None = None
    seed: int = 0
    log_every: int = 10
    checkpoint_every: int = 100
    average_decay: float = 0.0
    ppo: PPOConfig = dataclasses.field(default_factory=PPOConfig)

    def __post_init__(self):
        for name in ("batch_size", "unroll_length", "num_updates", "log_every", "checkpoint_every"):
            check_count("SelfPlayConfig", name, getattr(self, name))
        if not isinstance(self.average_decay, (int, float)) or not 0.0 <= self.average_decay < 1.0:
            raise ValueError(
                f"SelfPlayConfig.average_decay must be in [0, 1), got {self.average_decay!r}"
            )
        check_count("SelfPlayConfig", "seed", self.seed, minimum=0)
        check_count("SelfPlayConfig", "max_steps", self.max_steps, optional=True)
        if not self.hidden_sizes or any(not isinstance(h, int) or h < 1 for h in self.hidden_sizes):
            raise ValueError(
                f"SelfPlayConfig.hidden_sizes must be positive integers, got {self.hidden_sizes!r}"
            )


class SelfPlayResult(NamedTuple):
    """What a finished self-play run returns.

    Attributes:
      params: the final network parameters (the moving average if `average_decay` > 0).
      network: the network they belong to.
      spec: the game's `EnvSpec`.
      env_steps: game-steps played (B per environment step), including resumed segments.
      wall_time: seconds spent in this call.
      steps_per_second: game-steps per second in this call, learner updates included.
      state: the learner's final `TrainingState`.
    """

    params: Any
    network: Network
    spec: EnvSpec
    env_steps: int
    wall_time: float
    steps_per_second: float
    state: TrainingState


class _EpisodeReturns:
    """Tracks per-seat returns of finished episodes, for logging."""

    def __init__(self, batch_size: int, num_players: int):
        self._running = np.zeros((batch_size, num_players))
        self.finished: list[np.ndarray] = []

    def add(self, previous: TimeStep, ts: TimeStep) -> None:
        self._running[previous.terminated | previous.truncated] = 0.0
        self._running += ts.rewards
        for b in np.flatnonzero(ts.terminated | ts.truncated):
            self.finished.append(self._running[b].copy())

    def pop_mean(self) -> np.ndarray | None:
        if not self.finished:
            return None
        mean = np.mean(self.finished, axis=0)
        self.finished = []
        return mean


def restore_run_checkpoint(
    checkpoint_path: pathlib.Path | None, game: str, backend: str, template: Any
) -> tuple[Any, int, int] | None:
    """Loads a self-play run's checkpoint, refusing one of another game or backend.

    Args:
      checkpoint_path: the run's checkpoint directory (None or absent: nothing to resume).
      game: the game's full name the run trains on.
      backend: "openspiel" or "jax"; checkpoints without the key are "openspiel".
      template: the pytree structure to restore into (training state, averaged params).

    Returns:
      None, or (the restored pytree on the device, updates done, game-steps played).

    Raises:
      CheckpointError: the checkpoint is for another game or backend, or is corrupt.
    """
    if checkpoint_path is None or not checkpoint_path.exists():
        return None
    stored = load_metadata(checkpoint_path)
    stored_game, stored_backend = stored.get("game"), stored.get("backend", "openspiel")
    if stored_game != game or stored_backend != backend:
        raise CheckpointError(
            f"checkpoint {checkpoint_path} is for game {stored_game!r} on backend "
            f"{stored_backend!r}, not {game!r} on {backend!r}; use another run directory"
        )
    saved, metadata = load_checkpoint(checkpoint_path, template)
    return jax.device_put(saved), metadata["update"], metadata["env_steps"]


def run_initial_params(network: Network, seed: int) -> Any:
    """The parameters a fresh self-play run with `seed` starts from, on either backend.

    `train_self_play` and `train_jax_self_play` build their learner from the key
    `fold_in(key(seed), 0)` (`agents.Learner`).
    """
    return initial_params(network, jax.random.fold_in(jax.random.key(seed), 0))


def train_self_play(
    config: SelfPlayConfig,
    *,
    run_dir: str | os.PathLike | None = None,
    logger: Logger | None = None,
    progress: bool = True,
    on_log: Callable[[int, dict[str, float], Network, Any], dict[str, float]] | None = None,
    initial_params: Any = None,
) -> SelfPlayResult:
    """Trains one policy by naive self-play; resumes from `run_dir`'s checkpoint if present.

    Args:
      config: the run's configuration.
      run_dir: where checkpoints go (None: no checkpoints).
      logger: receives metrics every `config.log_every` updates.
      progress: show a progress bar on the console.
      on_log: optional `(update, metrics, network, params) -> extra metrics` called at each
        log step
        (e.g. exact NashConv for small games).
      initial_params: start from these parameters (a warm start, e.g. a league member or
        another run's result) instead of a fresh initialisation; they must fit the network of
        `config.hidden_sizes` on this game. A resumed run continues from its checkpoint.

    Returns:
      A `SelfPlayResult`.

    Raises:
      ValueError: `initial_params` that do not fit the network.
    """
    # Realpolitik on `RealpolitikEnv` (one step = one phase, K order slots, as the league and
    # the JAX engine), every other game on `OpenSpielEnv`.
    env = env_factory(config.game, config.max_steps)(config.batch_size, True)
    spec = env.spec
    network = make_policy_value_network(spec, hidden_sizes=config.hidden_sizes)
    root_key = jax.random.key(config.seed)
    learner_key = jax.random.fold_in(root_key, 0)
    warm = None
    if initial_params is not None:
        warm = warm_start(network, config.ppo, learner_key, initial_params)
    learner = Learner(network, config.ppo, learner_key, state=warm)
    first_update, env_steps = 0, 0
    average = learner.params

    checkpoint_path = pathlib.Path(run_dir) / CHECKPOINT_DIR if run_dir is not None else None
    restored = restore_run_checkpoint(
        checkpoint_path, spec.name, "openspiel", (learner.state, learner.params)
    )
    if restored is not None:
        (state, average), first_update, env_steps = restored
        learner = Learner(network, config.ppo, root_key, state=state)

    seat_members = jnp.zeros((1, spec.num_players), jnp.int32)  # every seat: member 0
    learner_mask = np.ones((config.batch_size, spec.num_players), bool)
    returns = _EpisodeReturns(config.batch_size, spec.num_players)
    ts: TimeStep | None = None

    start = time.perf_counter()
    steps_at_start = env_steps
    bar = tqdm(
        total=config.num_updates,
        initial=first_update,
        desc=f"self-play {spec.name}",
        disable=not progress,
        leave=False,
    )
    for update in range(first_update, config.num_updates):
        if update % config.checkpoint_every == 0 or ts is None:
            segment = update // config.checkpoint_every
            ts = env.reset(
                seed=int(np.random.SeedSequence([config.seed, segment]).generate_state(1)[0])
            )
        stacked = stack_params([learner.params])
        acting_key = jax.random.fold_in(jax.random.fold_in(root_key, 1), update)
        trajectory, ts = collect_unroll(
            env,
            ts,
            network,
            stacked,
            seat_members,
            acting_key,
            config.unroll_length,
            learner_mask,
            on_step=returns.add,
        )
        env_steps += config.unroll_length * config.batch_size
        metrics = learner.update(trajectory)
        average = _polyak(average, learner.params, config.average_decay)
        bar.update(1)
        done = update + 1
        if done % config.log_every == 0 or done == config.num_updates:
            elapsed = time.perf_counter() - start
            metrics["env_steps"] = env_steps
            metrics["steps_per_second"] = (env_steps - steps_at_start) / max(elapsed, 1e-9)
            mean_return = returns.pop_mean()
            if mean_return is not None:
                for p, value in enumerate(mean_return):
                    metrics[f"episode_return_p{p}"] = float(value)
            if on_log is not None:
                metrics.update(
                    on_log(done, metrics, network, _result_params(config, learner, average))
                )
            if logger is not None:
                logger.write(done, metrics)
            bar.set_postfix({k: f"{v:.3g}" for k, v in metrics.items() if k in _SHOWN})
        if checkpoint_path is not None and (
            done % config.checkpoint_every == 0 or done == config.num_updates
        ):
            save_checkpoint(
                checkpoint_path,
                (learner.state, average),
                {
                    "update": done,
                    "env_steps": env_steps,
                    "game": spec.name,
                    "backend": "openspiel",
                    "config": dataclasses.asdict(config),
                },
            )
    bar.close()
    wall_time = time.perf_counter() - start
    return SelfPlayResult(
        params=_result_params(config, learner, average),
        network=network,
        spec=spec,
        env_steps=env_steps,
        wall_time=wall_time,
        steps_per_second=(env_steps - steps_at_start) / max(wall_time, 1e-9),
        state=learner.state,
    )


@jax.jit
def _polyak_jit(average: Any, params: Any, decay: float) -> Any:
    return jax.tree.map(lambda a, p: decay * a + (1.0 - decay) * p, average, params)


def _polyak(average: Any, params: Any, decay: float) -> Any:
    return _polyak_jit(average, params, decay) if decay > 0 else params


def _result_params(config: SelfPlayConfig, learner: Learner, average: Any) -> Any:
    return average if config.average_decay > 0 else learner.params


_SHOWN = ("total_loss", "nash_conv", "steps_per_second", "entropy")
