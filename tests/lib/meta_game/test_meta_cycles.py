"""Strategy-cycle analysis on pure cycles, pure transitive games and mixtures."""

import numpy as np
import pytest

from detente.lib import meta_game as mg

RPS = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
RATINGS = np.array([3.0, 1.0, 2.0, 0.0])
TRANSITIVE = RATINGS[:, None] - RATINGS[None, :]


def test_hodge_of_pure_cycle_is_all_cyclic():
    h = mg.hodge_decomposition(RPS)
    np.testing.assert_allclose(h.ratings, 0.0)
    assert h.transitive_norm == pytest.approx(0.0)
    assert h.cyclic_fraction == pytest.approx(1.0)
    np.testing.assert_allclose(h.cyclic, RPS)


def test_hodge_of_transitive_game_is_all_transitive():
    h = mg.hodge_decomposition(TRANSITIVE)
    np.testing.assert_allclose(h.ratings, RATINGS - RATINGS.mean())
    assert h.cyclic_norm == pytest.approx(0.0, abs=1e-12)
    assert h.transitive_fraction == pytest.approx(1.0)


def test_hodge_of_mixture_recovers_both_parts():
    # Embed the RPS cycle on members 0..2 of a 4-member transitive game. The cycle is
    # divergence-free (rows sum to 0), so the parts are recovered exactly.
    cycle = np.zeros((4, 4))
    cycle[:3, :3] = 2.0 * RPS
    h = mg.hodge_decomposition(TRANSITIVE + cycle)
    np.testing.assert_allclose(h.transitive, TRANSITIVE, atol=1e-12)
    np.testing.assert_allclose(h.cyclic, cycle, atol=1e-12)
    total = np.sum((TRANSITIVE + cycle) ** 2)
    assert h.cyclic_fraction == pytest.approx(np.sum(cycle**2) / total)
    assert h.transitive_fraction + h.cyclic_fraction == pytest.approx(1.0)


def test_intransitive_triples():
    assert mg.intransitive_triples(RPS) == mg.IntransitiveTriples(count=1, total=1, fraction=1.0)
    assert mg.intransitive_triples(TRANSITIVE).count == 0
    # Two disjoint-ish cycles: members (0,1,2) cycle, 3 beats everyone: 1 of C(4,3) = 4.
    table = np.zeros((4, 4))
    table[:3, :3] = RPS
    table[3, :3], table[:3, 3] = 1.0, -1.0
    triples = mg.intransitive_triples(table)
    assert (triples.count, triples.total, triples.fraction) == (1, 4, 0.25)
    assert mg.intransitive_triples(0.5 * RPS, margin=0.6).count == 0


def test_nash_quantities_of_pure_cycle():
    averaging = mg.nash_averaging(RPS)
    np.testing.assert_allclose(averaging.nash, np.full(3, 1 / 3), atol=1e-8)
    np.testing.assert_allclose(averaging.ratings, 0.0, atol=1e-8)
    # p^T max(A, 0) p = 3 wins of 1 at probability 1/9 each.
    assert mg.effective_diversity(RPS) == pytest.approx(1 / 3, abs=1e-8)
    clustering = mg.nash_clustering(RPS)
    assert clustering.sizes.tolist() == [3]


def test_nash_quantities_of_transitive_game():
    averaging = mg.nash_averaging(TRANSITIVE)
    np.testing.assert_allclose(averaging.nash, [1.0, 0.0, 0.0, 0.0], atol=1e-8)
    np.testing.assert_allclose(averaging.ratings, RATINGS - RATINGS.max(), atol=1e-8)
    assert mg.effective_diversity(TRANSITIVE) == pytest.approx(0.0, abs=1e-8)
    clustering = mg.nash_clustering(TRANSITIVE)
    # Singletons ordered by rating, each beating the next by the rating gap.
    assert [layer.tolist() for layer in clustering.layers] == [[0], [2], [1], [3]]
    np.testing.assert_allclose(clustering.rpp_to_next, [1.0, 1.0, 1.0], atol=1e-8)


def test_nash_averaging_ignores_duplicates():
    dup = np.array([[0, 0, -1, 1], [0, 0, -1, 1], [1, 1, 0, -1], [-1, -1, 1, 0]], float)
    averaging = mg.nash_averaging(dup)
    np.testing.assert_allclose(averaging.nash, [1 / 6, 1 / 6, 1 / 3, 1 / 3], atol=1e-6)
    np.testing.assert_allclose(averaging.ratings, 0.0, atol=1e-6)


def test_nash_clustering_of_spinning_top():
    # Layer 1: an RPS cycle on 0..2 beating everything below; layer 2: another cycle on 3..5
    # beating member 6; layer 3: member 6 alone. Profile 3, 3, 1.
    wins = np.zeros((7, 7))
    wins[:3, 3:] = 1.0
    wins[3:6, 6] = 1.0
    table = wins - wins.T
    table[:3, :3] = RPS
    table[3:6, 3:6] = RPS
    clustering = mg.nash_clustering(table)
    assert clustering.sizes.tolist() == [3, 3, 1]
    assert [sorted(layer.tolist()) for layer in clustering.layers] == [[0, 1, 2], [3, 4, 5], [6]]
    np.testing.assert_allclose(clustering.rpp_to_next, [1.0, 1.0], atol=1e-8)
    assert mg.relative_population_performance(table, [3, 4, 5], [0, 1, 2]) == pytest.approx(-1)
    assert mg.intransitive_triples(table).count == 2


