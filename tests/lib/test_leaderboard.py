"""Bradley-Terry / Elo ratings: known values, invariants and bad input."""

import math

import numpy as np
import pytest

from detente.lib.leaderboard import (
    ELO_PER_LOGIT,
    expected_score,
    fit_bradley_terry,
    pairwise_comparisons,
    rate,
)


def _two_player(record):
    """Games of a vs b from a list of a's scores (1 win, 0.5 draw, 0 loss)."""
    seats = [["a", "b"]] * len(record)
    results = [[s, 1.0 - s] for s in record]
    return seats, results


def test_three_to_one_record_gives_400_log10_3():
    # P(a beats b) = 3/4 <=> odds 3 <=> Elo gap 400 log10(3) = 190.85 (Elo's logistic scale).
    seats, results = _two_player([1, 1, 1, 0])
    ratings = rate(["a", "b"], seats, results, prior_draws=0, num_bootstrap=0, anchor="b")
    assert ratings.rating[1] == 1000.0  # the anchor is exactly where it was pinned
    assert ratings.rating[0] - ratings.rating[1] == pytest.approx(400 * math.log10(3), abs=1e-6)
    assert expected_score(ratings.rating[0], ratings.rating[1]) == pytest.approx(0.75)
    assert ratings.games.tolist() == [4, 4]
    assert ratings.score.tolist() == [0.75, 0.25]
    assert np.isnan(ratings.ci_low).all()


def test_draws_count_half():
    # 1 win and 2 draws against 0 wins: score 2 of 3 -> odds 2 : 1.
    seats, results = _two_player([1, 0.5, 0.5])
    ratings = rate(["a", "b"], seats, results, prior_draws=0, num_bootstrap=0, anchor="a")
    assert ratings.rating[0] - ratings.rating[1] == pytest.approx(ELO_PER_LOGIT * math.log(2))


def test_symmetric_records_give_equal_ratings_and_mean_anchor():
    # Rock-paper-scissors cycle, 5 games each way: every member has the same record.
    seats = [["r", "s"], ["s", "p"], ["p", "r"]] * 5
    results = [[1, -1]] * 15
    ratings = rate(["r", "p", "s"], seats, results, num_bootstrap=0, anchor_rating=1500.0)
    np.testing.assert_allclose(ratings.rating, 1500.0, atol=1e-8)
    assert ratings.anchor is None


def test_maximum_likelihood_conditions_hold():
    # At the MLE every member's expected score equals its observed score (Zermelo 1929).
    wins = np.array([[0, 7, 2], [3, 0, 6], [5, 4, 0]], dtype=float)
    logits = fit_bradley_terry(wins)
    p = 1 / (1 + np.exp(-(logits[:, None] - logits[None, :])))
    games = wins + wins.T
    np.fill_diagonal(p, 0)
    np.testing.assert_allclose((games * p).sum(1), wins.sum(1), atol=1e-8)
    assert logits.mean() == pytest.approx(0.0, abs=1e-12)


def test_prior_keeps_perfect_records_finite_and_mle_refuses_them():
    seats, results = _two_player([1, 1, 1])
    with pytest.raises(ValueError, match="prior_draws"):
        rate(["a", "b"], seats, results, prior_draws=0, num_bootstrap=0)
    ratings = rate(["a", "b"], seats, results, prior_draws=1.0, num_bootstrap=0, anchor="b")
    assert 0 < ratings.rating[0] - 1000.0 < 1000


def test_n_player_decomposition_scores_and_ranks():
    comparisons = pairwise_comparisons([[0, 1, 2]], [[3.0, 1.0, 1.0]], num_members=3)
    assert comparisons.first.tolist() == [0, 0, 1]
    assert comparisons.second.tolist() == [1, 2, 2]
    assert comparisons.score.tolist() == [1.0, 1.0, 0.5]
    ranks = pairwise_comparisons([[0, 1, 2]], [[1, 2, 2]], num_members=3, kind="rank")
    assert ranks.score.tolist() == [1.0, 1.0, 0.5]
    # Seats held by the same member are not compared.
    same = pairwise_comparisons([[0, 0, 1]], [[1.0, 0.0, 2.0]], num_members=2)
    pairs = list(zip(same.first, same.second, same.score, strict=True))
    assert pairs == [(0, 1, 0.0), (0, 1, 0.0)]


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    rng = np.random.default_rng(0)
    seats = [["a", "b"], ["b", "c"], ["a", "c"]] * 20
    results = rng.normal(size=(60, 2)).tolist()
    first = rate(["a", "b", "c"], seats, results, num_bootstrap=200, seed=3, anchor="c")
    again = rate(["a", "b", "c"], seats, results, num_bootstrap=200, seed=3, anchor="c")
    other = rate(["a", "b", "c"], seats, results, num_bootstrap=200, seed=4, anchor="c")
    np.testing.assert_array_equal(first.ci_low, again.ci_low)
    assert not np.array_equal(first.ci_low, other.ci_low)
    assert np.all(first.ci_low <= first.rating + 1e-9)
    assert np.all(first.rating <= first.ci_high + 1e-9)
    assert first.ci_low[2] == first.ci_high[2] == 1000.0  # intervals are relative to the anchor
    assert np.all(first.ci_high[:2] - first.ci_low[:2] > 10)


@pytest.mark.parametrize(
    "seats, results, match",
    [
        ([["a", "b"]], [[np.nan, 1.0]], "finite"),
        ([["a", "x"]], [[1.0, 0.0]], "unknown member 'x'"),
        ([["a", "b"]], [[1.0, 0.0, 2.0]], "shape"),
        ([[0, 5]], [[1.0, 0.0]], "not one of the 3 members"),
        ([["a", "b"]], [[1.0, 0.0]], r"\['c'\] have no game"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(seats, results, match):
    with pytest.raises(ValueError, match=match):
        rate(["a", "b", "c"], seats, results, num_bootstrap=0)


def test_bad_parameters_are_refused():
    seats, results = _two_player([1, 0])
    with pytest.raises(ValueError, match="anchor 'z'"):
        rate(["a", "b"], seats, results, anchor="z")
    with pytest.raises(ValueError, match="distinct"):
        rate(["a", "a"], seats, results)
    with pytest.raises(ValueError, match="confidence"):
        rate(["a", "b"], seats, results, confidence=1.5)
    with pytest.raises(ValueError, match="square"):
        fit_bradley_terry(np.zeros((2, 3)))
