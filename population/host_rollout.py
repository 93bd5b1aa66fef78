"""One unroll of B host-stepped games (OpenSpiel adapter or RealpolitikEnv) into a Trajectory.

Every host-side trainer (naive self-play, training against frozen opponents, learned best
responses) collects experience the same way: from the current auto-resetting `TimeStep`, act
for T steps with `detente.agents.act` on stacked member parameters, step the environment, and
stack the T+1 timesteps time-major. This module is that loop, once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import jax
import numpy as np

from detente.agents import Network, Trajectory, act, population_apply
from detente.lib import TimeStep

# Module-level so every caller in a process shares one compilation per network.
_ACT = jax.jit(act, static_argnums=0)
_APPLY = jax.jit(population_apply, static_argnums=0)


class HostEnv(Protocol):
    """A batched host environment: `step(actions [B, P, K]) -> TimeStep` with auto-reset."""

    def step(self, actions: np.ndarray) -> TimeStep:
        """Steps every game of the batch."""


def stack_timesteps(timesteps: list[TimeStep]) -> TimeStep:
    """Stacks T+1 timesteps along a new leading time axis: fields [T+1, B, ...]."""
    return TimeStep(*(np.stack(field) for field in zip(*timesteps, strict=True)))


def collect_unroll(
    env: HostEnv,
    ts: TimeStep,
    network: Network,
    stacked_params: Any,
    seat_members: Any,
    acting_key: jax.Array,
    unroll_length: int,
    learner_mask: np.ndarray,
    on_step: Callable[[TimeStep, TimeStep], None] | None = None,
) -> tuple[Trajectory, TimeStep]:
    """Plays `unroll_length` steps and returns the trajectory and the last timestep.

    Args:
      env: the batched environment, already reset; `ts` is its current timestep.
      ts: the current `TimeStep` (fields [B, ...]).
      network: the network every member shares.
      stacked_params: member parameters with leaves [M, ...].
      seat_members: int32 [G, P], the member playing seat p of game group g.
      acting_key: the key of this unroll; step t samples with `fold_in(acting_key, t)`.
      unroll_length: T.
      learner_mask: bool [B, P], the seats whose data the learner trains on.
      on_step: optional `(previous, current)` callback after every environment step (for
        episode-return bookkeeping).

    Returns:
      (trajectory with [T+1, ...] timestep fields and behaviour values (index T evaluated on
      the last timestep), [T, ...] actions and behaviour log-probabilities (players who are not
      acting take action 0 in every slot, `agents.act`'s `acting`); the last timestep, which
      starts the next unroll).
    """
    timesteps, actions, log_probs, values = [ts], [], [], []
    for t in range(unroll_length):
        action, log_prob, value = _ACT(
            network,
            stacked_params,
            seat_members,
            ts.observation,
            ts.legal_action_mask,
            jax.random.fold_in(acting_key, t),
            acting=ts.acting,
        )
        action = np.asarray(action)
        previous, ts = ts, env.step(action)
        if on_step is not None:
            on_step(previous, ts)
        timesteps.append(ts)
        actions.append(action)
        log_probs.append(np.asarray(log_prob))
        values.append(np.asarray(value))
    _, value = _APPLY(network, stacked_params, seat_members, ts.observation, ts.legal_action_mask)
    values.append(np.asarray(value))
    batch = stack_timesteps(timesteps)
    trajectory = Trajectory(
        observation=batch.observation,
        legal_action_mask=batch.legal_action_mask,
        acting=batch.acting,
        rewards=batch.rewards,
        terminated=batch.terminated,
        truncated=batch.truncated,
        actions=np.stack(actions).astype(np.int32),
        behaviour_log_prob=np.stack(log_probs),
        learner_mask=learner_mask,
        behaviour_value=np.stack(values),
    )
    return trajectory, ts


def play_to_end(
    env: HostEnv,
    ts: TimeStep,
    network: Network,
    stacked_params: Any,
    seat_members: Any,
    key: jax.Array,
    max_steps: int,
) -> tuple[np.ndarray, bool]:
    """Plays sampled actions until every game of a (non-resetting) batch has ended.

    Args:
      env: the batched environment, reset without auto-reset; `ts` is its first timestep.
      ts: the current `TimeStep`.
      network, stacked_params, seat_members: as in `collect_unroll`.
      key: step t samples with `fold_in(key, t)`.
      max_steps: at most `max_steps + 1` environment steps are played.

    Returns:
      (returns float64 [B, P] summed over the episode, whether every game ended).
    """
    returns = np.zeros(ts.rewards.shape, np.float64)
    for t in range(max_steps + 1):
        if np.all(ts.terminated | ts.truncated):
            return returns, True
        actions, _, _ = _ACT(
            network,
            stacked_params,
            seat_members,
            ts.observation,
            ts.legal_action_mask,
            jax.random.fold_in(key, t),
            acting=ts.acting,
        )
        ts = env.step(np.asarray(actions))
        returns += ts.rewards
    return returns, bool(np.all(ts.terminated | ts.truncated))
