"""Prioritised fictitious self-play (PFSP) for n-player general-sum games.

AlphaStar's league (Vinyals et al. 2019, "Grandmaster level in StarCraft II using multi-agent
reinforcement learning", Methods: "Prioritized fictitious self-play") picks each opponent B of
a learner A with probability proportional to f(P[A beats B]). Its games are two-player and
won or lost; here outcomes are per-seat returns of n-player general-sum games, so "A beats B"
is replaced by a win-rate-like score computed from shared games (see `pairwise_score`).

All functions are pure numpy; sampling takes an explicit `np.random.Generator`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

# f(x) with x the learner's win-rate-like score against an opponent, in [0, 1].
PFSP_WEIGHTINGS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    # Focus on opponents of about the learner's level (AlphaStar's f_var).
    "variance": lambda x: x * (1.0 - x),
    # Focus on opponents the learner does not beat yet.
    "linear": lambda x: 1.0 - x,
    # As "linear" but no opponent gets more than half the weight of an unbeaten one.
    "linear_capped": lambda x: np.minimum(0.5, 1.0 - x),
    # AlphaStar's f_hard with p = 2: strongly favours the hardest opponents.
    "squared": lambda x: (1.0 - x) ** 2,
}


def pairwise_score(learner_returns: np.ndarray, opponent_returns: np.ndarray) -> float:
    """The learner's win-rate-like score against one opponent over shared games.

    For every game in which both took part, the learner scores 1 if its return was higher
    than the opponent's, 1/2 if equal and 0 if lower; the score is the mean. In a 2-player
    win/loss game this is the plain win rate; in an n-player general-sum game it asks "did the
    learner end ahead of this opponent", which is defined whatever the payoff scale and keeps
    PFSP's weightings meaningful. (Comparing returns rather than using them raw is what makes
    a score of 1/2 mean "as good as": with general-sum payoffs both may gain.)

    Args:
      learner_returns: float [G], the learner's return in each shared game.
      opponent_returns: float [G], the opponent's return in the same games.

    Returns:
      The score in [0, 1]; 0.5 when there are no shared games (no information).

    Raises:
      ValueError: mismatched shapes or non-finite returns.
    """
    scores = game_scores(learner_returns, opponent_returns)
    return float(np.mean(scores)) if scores.size else 0.5


def game_scores(learner_returns: np.ndarray, opponent_returns: np.ndarray) -> np.ndarray:
    """`pairwise_score` game by game: float64 [G], 1 where the learner's return was higher,
    1/2 where equal, 0 where lower.

    Raises:
      ValueError: mismatched shapes or non-finite returns.
    """
    learner_returns = np.asarray(learner_returns, np.float64)
    opponent_returns = np.asarray(opponent_returns, np.float64)
    if learner_returns.shape != opponent_returns.shape or learner_returns.ndim != 1:
        raise ValueError(
            "learner_returns and opponent_returns must be 1-D arrays of the same length, got "
            f"shapes {learner_returns.shape} and {opponent_returns.shape}"
        )
    if not (np.isfinite(learner_returns).all() and np.isfinite(opponent_returns).all()):
        raise ValueError("returns must be finite (found NaN or inf)")
    wins = (learner_returns > opponent_returns).astype(np.float64)
    ties = (learner_returns == opponent_returns).astype(np.float64)
    return wins + 0.5 * ties


def pfsp_distribution(scores: Sequence[float] | np.ndarray, weighting: str) -> np.ndarray:
    """PFSP's opponent distribution from the learner's scores against each candidate.

    Args:
      scores: float [C], the learner's win-rate-like score against each candidate, in [0, 1].
      weighting: one of `PFSP_WEIGHTINGS` ("variance", "linear", "linear_capped", "squared").

    Returns:
      float [C], probabilities proportional to f(score); uniform if every weight is 0 (e.g.
      the learner beats everyone), so a distribution always exists.

    Raises:
      ValueError: unknown weighting, empty or out-of-range scores.
    """
    if weighting not in PFSP_WEIGHTINGS:
        raise ValueError(
            f"unknown PFSP weighting {weighting!r}; accepted: {', '.join(PFSP_WEIGHTINGS)}"
        )
    scores = np.asarray(scores, np.float64)
    if scores.ndim != 1 or scores.size == 0:
        raise ValueError(f"scores must be a non-empty 1-D array, got shape {scores.shape}")
    if not np.isfinite(scores).all() or (scores < 0).any() or (scores > 1).any():
        raise ValueError(f"scores must lie in [0, 1], got {scores.tolist()}")
    weights = PFSP_WEIGHTINGS[weighting](scores)
    total = weights.sum()
    if total <= 0:
        return np.full(scores.size, 1.0 / scores.size)
    return weights / total


def assign_seats(
    num_players: int,
    learner_seats: int,
    opponents: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """A seat assignment for one N-player game: the learner in some seats, opponents in the rest.

    The learner's seats are drawn uniformly (so it learns every seat of an asymmetric game)
    and each remaining seat gets one opponent drawn from `opponents`' distribution.

    Args:
      num_players: N.
      learner_seats: how many seats the learner plays, in [1, N].
      opponents: float [C], a distribution over candidate opponents (e.g. `pfsp_distribution`).
      rng: the explicit random generator.

    Returns:
      (is_learner bool [N], opponent int [N]): the learner's seats, and for the others the
      index of the candidate playing them (-1 in the learner's seats).

    Raises:
      ValueError: bad seat counts or an invalid distribution.
    """
    if not 1 <= learner_seats <= num_players:
        raise ValueError(
            f"learner_seats must be in [1, num_players={num_players}], got {learner_seats}"
        )
    opponents = np.asarray(opponents, np.float64)
    if learner_seats < num_players:
        if opponents.ndim != 1 or opponents.size == 0 or (opponents < 0).any():
            raise ValueError(f"opponents must be a non-empty distribution, got {opponents}")
        if abs(opponents.sum() - 1.0) > 1e-6:
            raise ValueError(f"opponents must sum to 1, got {opponents.sum()}")
    is_learner = np.zeros(num_players, bool)
    is_learner[rng.choice(num_players, size=learner_seats, replace=False)] = True
    opponent = np.full(num_players, -1, np.int64)
    others = np.flatnonzero(~is_learner)
    if others.size:
        opponent[others] = rng.choice(opponents.size, size=others.size, p=opponents)
    return is_learner, opponent
