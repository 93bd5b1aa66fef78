"""The one environment contract: what every game looks like to agents and populations.

Dimension names used in every docstring of detente:
B batch, T time, P players, K action slots per player per step, A actions per slot,
M population members.

A `TimeStep` is the observable part of a state (one game; batched states add a leading B).
An `EnvSpec` describes a game so that networks and populations are built from it rather
than from constants. See docs/environment.md for the edge cases (terminal masks,
termination versus truncation, auto-reset, illegal actions).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

UTILITY_TYPES = ("zero_sum", "constant_sum", "general_sum", "identical")
DYNAMICS = ("sequential", "simultaneous")


class TimeStep(NamedTuple):
    """The contract's fields of a (batch of) game state(s).

    Attributes:
      observation: float32 [B, P, *obs_shape], each player's view from its own point of view.
      legal_action_mask: bool [B, P, K, A], legal actions of each slot; all True at a
        terminal or truncated state and for players who are not acting.
      acting: bool [B, P], players who must act now.
      rewards: float32 [B, P], rewards earned by the last transition.
      terminated: bool [B], the rules ended the game.
      truncated: bool [B], a limit (steps) cut the game.
    """

    observation: np.ndarray
    legal_action_mask: np.ndarray
    acting: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    """Static description of a game, from which networks and populations are built.

    Attributes:
      name: the game's full name as loaded, e.g. "goofspiel(num_cards=5,players=3)".
      num_players: P.
      obs_shape: shape of one player's observation.
      num_slots: K, action slots per player per step (1 for ordinary OpenSpiel games).
      num_actions: A, actions per slot.
      max_steps: upper bound on environment steps of one episode (rules or truncation).
      symmetric: whether seats are interchangeable (a policy can play any seat unchanged).
      utility: one of "zero_sum", "constant_sum", "general_sum", "identical".
      dynamics: "sequential" (one player acts at a time) or "simultaneous".
      chance: whether the game has chance events (resolved inside `step`).
    """

    name: str
    num_players: int
    obs_shape: tuple[int, ...]
    num_slots: int
    num_actions: int
    max_steps: int
    symmetric: bool
    utility: str
    dynamics: str
    chance: bool

    def __post_init__(self):
        if self.num_players < 1:
            raise ValueError(f"num_players must be >= 1, got {self.num_players}")
        if self.num_slots < 1 or self.num_actions < 1:
            raise ValueError(
                f"num_slots and num_actions must be >= 1, got K={self.num_slots}, "
                f"A={self.num_actions}"
            )
        if self.utility not in UTILITY_TYPES:
            raise ValueError(f"utility {self.utility!r} is not one of {UTILITY_TYPES}")
        if self.dynamics not in DYNAMICS:
            raise ValueError(f"dynamics {self.dynamics!r} is not one of {DYNAMICS}")

    @property
    def obs_size(self) -> int:
        """Number of scalars in one player's observation."""
        return int(np.prod(self.obs_shape, dtype=np.int64))