def test_melo_fits_a_cycle_that_elo_cannot():
    win = 0.5 + 0.4 * RPS
    elo = mg.fit_melo(win, k=0, steps=500)
    melo = mg.fit_melo(win, k=1, steps=3000, seed=0)
    # Plain Elo can only say 1/2 everywhere (the ratings are symmetric): RMSE 0.4.
    assert elo.rmse == pytest.approx(0.4, abs=1e-3)
    assert elo.cyclic.shape == (3, 0)
    assert melo.rmse < 0.01
    assert melo.cyclic.shape == (3, 2)
    again = mg.fit_melo(win, k=1, steps=3000, seed=0)
    np.testing.assert_array_equal(again.predicted, melo.predicted)  # deterministic


def test_melo_fits_transitive_win_rates_with_elo():
    ratings = np.array([1.0, 0.0, -0.5, -1.5])
    win = 1 / (1 + np.exp(-(ratings[:, None] - ratings[None, :])))
    elo = mg.fit_melo(win, k=0, steps=3000, learning_rate=0.05)
    np.testing.assert_allclose(elo.ratings, ratings - ratings.mean(), atol=1e-3)


def test_symmetric_reduction_of_two_player_zero_sum_is_the_table():
    reduction = mg.symmetric_reduction(np.stack([RPS, -RPS]))
    np.testing.assert_allclose(reduction.antisymmetric, RPS)
    np.testing.assert_allclose(reduction.one_vs_rest, RPS)


def test_symmetric_reduction_of_three_player_game_by_hand():
    rng = np.random.default_rng(0)
    payoffs = rng.normal(size=(3, 2, 2, 2))
    reduction = mg.symmetric_reduction(payoffs)
    # Lone member 0 among 1s: seat 0 of (0,1,1), seat 1 of (1,0,1), seat 2 of (1,1,0).
    lone = (payoffs[0, 0, 1, 1] + payoffs[1, 1, 0, 1] + payoffs[2, 1, 1, 0]) / 3
    assert reduction.one_vs_rest[0, 1] == pytest.approx(lone)
    assert reduction.one_vs_rest[0, 0] == pytest.approx(payoffs[:, 0, 0, 0].mean())
    np.testing.assert_allclose(reduction.antisymmetric, -reduction.antisymmetric.T)


def test_reductions_reject_bad_tables():
    with pytest.raises(ValueError, match="same members in every seat"):
        mg.symmetric_reduction(np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match="antisymmetric"):
        mg.hodge_decomposition(np.ones((3, 3)))
    with pytest.raises(ValueError, match="square"):
        mg.nash_averaging(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="finite"):
        mg.intransitive_triples(np.array([[0.0, np.nan], [np.nan, 0.0]]))
    with pytest.raises(ValueError, match="W \\+ W\\^T = 1"):
        mg.win_rate_to_antisymmetric(np.full((2, 2), 0.9))
    np.testing.assert_allclose(mg.win_rate_to_antisymmetric(0.5 + 0.4 * RPS), 0.4 * RPS)
    np.testing.assert_allclose(
        mg.antisymmetrize(np.array([[1.0, 3.0], [1.0, 2.0]])), [[0, 1], [-1, 0]]
    )


def test_forgetting_matrix():
    # Checkpoint 2 loses to checkpoint 0 by 1; checkpoint 1 beats 0; 2 beats 1.
    f = mg.forgetting(RPS)  # RPS[t, s]: 1 beats 0, 2 beats 1, 2 loses to 0
    assert np.isnan(f.matrix[0]).all() and f.matrix[2, 0] == -1.0
    np.testing.assert_allclose(f.loss_fraction[1:], [0.0, 0.5])
    assert f.overall_loss_fraction == pytest.approx(1 / 3)
    assert f.max_forgetting == pytest.approx(1.0)
    assert f.worst_pair == (2, 0)
    order = np.arange(4)
    improving = 0.5 + 0.1 * np.sign(order[:, None] - order[None, :])  # win rates, later wins
    monotone = mg.forgetting(improving, draw_value=0.5)
    assert monotone.overall_loss_fraction == 0.0 and monotone.worst_pair is None


def test_robustness_scores():
    payoffs = np.arange(40.0).reshape(2, 20)
    r = mg.robustness(payoffs, worst_fraction=0.1)
    np.testing.assert_allclose(r.mean, [9.5, 29.5])
    np.testing.assert_allclose(r.min, [0.0, 20.0])
    np.testing.assert_allclose(r.worst_fraction_mean, [0.5, 20.5])  # lowest 2 of 20
    assert r.overall_min == 0.0 and r.overall_mean == pytest.approx(19.5)
    assert r.overall_worst_fraction_mean == pytest.approx(1.5)  # lowest 4 of 40
    with pytest.raises(ValueError, match="worst_fraction"):
        mg.robustness(payoffs, worst_fraction=0.0)
