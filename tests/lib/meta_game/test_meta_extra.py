"""Single-population alpha-rank, response graphs and the whole-table analyses (analysis.py)."""

import importlib
import sys
import types

import numpy as np
import pytest

from detente.lib import meta_game as mg

RPS = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
# RPS plus two members that lose to all of it; "weak" beats "weaker" by 1/2.
RPS_WEAK = np.array(
    [
        [0, -1, 1, 1, 1],
        [1, 0, -1, 1, 1],
        [-1, 1, 0, 1, 1],
        [-1, -1, -1, 0, 0.5],
        [-1, -1, -1, -0.5, 0],
    ],
    dtype=float,
)


@pytest.fixture(scope="module")
def openspiel_alpharank():
    """OpenSpiel's alpha-rank as an oracle; its plotting module needs networkx, so stub it."""
    stub = types.ModuleType("open_spiel.python.egt.alpharank_visualizer")
    saved = sys.modules.get(stub.__name__)
    sys.modules[stub.__name__] = stub
    try:
        module = importlib.import_module("open_spiel.python.egt.alpharank")
    except ImportError as error:  # pragma: no cover
        pytest.skip(f"open_spiel alpharank unavailable: {error}")
    finally:
        if saved is None:
            sys.modules.pop(stub.__name__, None)
    return module


@pytest.mark.parametrize(
    "table, alpha",
    [
        (np.array([[3.0, 0.0], [5.0, 1.0]]), 2.0),  # prisoner's dilemma: all mass on defect
        (np.array([[2.0, 0.5, 1.0], [1.0, 1.0, 0.2], [0.0, 3.0, 1.5]]), 1.0),  # general-sum
        (np.random.default_rng(0).normal(size=(4, 4)), 0.5),
        (RPS, 5.0),
    ],
)
def test_single_population_alpha_rank_matches_openspiel(openspiel_alpharank, table, alpha):
    # Oracle: open_spiel.python.egt.alpharank.compute with one payoff table is the
    # single-population model (Omidshafiei et al. 2019, Sec. 3.1); use_local_selection_model
    # =False is the paper's finite-population fitness, the one implemented here.
    _, _, pi, _, _ = openspiel_alpharank.compute(
        [table], m=50, alpha=alpha, use_local_selection_model=False
    )
    result = mg.alpha_rank_single_population(table, alpha=alpha, population_size=50)
    np.testing.assert_allclose(result.joint, pi, atol=1e-9)
    np.testing.assert_allclose(result.transition_matrix.sum(axis=1), 1.0)


def test_rps_response_graph_is_the_cycle():
    # RPS: uniform mass (symmetry) and, above neutral drift, exactly the three moves to the
    # strategy that beats the resident: rock -> paper -> scissors -> rock (alpha-rank paper,
    # Fig. 2's RPS response graph).
    ranking = mg.alpha_rank_single_population(RPS)
    np.testing.assert_allclose(ranking.joint, np.full(3, 1 / 3), atol=1e-9)
    graph = mg.response_graph(ranking)
    assert sorted(zip(graph.sources.tolist(), graph.targets.tolist(), strict=True)) == [
        (0, 1),
        (1, 2),
        (2, 0),
    ]
    assert graph.threshold == pytest.approx(0.5 / 50)  # eta / m with eta = 1 / (S - 1)
    assert graph.profiles.shape == (3, 1)


def test_multi_population_response_graph_shapes():
    payoffs = np.stack([RPS, -RPS])
    graph = mg.response_graph(mg.alpha_rank(payoffs, alpha=10.0))
    assert graph.profiles.shape == (9, 2)
    assert graph.mass.sum() == pytest.approx(1.0)
    assert np.all(graph.weights > graph.threshold)
    with pytest.raises(ValueError, match="transition_matrix"):
        bad = mg.AlphaRankResult(np.ones((3, 3)) / 9, (), np.eye(3))
        mg.response_graph(bad)


def test_analyse_population_known_values():
    result = mg.analyse_population(RPS_WEAK)
    # One intransitive triple (rock, paper, scissors); Nash clustering puts RPS on top, then
    # "weak", then "weaker" (Czarnecki et al. 2020 layers); effective diversity of RPS is 1/3
    # (Balduzzi et al. 2019, Sec. 3); the max-entropy Nash is uniform on RPS.
    assert result.triples == 1 and result.triples_total == 10
    assert result.cluster_sizes.tolist() == [3, 1, 1]
    assert result.effective_diversity == pytest.approx(1 / 3, abs=1e-6)
    np.testing.assert_allclose(result.nash, [1 / 3, 1 / 3, 1 / 3, 0, 0], atol=1e-6)
    np.testing.assert_allclose(result.nash_ratings[3:], [-1.0, -1.0], atol=1e-6)
    assert result.nash_conv == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(result.alpha_rank[:3], 1 / 3, atol=1e-6)
    assert result.transitive_fraction + result.cyclic_fraction == pytest.approx(1.0)
    # mElo2 captures the single cycle that Elo cannot (Balduzzi et al. 2018, Sec. 3.3).
    assert result.melo2_rmse < 0.05 < result.elo_rmse


def test_win_probabilities_from_antisymmetric():
    np.testing.assert_allclose(
        mg.win_probabilities_from_antisymmetric(RPS), [[0.5, 0, 1], [1, 0.5, 0], [0, 1, 0.5]]
    )
    w = np.array([[0.5, 0.8], [0.2, 0.5]])
    np.testing.assert_allclose(mg.win_probabilities_from_antisymmetric(w - 0.5, kind="win_rate"), w)
    with pytest.raises(ValueError, match="kind"):
        mg.win_probabilities_from_antisymmetric(RPS, kind="elo")


def test_analyse_meta_game_zero_sum_and_general_sum():
    pennies = np.array([[1.0, -1.0], [-1.0, 1.0]])
    result = mg.analyse_meta_game(np.stack([pennies, -pennies]))
    # Matching pennies: the unique Nash is uniform, so every NashConv and CCE gap is 0.
    assert result.constant_sum
    assert result.uniform_nash_conv == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(result.max_entropy_nash[0], [0.5, 0.5], atol=1e-6)
    assert result.max_entropy_nash_conv == pytest.approx(0.0, abs=1e-6)
    assert result.max_gini_cce_gap == pytest.approx(0.0, abs=1e-6)

    # Prisoner's dilemma (C, D): the only CCE is (D, D). Against a uniform opponent, D earns
    # (5 + 1) / 2 = 3 while uniform play earns (3 + 0 + 5 + 1) / 4 = 2.25: a gain of 0.75 per
    # player, NashConv 1.5.
    row = np.array([[3.0, 0.0], [5.0, 1.0]])
    result = mg.analyse_meta_game(np.stack([row, row.T]))
    assert not result.constant_sum
    assert result.max_entropy_nash is None and result.notes
    assert result.uniform_nash_conv == pytest.approx(1.5)
    np.testing.assert_allclose(result.max_gini_cce_marginals[0], [0.0, 1.0], atol=1e-4)
    assert result.max_gini_cce_gap == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(result.alpha_rank[0], [0.0, 1.0], atol=1e-6)


def test_bad_tables_are_refused():
    with pytest.raises(ValueError, match="antisymmetric"):
        mg.analyse_population(np.array([[0.0, 1.0], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="finite"):
        mg.alpha_rank_single_population(np.array([[0.0, np.nan], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="shape"):
        mg.analyse_meta_game(np.zeros((3, 2, 2)))
