"""Ratings for leaderboards: Bradley-Terry fitted by maximum likelihood, on the Elo scale.

Pure numpy. The model (Bradley & Terry 1952; Elo 1978; Hunter 2004, "MM algorithms for
generalized Bradley-Terry models"): member i beats member j with probability

    P(i beats j) = sigmoid(r_i - r_j),    r the members' logits,

reported on the Elo scale, `ELO_PER_LOGIT = 400 / ln 10` Elo points per logit, so that a
400-point gap means odds of 10:1. A draw counts as half a win and half a loss. Ratings are only
defined up to a shift; the shift is pinned by an anchor member fixed at a given rating (or, with
no anchor, by the mean rating).

N-player games are decomposed into pairwise comparisons: in every game, each pair of seats
(s, t) held by two different members is one comparison, scored 1 / 0.5 / 0 for the first by
comparing the two seats' scores (higher is better) or ranks (lower is better); pairs of seats
held by the same member are skipped. For two players this is the ordinary win/draw/loss record.
The pairs of one game are not independent, so the likelihood is a composite (pseudo-)likelihood:
point estimates are consistent, but their spread is measured by the bootstrap, which resamples
whole games (all pairs of a game together), never single pairs.

Confidence intervals: percentile bootstrap (Efron & Tibshirani 1993): the games are resampled
with replacement with a seeded `np.random.Generator`, the model is refitted on each resample,
and the interval is the (alpha/2, 1 - alpha/2) quantiles of each member's anchored rating. They
are intervals relative to the anchor (the anchor's own interval is a single point).

Prior: a member who won (or lost) every comparison has no finite maximum-likelihood rating.
`prior_draws` > 0 adds, for each member, that many virtual draws against a virtual opponent at
logit 0 (the BayesElo-style prior of Coulom), which keeps every fit finite and unique, also on
bootstrap resamples; it shrinks ratings slightly toward each other. With `prior_draws=0` the fit
is the exact maximum-likelihood estimate and fails with a clear message when none exists.
See docs/leaderboards.md.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

ELO_PER_LOGIT = 400.0 / math.log(10.0)

__all__ = [
    "ELO_PER_LOGIT",
    "Comparisons",
    "Ratings",
    "expected_score",
    "fit_bradley_terry",
    "pairwise_comparisons",
    "rate",
]


@dataclasses.dataclass(frozen=True)
class Comparisons:
    """Pairwise outcomes, C of them.

    Attributes:
      first: int [C], member index of the first member of each comparison.
      second: int [C], member index of the second.
      score: float [C], the first member's score: 1 win, 0.5 draw, 0 loss.
      game: int [C], the game (row of the results) each comparison came from; the bootstrap
        resamples games.
    """

    first: np.ndarray
    second: np.ndarray
    score: np.ndarray
    game: np.ndarray


@dataclasses.dataclass(frozen=True)
class Ratings:
    """Fitted ratings of S members, on the Elo scale.

    Attributes:
      ids: S member ids, in the order given.
      rating: float [S], Elo ratings (the anchor at `anchor_rating`).
      ci_low: float [S], lower end of the bootstrap confidence interval (NaN without bootstrap).
      ci_high: float [S], upper end.
      games: int [S], games in which the member met at least one other member.
      score: float [S], the member's mean pairwise score (wins + draws / 2) / comparisons.
      anchor: the anchor member's id, or None when the mean rating is pinned.
      anchor_rating: the anchor's (or the mean's) rating.
      confidence: the confidence level of the interval, e.g. 0.95.
      num_bootstrap: bootstrap resamples used (0: no interval).
      prior_draws: the prior's virtual draws per member.
    """

    ids: tuple[str, ...]
    rating: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    games: np.ndarray
    score: np.ndarray
    anchor: str | None
    anchor_rating: float
    confidence: float
    num_bootstrap: int
    prior_draws: float

    def order(self) -> np.ndarray:
        """Member indices from best to worst (ties broken by id, so the order is stable)."""
        return np.array(
            sorted(range(len(self.ids)), key=lambda i: (-round(self.rating[i], 9), self.ids[i])),
            dtype=np.int64,
        )


def expected_score(rating_a, rating_b) -> np.ndarray:
    """Expected score of A against B under the Elo/Bradley-Terry model: 1 / (1 + 10^(-d/400))."""
    d = np.asarray(rating_a, dtype=np.float64) - np.asarray(rating_b, dtype=np.float64)
    return 1.0 / (1.0 + np.power(10.0, -d / 400.0))


# ----------------------------------------------------------------------------- decomposition


def pairwise_comparisons(
    seat_members, results, *, num_members: int, kind: str = "score"
) -> Comparisons:
    """Decomposes per-seat game results into pairwise comparisons.

    In game g, every pair of seats s < t with `seat_members[g, s] != seat_members[g, t]` gives
    one comparison of member seat_members[g, s] against seat_members[g, t], scored 1 if seat s
    did better, 0.5 if equal, 0 if worse ("better" is a higher score, or a lower rank).

    Args:
      seat_members: int [G, P], the member index in each seat of each game.
      results: float [G, P], each seat's score (e.g. its return) or rank (1 = first).
      num_members: S, number of members; indices must lie in [0, S).
      kind: "score" (higher is better) or "rank" (lower is better).

    Returns:
      The `Comparisons`, in game order, then seat-pair order.

    Raises:
      ValueError: on mismatched or malformed shapes, non-finite results, member indices out
        of range, or an unknown `kind`.
    """
    if kind not in ("score", "rank"):
        raise ValueError(f"kind must be 'score' or 'rank', got {kind!r}")
    seat_members = np.asarray(seat_members)
    results = np.asarray(results, dtype=np.float64)
    if seat_members.ndim != 2:
        raise ValueError(f"seat_members must have shape [G, P], got {seat_members.shape}")
    if results.shape != seat_members.shape:
        raise ValueError(
            f"results must have the shape of seat_members {seat_members.shape} ([G, P]), "
            f"got {results.shape}"
        )
    if seat_members.shape[1] < 2:
        raise ValueError(f"games need at least 2 seats to compare, got P={seat_members.shape[1]}")
    if seat_members.size and not np.issubdtype(seat_members.dtype, np.integer):
        raise ValueError(f"seat_members must hold integer member indices, got {seat_members.dtype}")
    bad = np.argwhere(~np.isfinite(results))
    if bad.size:
        g, s = bad[0]
        raise ValueError(
            f"results must be finite; game {g} seat {s} has {results[g, s]} "
            f"({len(bad)} non-finite entries in all)"
        )
    out_of_range = np.argwhere((seat_members < 0) | (seat_members >= num_members))
    if out_of_range.size:
        g, s = out_of_range[0]
        raise ValueError(
            f"game {g} seat {s} names member {seat_members[g, s]}, which is not one of the "
            f"{num_members} members (indices 0..{num_members - 1})"
        )
    if kind == "rank":
        results = -results
    num_seats = seat_members.shape[1]
    firsts, seconds, scores, games = [], [], [], []
    for s in range(num_seats):
        for t in range(s + 1, num_seats):
            keep = seat_members[:, s] != seat_members[:, t]
            diff = results[keep, s] - results[keep, t]
            firsts.append(seat_members[keep, s])
            seconds.append(seat_members[keep, t])
            scores.append(np.where(diff > 0, 1.0, np.where(diff < 0, 0.0, 0.5)))
            games.append(np.flatnonzero(keep))
    game = np.concatenate(games).astype(np.int64)
    # Game order, then seat-pair order (a stable sort keeps the pair order within a game).
    order = np.argsort(game, kind="stable")
    return Comparisons(
        first=np.concatenate(firsts).astype(np.int64)[order],
        second=np.concatenate(seconds).astype(np.int64)[order],
        score=np.concatenate(scores)[order],
        game=game[order],
    )


# ----------------------------------------------------------------------------- fitting


def _tallies(
    first: np.ndarray, second: np.ndarray, score: np.ndarray, num_members: int, weight=None
) -> tuple[np.ndarray, np.ndarray]:
    """wins[i, j] = score of i against j (draws half); games[i, j] = comparisons of i and j."""
    weight = np.ones_like(score) if weight is None else weight
    wins = np.zeros((num_members, num_members))
    np.add.at(wins, (first, second), weight * score)
    np.add.at(wins, (second, first), weight * (1.0 - score))
    return wins, wins + wins.T


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _log_sigmoid(x: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -x)


def _check_mle_exists(wins: np.ndarray, ids: Sequence[str]) -> None:
    """Ford (1957): a finite MLE exists iff the "scored against" graph is strongly connected."""
    size = wins.shape[0]
    beat = wins > 0
    for graph, word in ((beat, "won or drew against"), (beat.T, "lost or drew against")):
        seen = np.zeros(size, bool)
        seen[0] = True
        frontier = [0]
        while frontier:
            node = frontier.pop()
            for nxt in np.flatnonzero(graph[node] & ~seen):
                seen[nxt] = True
                frontier.append(int(nxt))
        if not seen.all():
            stuck = [ids[i] for i in np.flatnonzero(~seen)][:5]
            raise ValueError(
                "no finite maximum-likelihood ratings exist: the results cannot be chained "
                f"(no path of '{word}' from {ids[0]!r} to {stuck}), e.g. a member won or lost "
                "every comparison; use prior_draws > 0 (e.g. 1.0) to regularise"
            )


def _fit_logits(
    wins: np.ndarray, prior_draws: float, *, max_iter: int = 100, tol: float = 1e-10
) -> np.ndarray:
    """Damped Newton ascent on the concave Bradley-Terry log-likelihood; logits [S].

    With prior_draws = 0 the logits are pinned by r_0 = 0 (the caller re-anchors them), and
    the caller has checked that the maximum exists.
    """
    size = wins.shape[0]
    games = wins + wins.T
    logits = np.zeros(size)
    free = np.arange(size) if prior_draws > 0 else np.arange(1, size)

    def objective(r):
        d = r[:, None] - r[None, :]
        value = np.sum(wins * _log_sigmoid(d))
        if prior_draws > 0:  # half a win and half a loss against logit 0, prior_draws times
            value += prior_draws * np.sum(0.5 * _log_sigmoid(r) + 0.5 * _log_sigmoid(-r))
        return value

    current = objective(logits)
    for _ in range(max_iter):
        p = _sigmoid(logits[:, None] - logits[None, :])
        gradient = np.sum(wins - games * p, axis=1)
        curvature = games * p * (1.0 - p)
        hessian = curvature - np.diag(curvature.sum(axis=1))  # negative semi-definite
        if prior_draws > 0:
            q = _sigmoid(logits)
            gradient += prior_draws * (0.5 - q)
            hessian -= np.diag(prior_draws * q * (1.0 - q))
        step = np.zeros(size)
        step[free] = np.linalg.solve(-hessian[np.ix_(free, free)], gradient[free])
        scale = 1.0
        while True:  # backtracking: the objective is concave, so a short enough step ascends
            candidate = logits + scale * step
            value = objective(candidate)
            if value >= current - 1e-12 or scale < 1e-6:
                break
            scale *= 0.5
        logits, current = candidate, value
        if np.max(np.abs(scale * step)) < tol:
            break
    return logits


def fit_bradley_terry(
    wins,
    *,
    prior_draws: float = 0.0,
    ids: Sequence[str] | None = None,
) -> np.ndarray:
    """Maximum-likelihood Bradley-Terry logits from a win matrix.

    Newton's method with backtracking on the concave log-likelihood
    sum_ij wins[i, j] log sigmoid(r_i - r_j) (Hunter 2004, section 3 for the model; Newton
    rather than MM because it converges in a handful of deterministic iterations).

    Args:
      wins: float [S, S], wins[i, j] = i's total score against j (a draw adds 0.5 to both
        wins[i, j] and wins[j, i]); diagonal ignored.
      prior_draws: virtual draws of each member against a virtual opponent at logit 0 (>= 0).
      ids: member names for error messages (default "0", "1", ...).

    Returns:
      float [S] logits. With prior_draws = 0 they are shifted to mean 0.

    Raises:
      ValueError: on a malformed matrix, or when prior_draws = 0 and no finite maximum exists.
    """
    wins = np.array(wins, dtype=np.float64)
    if wins.ndim != 2 or wins.shape[0] != wins.shape[1] or wins.shape[0] < 1:
        raise ValueError(f"wins must be a non-empty square matrix [S, S], got shape {wins.shape}")
    if not np.all(np.isfinite(wins)) or np.any(wins < 0):
        raise ValueError("wins must hold finite, non-negative scores")
    if not (isinstance(prior_draws, (int, float)) and prior_draws >= 0):
        raise ValueError(f"prior_draws must be a number >= 0, got {prior_draws!r}")
    np.fill_diagonal(wins, 0.0)
    size = wins.shape[0]
    ids = [str(i) for i in range(size)] if ids is None else list(ids)
    if size == 1:
        return np.zeros(1)
    if prior_draws == 0:
        _check_mle_exists(wins, ids)
    logits = _fit_logits(wins, float(prior_draws))
    return logits - logits.mean() if prior_draws == 0 else logits


# ----------------------------------------------------------------------------- rate


def _member_indices(ids: tuple[str, ...], seat_members) -> np.ndarray:
    array = np.asarray(seat_members)
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    if array.dtype.kind not in "UO":
        raise ValueError(
            f"seat_members must hold member ids (str) or indices (int), got dtype {array.dtype}"
        )
    lookup = {member: i for i, member in enumerate(ids)}
    flat = []
    for value in array.ravel().tolist():
        if value not in lookup:
            raise ValueError(f"unknown member {value!r} in seat_members; members are {list(ids)}")
        flat.append(lookup[value])
    return np.array(flat, dtype=np.int64).reshape(array.shape)


def rate(
    ids: Sequence[str],
    seat_members,
    results,
    *,
    kind: str = "score",
    anchor: str | None = None,
    anchor_rating: float = 1000.0,
    prior_draws: float = 1.0,
    num_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Ratings:
    """Rates members from per-seat game results: Bradley-Terry on the Elo scale with bootstrap CIs.

    Args:
      ids: S distinct member ids.
      seat_members: [G, P] member ids (str) or indices (int) per seat of each game.
      results: float [G, P], each seat's score or rank (see `pairwise_comparisons`).
      kind: "score" (higher is better, e.g. returns) or "rank" (1 = first).
      anchor: id of the member fixed at `anchor_rating`; None pins the mean rating instead.
      anchor_rating: the anchor's Elo rating (e.g. 1000, or 0 for a uniform-random anchor).
      prior_draws: virtual draws per member against a logit-0 opponent (module docstring);
        0 gives the exact maximum-likelihood fit.
      num_bootstrap: bootstrap resamples of the games (0: no interval, NaN bounds).
      confidence: the interval's level, in (0, 1).
      seed: seed of the bootstrap's `np.random.Generator`.

    Returns:
      `Ratings`, in the order of `ids`.

    Raises:
      ValueError: on duplicate or unknown ids, mismatched shapes, non-finite results, a
        member with no game against another member, bad parameters, or (prior_draws = 0) data
        without a finite maximum-likelihood fit.
    """
    ids = tuple(str(i) for i in ids)
    if not ids:
        raise ValueError("rate needs at least one member id")
    if len(set(ids)) != len(ids):
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"member ids must be distinct; repeated: {duplicates}")
    if anchor is not None and anchor not in ids:
        raise ValueError(f"anchor {anchor!r} is not a member; members are {list(ids)}")
    if not math.isfinite(anchor_rating):
        raise ValueError(f"anchor_rating must be finite, got {anchor_rating!r}")
    if not isinstance(num_bootstrap, (int, np.integer)) or num_bootstrap < 0:
        raise ValueError(f"num_bootstrap must be a non-negative integer, got {num_bootstrap!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if not (isinstance(prior_draws, (int, float)) and prior_draws >= 0):
        raise ValueError(f"prior_draws must be a number >= 0, got {prior_draws!r}")
    members = _member_indices(ids, seat_members)
    comparisons = pairwise_comparisons(members, results, num_members=len(ids), kind=kind)
    num_games = members.shape[0]
    size = len(ids)

    # Games per member: games in which the member took part in at least one comparison.
    per_game = np.zeros((num_games, size), bool)
    per_game[comparisons.game, comparisons.first] = True
    per_game[comparisons.game, comparisons.second] = True
    played = per_game.sum(axis=0)
    if size > 1 and np.any(played == 0):
        missing = [ids[i] for i in np.flatnonzero(played == 0)]
        raise ValueError(
            f"members {missing} have no game against another member, so they cannot be rated; "
            "schedule games for them or leave them out"
        )

    anchor_index = ids.index(anchor) if anchor is not None else None

    def to_elo(logits: np.ndarray) -> np.ndarray:
        shift = logits[anchor_index] if anchor_index is not None else logits.mean()
        return anchor_rating + ELO_PER_LOGIT * (logits - shift)

    def fit(game_weight: np.ndarray | None) -> np.ndarray:
        weight = None if game_weight is None else game_weight[comparisons.game]
        wins, _ = _tallies(comparisons.first, comparisons.second, comparisons.score, size, weight)
        return to_elo(fit_bradley_terry(wins, prior_draws=prior_draws, ids=ids))

    rating = fit(None)
    wins, games = _tallies(comparisons.first, comparisons.second, comparisons.score, size)
    total = games.sum(axis=1)
    score = np.divide(wins.sum(axis=1), total, out=np.full(size, np.nan), where=total > 0)

    ci_low = np.full(size, np.nan)
    ci_high = np.full(size, np.nan)
    if num_bootstrap:
        rng = np.random.default_rng(seed)
        samples = np.empty((num_bootstrap, size))
        for b in range(num_bootstrap):
            # Resampling G games with replacement = multinomial counts used as game weights.
            counts = np.bincount(rng.integers(0, num_games, num_games), minlength=num_games)
            try:
                samples[b] = fit(counts.astype(np.float64))
            except ValueError as error:
                raise ValueError(
                    f"bootstrap resample {b} has no finite maximum-likelihood fit ({error}); "
                    "use prior_draws > 0"
                ) from None
        tail = 0.5 * (1.0 - confidence)
        ci_low, ci_high = np.quantile(samples, [tail, 1.0 - tail], axis=0)
    return Ratings(
        ids=ids,
        rating=rating,
        ci_low=ci_low,
        ci_high=ci_high,
        games=played.astype(np.int64),
        score=score,
        anchor=anchor,
        anchor_rating=float(anchor_rating),
        confidence=float(confidence),
        num_bootstrap=int(num_bootstrap),
        prior_draws=float(prior_draws),
    )
