"""The time-major batch of experience that learners consume, and its validation."""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np


class Trajectory(NamedTuple):
    """T steps of B games with P seats, time-major, as produced by an auto-resetting rollout.

    Index t of the `[T+1, ...]` fields is the timestep observed before the t-th action; index T
    is the final timestep, used only to bootstrap. Rewards at t are those earned entering t.

    Attributes:
      observation: float32 [T+1, B, P, *obs_shape].
      legal_action_mask: bool [T+1, B, P, K, A].
      acting: bool [T+1, B, P].
      rewards: float32 [T+1, B, P].
      terminated: bool [T+1, B].
      truncated: bool [T+1, B].
      actions: int32 [T, B, P, K], the actions taken at steps 0..T-1 (ignored where a seat does
        not act).
      behaviour_log_prob: float32 [T, B, P], log-probability of `actions` under the policy that
        chose them, summed over the K slots.
      learner_mask: bool [B, P], the seats whose data the learner trains on (all True in
        self-play; only the learner's seats against frozen opponents).
      behaviour_value: float32 [T+1, B, P] or None: the value estimates of the network that
        acted, at every timestep (index T: of the final timestep, evaluated after the last
        step). The rollouts of `detente.population` record them, as PPO implementations
        usually do, so that the learner computes its advantages from them instead of
        evaluating the network on the trajectory again. They are the learner's own values
        only where the parameters that acted at the learner's seats are the learner's current
        ones (on-policy, as in every trainer here); None: the learner evaluates them.
    """

    observation: jax.Array
    legal_action_mask: jax.Array
    acting: jax.Array
    rewards: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    actions: jax.Array
    behaviour_log_prob: jax.Array
    learner_mask: jax.Array
    behaviour_value: jax.Array | None = None


def check_trajectory(
    traj: Trajectory, obs_shape: tuple[int, ...]
) -> tuple[int, int, int, int, int]:
    """Validates a trajectory's shapes and dtypes (static, so it also works under `jax.jit`).

    Args:
      traj: the trajectory.
      obs_shape: one player's observation shape.

    Returns:
      (T, B, P, K, A).

    Raises:
      ValueError: naming the first field whose shape or dtype is wrong, with the expected one.
    """
    obs = traj.observation
    n = len(obs_shape)
    if obs.ndim != 3 + n or tuple(obs.shape[3:]) != tuple(obs_shape):
        raise ValueError(
            f"Trajectory.observation must have shape [T+1, B, P, *{tuple(obs_shape)}], "
            f"got {tuple(obs.shape)}"
        )
    t1, b, p = obs.shape[:3]
    mask = traj.legal_action_mask
    if mask.ndim != 5 or tuple(mask.shape[:3]) != (t1, b, p):
        raise ValueError(
            f"Trajectory.legal_action_mask must have shape [{t1}, {b}, {p}, K, A], "
            f"got {tuple(mask.shape)}"
        )
    k, a = mask.shape[3:]
    if t1 < 2:
        raise ValueError(f"Trajectory needs T >= 1 (T+1 >= 2 timesteps), got T+1={t1}")
    expected = {
        "legal_action_mask": ((t1, b, p, k, a), np.bool_),
        "acting": ((t1, b, p), np.bool_),
        "rewards": ((t1, b, p), np.floating),
        "terminated": ((t1, b), np.bool_),
        "truncated": ((t1, b), np.bool_),
        "actions": ((t1 - 1, b, p, k), np.integer),
        "behaviour_log_prob": ((t1 - 1, b, p), np.floating),
        "learner_mask": ((b, p), np.bool_),
    }
    if traj.behaviour_value is not None:
        expected["behaviour_value"] = ((t1, b, p), np.floating)
    if not np.issubdtype(obs.dtype, np.floating):
        raise ValueError(f"Trajectory.observation must be float, got {obs.dtype}")
    for field, (shape, kind) in expected.items():
        value = getattr(traj, field)
        if tuple(value.shape) != shape:
            raise ValueError(
                f"Trajectory.{field} must have shape {list(shape)}, got {list(value.shape)}"
            )
        if not np.issubdtype(value.dtype, kind):
            raise ValueError(
                f"Trajectory.{field} must have dtype {kind.__name__}, got {value.dtype}"
            )
    return t1 - 1, b, p, k, a
