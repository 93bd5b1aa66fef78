"""Training a PPO learner against frozen opponents on a JAX game, on the device.

`train_jax_against_opponents` is `population.train_against_opponents` for a registered JAX game
(`detente.games.jax_games`): the same config, seat sets, opponent distributions, opponent draws
and result, but each update's T steps of the B games are one jitted `lax.scan`
(`jax_rollout.make_rollout`) over stacked parameters [M, ...]: the learner as member 0 and the
drawn opponents after it (`learner_member=0`, so the trajectory's `learner_mask` marks the
learner's seats). The opponents' inference runs in the same compiled program as the games; the
host only draws opponents between segments and reads the metrics. This is the best-response
oracle of PSRO and fictitious play, and a league learner's training, on the device.

Randomness (all from `seed`): the opponents of segment s are drawn as in the host version
(`opponent_training.opponent_seed`); segment s's games start from
`init(split(fold_in(fold_in(key(seed), 2), s), B)[b])`; update u's rollout uses the key
`fold_in(fold_in(key(seed), 1), u)` (`make_rollout`'s convention per step); the learner starts as
in the host version (`opponent_training.make_learner`). The two versions consume their keys
differently, so they do not give the same parameters.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from detente.agents import Network, TrainingState, Trajectory
from detente.games import jax_games
from detente.lib.metrics_logger import Logger
from detente.population.jax_rollout import check_network_fits, init_env_states, make_rollout
from detente.population.members import Population
from detente.population.opponent_training import (
    OpponentTrainingConfig,
    OpponentTrainingResult,
    acting_stack,
    check_opponents,
    draw_opponents,
    learner_group_seats,
    make_learner,
    opponent_seed,
)


class LearnerReturns(NamedTuple):
    """The learner's episode returns in the current segment, accumulated on the device.

    Attributes:
      running: float32 [B, P], each game's return so far at every seat.
      total: float32 [], summed over finished episodes of the learner's mean over its seats.
      count: float32 [], finished episodes.
    """

    running: jax.Array
    total: jax.Array
    count: jax.Array

    def mean(self) -> float:
        """The learner's mean return over the finished episodes (nan if none finished)."""
        total, count = (float(x) for x in jax.device_get((self.total, self.count)))
        return total / count if count else math.nan


@jax.jit
def _accumulate(returns: LearnerReturns, traj: Trajectory) -> LearnerReturns:
    """Adds the episodes that end within `traj` (its index 0 was the previous one's last)."""
    ended = traj.terminated | traj.truncated  # [T+1, B]
    mask = traj.learner_mask.astype(jnp.float32)  # [B, P]
    seats = jnp.maximum(jnp.sum(mask, axis=-1), 1.0)  # [B]

    def body(carry, t):
        running, total, count = carry
        running = jnp.where(ended[t - 1][:, None], 0.0, running) + traj.rewards[t]
        learner = jnp.sum(running * mask, axis=-1) / seats  # [B]
        total = total + jnp.sum(jnp.where(ended[t], learner, 0.0))
        return (running, total, count + jnp.sum(ended[t])), None

    steps = jnp.arange(1, traj.rewards.shape[0])
    (running, total, count), _ = jax.lax.scan(body, tuple(returns), steps)
    return LearnerReturns(running, total, count)


@functools.lru_cache(maxsize=16)
def _compiled_rollout(game: str, network: Network, unroll_length: int):
    # One compiled rollout per (game string, network, T): `jax_games.make` builds new functions
    # on every call, and a league trains many learners on the same game.
    jax_game = jax_games.make(game)
    check_network_fits(network, jax_game.spec)
    rollout = make_rollout(
        jax_game.spec, jax_game.init, jax_game.step, network, unroll_length, learner_member=0
    )
    return jax_game, jax.jit(rollout)


def train_jax_against_opponents(
    config: OpponentTrainingConfig,
    *,
    game: str,
    network: Network,
    population: Population,
    opponents: Sequence[Mapping[str, float] | None],
    learner_seats: Sequence[Any],
    seed: int,
    initial_params: Any = None,
    initial_state: TrainingState | None = None,
    logger: Logger | None = None,
    log_step_offset: int = 0,
) -> OpponentTrainingResult:
    """Trains a PPO learner at `learner_seats` against opponents drawn from `population`, with
    the games and every seat's inference on the device.

    Args:
      config: the training configuration (`max_steps` must be None or at least the game's own
        horizon: JAX games are not truncated).
      game: a registered JAX game string, e.g. "realpolitik_jax(map=duel,max_years=2)".
      network: the learner's network (built for the game's spec), shared with the opponents.
      population: holds the opponents.
      opponents, learner_seats, seed, initial_params, initial_state, logger, log_step_offset:
        as in `population.train_against_opponents`.

    Returns:
      An `OpponentTrainingResult`.

    Raises:
      ValueError: a game that is not a registered JAX game, a network built for another
        spec, a `max_steps` that would truncate the game, or bad seats, distributions,
        member ids or seed.
    """
    if not isinstance(game, str) or not jax_games.is_registered(game):
        raise ValueError(
            f"game must be a registered JAX game string, got {game!r} (registered: "
            f"{', '.join(info.name for info in jax_games.list_games())})"
        )
    jax_game, rollout = _compiled_rollout(game, network, config.unroll_length)
    spec = jax_game.spec
    if config.max_steps is not None and config.max_steps < spec.max_steps:
        raise ValueError(
            f"OpponentTrainingConfig.max_steps={config.max_steps} would truncate {spec.name}, "
            f"whose episodes last up to {spec.max_steps} steps; JAX games are not truncated"
        )
    num_players = spec.num_players
    seats, distributions = check_opponents(population, opponents, learner_seats, num_players)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    root_key = jax.random.key(int(seed))
    learner = make_learner(network, config.ppo, root_key, initial_params, initial_state)
    group_seats = learner_group_seats(seats, config.num_groups, num_players)
    num_opponent_slots = config.num_groups * (num_players - 1)
    batch = config.batch_size

    start = time.perf_counter()
    env_steps = 0
    env_state = opponent_stack = seat_members = returns = None
    for update in range(config.num_updates):
        if update % config.segment_length == 0:
            segment = update // config.segment_length
            segment_key = jax.random.fold_in(jax.random.fold_in(root_key, 2), segment)
            env_state = init_env_states(jax_game.init, segment_key, batch)
            returns = LearnerReturns(
                jnp.zeros((batch, num_players), jnp.float32), jnp.zeros(()), jnp.zeros(())
            )
            opponent_stack, seat_members = draw_opponents(
                population,
                distributions,
                group_seats,
                num_opponent_slots,
                opponent_seed(seed, segment),
            )
        acting_key = jax.random.fold_in(jax.random.fold_in(root_key, 1), update)
        trajectory, env_state = rollout(
            acting_stack(learner.params, opponent_stack), seat_members, env_state, acting_key
        )
        returns = _accumulate(returns, trajectory)
        env_steps += config.unroll_length * batch
        metrics = learner.update(trajectory)
        done = update + 1
        if logger is not None and (done % config.log_every == 0 or done == config.num_updates):
            metrics["env_steps"] = env_steps
            if not math.isnan(mean_return := returns.mean()):
                metrics["learner_return"] = mean_return
            logger.write(log_step_offset + done, metrics)
    return OpponentTrainingResult(
        params=learner.params,
        state=learner.state,
        env_steps=env_steps,
        wall_time=time.perf_counter() - start,
        mean_return=math.nan if returns is None else returns.mean(),
    )
