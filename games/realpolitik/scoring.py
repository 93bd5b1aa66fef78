"""Game end and scoring: the horizon and the scoring scheme are parameters of a game.

Scoring schemes (formulas in docs/realpolitik.md):
- "draw_size": a solo winner scores 1 and everyone else 0; otherwise the survivors (powers that
  still own a centre or a unit) share the draw equally, 1/n each.
- "sum_of_squares": a solo winner scores 1; otherwise power i scores c_i^2 / sum_j c_j^2 where c
  counts owned supply centres.
- "welfare": Welfare Diplomacy (Duetting et al., 2023): after every winter adjustment each power
  banks (centres owned - units kept); the score is the bank. There is no solo victory.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from detente.games.realpolitik.engine import phase_parts
from detente.games.realpolitik.maps import Map

__all__ = [
    "SCORING_SCHEMES",
    "Horizon",
    "GameStatus",
    "game_status",
    "solo_winner",
    "scores",
    "welfare_increment",
]

SCORING_SCHEMES = ("draw_size", "sum_of_squares", "welfare")


@dataclasses.dataclass(frozen=True)
class Horizon:
    """When a game stops besides a solo victory.

    Attributes:
      max_year: the last year played; the game is truncated once its winter is over (None: none).
      random_end_from: from the start of this year on, each new year is, with probability
        `random_end_prob`, not played (the game is truncated); None disables random ends. A random
        end hides the horizon from the players, which removes end-game effects.
      random_end_prob: the per-year stopping probability in [0, 1].
      solo: whether a power owning the map's victory count of centres ends the game (False for
        Welfare Diplomacy).
    """

    max_year: int | None = None
    random_end_from: int | None = None
    random_end_prob: float = 0.0
    solo: bool = True

    def __post_init__(self):
        if self.max_year is not None and self.max_year < 0:
            raise ValueError(f"Horizon.max_year must be >= 0 or None, got {self.max_year}")
        if not 0.0 <= self.random_end_prob <= 1.0:
            raise ValueError(
                f"Horizon.random_end_prob must be in [0, 1], got {self.random_end_prob}"
            )
        if self.random_end_prob > 0 and self.random_end_from is None:
            raise ValueError("Horizon.random_end_prob > 0 needs random_end_from (a year)")


@dataclasses.dataclass(frozen=True)
class GameStatus:
    """Whether a game is over, and how.

    Both ways are ends of the game by its rules: the final scores are paid either way, so the
    environments (`RealpolitikEnv`, the JAX engine) report `over` as the contract's
    `terminated` and never bootstrap past it, and the OpenSpiel game is terminal there
    (docs/decisions.md).

    Attributes:
      terminated: a solo victory, or one power left.
      truncated: the horizon ended it (year limit or random end).
      winner: the solo winner, else None.
    """

    terminated: bool
    truncated: bool
    winner: str | None

    @property
    def over(self) -> bool:
        """The game has ended either way (the environments' `terminated`)."""
        return self.terminated or self.truncated


def _centers(m: Map, position: Mapping[str, Any]) -> np.ndarray:
    return np.array([len(position["centers"].get(pw, ())) for pw in m.powers], dtype=np.int64)


def _units(m: Map, position: Mapping[str, Any]) -> np.ndarray:
    return np.array([len(position["units"].get(pw, ())) for pw in m.powers], dtype=np.int64)


def solo_winner(m: Map, position: Mapping[str, Any]) -> str | None:
    """The power owning at least `m.victory_centers` centres (default: more than half), or None."""
    c = _centers(m, position)
    i = int(np.argmax(c))
    return m.powers[i] if c[i] >= m.victory_centers else None


def game_status(
    m: Map,
    position: Mapping[str, Any],
    horizon: Horizon = Horizon(),
    rng: np.random.Generator | None = None,
) -> GameStatus:
    """Decides whether the game ends at `position`.

    Ownership only changes after the Fall, so call it on every position; a solo is recognised as
    soon as it exists. A random end is drawn (from `rng`) only at the start of a Spring movement
    phase of a year >= `horizon.random_end_from`, so call it once per position.

    Args:
      m: the board.
      position: the position reached.
      horizon: year limit and random-end schedule.
      rng: generator for the random end; required when the horizon has one.

    Returns:
      The `GameStatus`.
    """
    season, year, kind = phase_parts(position["phase"])
    if horizon.solo:
        winner = solo_winner(m, position)
        if winner is not None:
            return GameStatus(True, False, winner)
    alive = (_centers(m, position) + _units(m, position)) > 0
    if alive.sum() <= 1:
        return GameStatus(True, False, m.powers[int(np.argmax(alive))] if alive.any() else None)
    spring = season == "S" and kind == "M"
    if horizon.max_year is not None and spring and year > horizon.max_year:
        return GameStatus(False, True, None)
    if horizon.random_end_prob > 0 and spring and year >= horizon.random_end_from:
        if rng is None:
            raise ValueError("game_status: a random-end horizon needs rng (np.random.Generator)")
        if rng.random() < horizon.random_end_prob:
            return GameStatus(False, True, None)
    return GameStatus(False, False, None)


def welfare_increment(m: Map, position: Mapping[str, Any]) -> dict[str, int]:
    """Welfare points banked this year: centres owned minus units, per power, never negative.

    Call it on the position after the winter adjustments (the next Spring).
    """
    d = np.maximum(_centers(m, position) - _units(m, position), 0)
    return {pw: int(d[i]) for i, pw in enumerate(m.powers)}


def scores(
    m: Map,
    position: Mapping[str, Any],
    scheme: str = "draw_size",
    welfare: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Final scores of a finished game.

    Args:
      m: the board.
      position: the final position.
      scheme: one of `SCORING_SCHEMES`.
      welfare: the banked welfare points per power (scheme "welfare" only).

    Returns:
      power -> score.

    Raises:
      ValueError: unknown scheme, or "welfare" without a bank.
    """
    if scheme not in SCORING_SCHEMES:
        raise ValueError(f"unknown scoring scheme {scheme!r}; expected one of {SCORING_SCHEMES}")
    if scheme == "welfare":
        if welfare is None:
            raise ValueError("scheme 'welfare' needs the banked points: scores(..., welfare=...)")
        return {pw: float(welfare.get(pw, 0.0)) for pw in m.powers}
    winner = solo_winner(m, position)
    if winner is not None:
        return {pw: float(pw == winner) for pw in m.powers}
    c = _centers(m, position).astype(np.float64)
    if scheme == "draw_size":
        alive = (c + _units(m, position)) > 0
        share = 1.0 / max(int(alive.sum()), 1)
        return {pw: share if alive[i] else 0.0 for i, pw in enumerate(m.powers)}
    sq = c**2
    total = sq.sum()
    return {pw: float(sq[i] / total) if total > 0 else 0.0 for i, pw in enumerate(m.powers)}
