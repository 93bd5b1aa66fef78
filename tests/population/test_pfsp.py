"""PFSP weightings, the win-rate-like score and seat assignment."""

import numpy as np
import pytest

from detente.population.pfsp import (
    PFSP_WEIGHTINGS,
    assign_seats,
    pairwise_score,
    pfsp_distribution,
)


def test_weightings_known_values():
    x = np.array([0.0, 0.25, 0.5, 1.0])
    np.testing.assert_allclose(PFSP_WEIGHTINGS["variance"](x), [0.0, 0.1875, 0.25, 0.0])
    np.testing.assert_allclose(PFSP_WEIGHTINGS["linear"](x), [1.0, 0.75, 0.5, 0.0])
    np.testing.assert_allclose(PFSP_WEIGHTINGS["linear_capped"](x), [0.5, 0.5, 0.5, 0.0])
    np.testing.assert_allclose(PFSP_WEIGHTINGS["squared"](x), [1.0, 0.5625, 0.25, 0.0])


def test_distribution_normalises_and_handles_all_beaten():
    np.testing.assert_allclose(pfsp_distribution([0.0, 0.5], "linear"), [2 / 3, 1 / 3])
    np.testing.assert_allclose(pfsp_distribution([1.0, 1.0, 1.0], "squared"), [1 / 3] * 3)
    # variance favours even opponents over hopeless and trivial ones
    p = pfsp_distribution([0.05, 0.5, 0.95], "variance")
    assert p[1] > p[0] and p[1] > p[2]


def test_pairwise_score():
    assert pairwise_score([1, 1, 0, 0], [0, 0, 1, 0]) == pytest.approx((1 + 1 + 0 + 0.5) / 4)
    # General-sum: both gain, the learner ends ahead in 2 of 3 games.
    assert pairwise_score([3.0, 2.0, 1.0], [1.0, 1.0, 2.0]) == pytest.approx(2 / 3)
    assert pairwise_score([], []) == 0.5


def test_assign_seats_is_seeded_and_respects_counts():
    rng = np.random.default_rng(0)
    is_learner, opponent = assign_seats(4, 2, np.array([0.0, 1.0]), rng)
    assert is_learner.sum() == 2
    assert (opponent[is_learner] == -1).all() and (opponent[~is_learner] == 1).all()
    again = assign_seats(4, 2, np.array([0.0, 1.0]), np.random.default_rng(0))
    np.testing.assert_array_equal(again[0], is_learner)
    solo = assign_seats(3, 3, np.array([]), rng)
    assert solo[0].all() and (solo[1] == -1).all()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: pfsp_distribution([0.5], "hard"), "unknown PFSP weighting 'hard'; accepted"),
        (lambda: pfsp_distribution([1.5], "linear"), r"scores must lie in \[0, 1\]"),
        (lambda: pfsp_distribution([], "linear"), "non-empty"),
        (lambda: pairwise_score([1.0], [np.nan]), "finite"),
        (lambda: pairwise_score([1.0, 2.0], [1.0]), "same length"),
        (lambda: assign_seats(2, 3, np.array([1.0]), np.random.default_rng(0)), "learner_seats"),
        (lambda: assign_seats(2, 1, np.array([0.5]), np.random.default_rng(0)), "sum to 1"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
