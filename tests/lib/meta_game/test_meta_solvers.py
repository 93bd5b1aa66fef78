"""Meta-solvers on textbook games with known answers (sources in comments)."""

import importlib
import sys
import types

import numpy as np
import pytest

from detente.lib import meta_game as mg

# Rock-paper-scissors: unique Nash uniform, value 0 (von Neumann & Morgenstern 1944).
RPS = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
RPS_GAME = np.stack([RPS, -RPS])
# Prisoner's dilemma (C, D): T=5 > R=3 > P=1 > S=0; defection strictly dominates.
PD = np.array([[[3.0, 0.0], [5.0, 1.0]], [[3.0, 5.0], [0.0, 1.0]]])
# Stag hunt (Stag, Hare): pure equilibria (S, S) and (H, H) (Skyrms 2004).
STAG = np.array([[[4.0, 0.0], [3.0, 3.0]], [[4.0, 3.0], [0.0, 3.0]]])
# Chicken (Dare, Chicken): Aumann's (1974) traffic-light game.
CHICKEN = np.array([[[0.0, 7.0], [2.0, 6.0]], [[0.0, 2.0], [7.0, 6.0]]])
# Shapley's (1964) game: unique Nash uniform; adaptive dynamics cycle around it.
SHAPLEY = np.stack(
    [np.roll(np.eye(3), 1, axis=1), np.roll(np.eye(3), -1, axis=1)]
)  # row gets 1 when column = row + 1, column gets 1 when column = row - 1
# Matching pennies: unique Nash (1/2, 1/2).
PENNIES = np.array([[[1.0, -1.0], [-1.0, 1.0]], [[-1.0, 1.0], [1.0, -1.0]]])
SKEWED = [np.array([0.6, 0.3, 0.1]), np.array([0.2, 0.2, 0.6])]


def test_uniform():
    a, b = mg.uniform(np.zeros((2, 3, 4)))
    np.testing.assert_allclose(a, np.full(3, 1 / 3))
    np.testing.assert_allclose(b, np.full(4, 1 / 4))


@pytest.mark.parametrize(
    "game, expected",
    [(RPS_GAME, [np.full(3, 1 / 3)] * 2), (PENNIES, [np.full(2, 0.5)] * 2)],
)
def test_zero_sum_nash(game, expected):
    solution = mg.zero_sum_nash(game)
    for got, want in zip(solution, expected, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-8)
    assert mg.meta_nash_conv(game, solution).nash_conv < 1e-8


def test_zero_sum_nash_value_of_known_game():
    # Morra-like 2x2: A = [[2, -1], [-1, 1]]: x = (2/5, 3/5), y = (2/5, 3/5), value 1/5.
    solution = mg.solve_zero_sum(np.array([[2.0, -1.0], [-1.0, 1.0]]))
    np.testing.assert_allclose(solution.row, [0.4, 0.6], atol=1e-9)
    np.testing.assert_allclose(solution.column, [0.4, 0.6], atol=1e-9)
    assert solution.value == pytest.approx(0.2)


def test_zero_sum_nash_rejects_general_sum():
    with pytest.raises(ValueError, match="constant-sum"):
        mg.zero_sum_nash(PD)
    # Constant-sum up to float32 rounding (payoffs averaged from a JAX engine's returns) passes;
    # a sum off by 1e-4 does not.
    a = np.array([[0.7, 0.2], [0.4, 0.6]], np.float32)
    rounded = np.stack([a, 1.0 - a]).astype(np.float64)
    rounded[1, 0, 0] += 1e-7
    np.testing.assert_allclose(
        mg.zero_sum_nash(rounded)[0],
        mg.zero_sum_nash(rounded[:1].repeat(2, 0) * [[[1]], [[-1]]])[0],
    )
    rounded[1, 0, 0] += 1e-4
    with pytest.raises(ValueError, match=r"sums range over \[1, 1.0001"):
        mg.zero_sum_nash(rounded)


def test_max_entropy_nash_splits_duplicates_evenly():
    # RPS with rock duplicated: the Nash set is {(a, 1/3 - a, 1/3, 1/3)}; max entropy a = 1/6.
    dup = np.array([[0, 0, -1, 1], [0, 0, -1, 1], [1, 1, 0, -1], [-1, -1, 1, 0]], float)
    solution = mg.max_entropy_nash(dup)
    np.testing.assert_allclose(solution.row, [1 / 6, 1 / 6, 1 / 3, 1 / 3], atol=1e-6)
    np.testing.assert_allclose(solution.column, [1 / 6, 1 / 6, 1 / 3, 1 / 3], atol=1e-6)


def test_replicator_time_average_in_rps_is_uniform():
    strategies = mg.projected_replicator_dynamics(
        RPS_GAME, iterations=4000, dt=0.02, initial_strategies=SKEWED, average_over_last=4000
    )
    for s in strategies:
        np.testing.assert_allclose(s, np.full(3, 1 / 3), atol=0.03)


def test_replicator_defects_in_prisoners_dilemma():
    gamma = 1e-3
    row, col = mg.projected_replicator_dynamics(PD, iterations=2000, dt=0.05, gamma=gamma)
    # Defection dominates; cooperation is held at the exploration floor gamma / S.
    np.testing.assert_allclose(row, [gamma / 2, 1 - gamma / 2], atol=1e-9)
    np.testing.assert_allclose(col, [gamma / 2, 1 - gamma / 2], atol=1e-9)


@pytest.mark.parametrize("start, equilibrium", [(0.8, 0), (0.5, 1)])
def test_replicator_reaches_the_basin_equilibrium_in_stag_hunt(start, equilibrium):
    # Stag is a best response iff the other hunts stag with probability >= 3/4.
    init = [np.array([start, 1 - start])] * 2
    strategies = mg.projected_replicator_dynamics(
        STAG, iterations=2000, dt=0.05, gamma=0.0, initial_strategies=init
    )
    for s in strategies:
        assert s[equilibrium] > 0.999


def test_projection_is_euclidean_onto_the_floored_simplex():
    x = mg.project_to_floored_simplex(np.array([0.9, 0.5, -0.3]), 0.03)
    assert x.sum() == pytest.approx(1.0)
    assert x.min() >= 0.03 - 1e-12
    # Shifted by the floor: project (0.87, 0.47, -0.33) onto mass 0.91, theta = 0.215.
    np.testing.assert_allclose(x, [0.685, 0.285, 0.03])
    np.testing.assert_allclose(mg.project_to_floored_simplex(np.array([0.2, 0.8]), 0.1), [0.2, 0.8])


def test_regret_matching_average_is_nash_in_zero_sum():
    for game in (RPS_GAME, PENNIES):
        init = SKEWED if game.shape[1] == 3 else [np.array([0.9, 0.1])] * 2
        average = mg.regret_matching(game, iterations=3000, initial_strategies=init)
        assert mg.meta_nash_conv(game, average).nash_conv < 0.05


def test_regret_matching_defects_in_prisoners_dilemma():
    row, col = mg.regret_matching(PD, iterations=2000)
    assert row[1] > 0.99 and col[1] > 0.99


def test_regret_matching_in_shapley_game_cycles_but_averages_to_a_cce():
    run = mg.regret_matching_run(
        SHAPLEY, iterations=4000, initial_strategies=SKEWED, record_last=4000
    )
    # No last-iterate convergence (Shapley 1964): the iterates stay far from the uniform Nash
    # and keep cycling through all three pure strategies (the phases lengthen).
    late = run.last_iterates[1000:, :3]
    assert np.abs(late - 1 / 3).max(axis=1).min() > 0.3
    assert set(np.argmax(late, axis=1)) == {0, 1, 2}
    assert np.abs(run.last[0] - 1 / 3).max() > 0.3
    # The joint average is an epsilon-CCE with epsilon exactly the max average regret.
    gap = mg.cce_gap(SHAPLEY, run.joint_average)
    assert gap == pytest.approx(max(run.max_average_regret, 0.0), abs=1e-12)
    assert gap < 0.02


def test_max_gini_cce_of_chicken_is_the_closed_form():
    # Symmetry gives sigma = [[a, b], [b, c]]; the active constraint is b >= 2a (deviating to
    # Dare), so minimise a^2 + 2b^2 + c^2 on a + 2b + c = 1, b = 2a: a = 5/34, b = 10/34, c = 9/34.
    solution = mg.max_gini_cce(CHICKEN)
    np.testing.assert_allclose(solution.joint, np.array([[5, 10], [10, 9]]) / 34, atol=1e-6)
    assert solution.gap < 1e-8


def test_max_gini_cce_of_stag_hunt_is_the_closed_form():
    # Active constraint a >= 3b (deviating to Hare): a = 15/36, b = 5/36, c = 11/36.
    solution = mg.max_gini_cce(STAG)
    np.testing.assert_allclose(solution.joint, np.array([[15, 5], [5, 11]]) / 36, atol=1e-6)
    np.testing.assert_allclose(solution.marginals[0], [20 / 36, 16 / 36], atol=1e-6)


def test_max_gini_cce_of_shapley_is_uniform_and_of_pd_is_defect():
    # Shapley: the uniform joint is the product Nash and has the highest Gini of all joints.
    np.testing.assert_allclose(mg.max_gini_cce(SHAPLEY).joint, np.full((3, 3), 1 / 9), atol=1e-6)
    # PD: the only CCE is (D, D).
    np.testing.assert_allclose(mg.max_gini_cce(PD).joint, [[0, 0], [0, 1]], atol=1e-6)


def test_max_gini_cce_random_three_player_games_have_zero_gap():
    rng = np.random.default_rng(0)
    for _ in range(3):
        payoffs = rng.normal(size=(3, 3, 3, 3))
        solution = mg.max_gini_cce(payoffs)
        assert solution.gap < 1e-6
        assert mg.cce_gap(payoffs, solution.joint) == pytest.approx(solution.gap)


def test_max_gini_cce_refuses_huge_games():
    with pytest.raises(ValueError, match="max_joint_size"):
        mg.max_gini_cce(np.zeros((2, 40, 40)))


# ----------------------------------------------------------------------------- alpha-rank


@pytest.fixture(scope="module")
def openspiel_alpharank():
    """OpenSpiel's alpha-rank as an oracle; its plotting module needs matplotlib, so stub it."""
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


def test_fixation_probability_limits():
    m = 10
    assert mg.fixation_probability(0.0, 1.0, m) == pytest.approx(1 / m)
    # Neutral drift is the small-alpha limit; a strongly fitter mutant fixates w.p. 1 - e^-a d.
    assert mg.fixation_probability(1e-9, 1.0, m) == pytest.approx(1 / m, rel=1e-6)
    assert mg.fixation_probability(1.0, 1e4, m) == pytest.approx(1.0)
    assert mg.fixation_probability(-1.0, 1e4, m) == 0.0
    assert mg.fixation_probability(2.0, 0.5, m) == pytest.approx(
        (1 - np.exp(-1.0)) / (1 - np.exp(-10.0))
    )


def test_alpha_rank_rps_is_uniform():
    result = mg.alpha_rank(RPS_GAME, alpha=10.0, population_size=20)
    for marginal in result.marginals:
        np.testing.assert_allclose(marginal, np.full(3, 1 / 3), atol=1e-9)
    np.testing.assert_allclose(result.transition_matrix.sum(axis=1), 1.0)


def test_alpha_rank_puts_mass_on_dominant_strategies():
    ratings = np.array([3.0, 1.0, 2.0, 0.0])
    transitive = ratings[:, None] - ratings[None, :]
    result = mg.alpha_rank(np.stack([transitive, -transitive]))
    assert result.joint[0, 0] > 0.99
    assert mg.alpha_rank(PD).joint[1, 1] > 0.99


@pytest.mark.parametrize(
    "payoffs, alpha, m",
    [
        (RPS_GAME, 5.0, 10),
        (STAG, 0.5, 5),
        (np.random.default_rng(1).normal(size=(2, 3, 4)), 3.0, 15),
        (np.random.default_rng(2).normal(size=(3, 2, 3, 2)), 1.0, 10),
    ],
)
def test_alpha_rank_matches_openspiel(openspiel_alpharank, payoffs, alpha, m):
    _, _, pi, _, _ = openspiel_alpharank.compute(list(payoffs), m=m, alpha=alpha)
    ours = mg.alpha_rank(payoffs, alpha=alpha, population_size=m)
    np.testing.assert_allclose(ours.joint.ravel(), pi, atol=1e-9)


# ----------------------------------------------------------------------------- registry


def test_registry_solvers_return_distributions():
    assert set(mg.META_SOLVERS) == {
        "uniform",
        "projected_replicator_dynamics",
        "regret_matching",
        "zero_sum_nash",
        "max_gini_cce",
        "alpha_rank",
    }
    with pytest.raises(TypeError):
        mg.META_SOLVERS["mine"] = mg.uniform  # read-only
    for name, solver in mg.META_SOLVERS.items():
        strategies = solver(PENNIES)
        assert len(strategies) == 2, name
        for s in strategies:
            assert s.shape == (2,) and np.all(s >= 0) and s.sum() == pytest.approx(1.0), name
        np.testing.assert_allclose(strategies[0], [0.5, 0.5], atol=0.02, err_msg=name)


@pytest.mark.parametrize(
    "payoffs, match",
    [
        (np.zeros((2, 3)), "shape"),
        (np.zeros((3, 2, 2)), "first axis"),
        (np.zeros((2, 0, 2)), "at least one strategy"),
        (np.array([[[np.nan, 0.0]], [[0.0, 0.0]]]), "finite"),
        (np.array([[[np.inf, 0.0]], [[0.0, 0.0]]]), "finite"),
        ("abc", "real numbers"),
    ],
)
def test_solvers_reject_bad_payoffs(payoffs, match):
    for solver in mg.META_SOLVERS.values():
        with pytest.raises(ValueError, match=match):
            solver(payoffs)


def test_solvers_reject_bad_parameters():
    with pytest.raises(ValueError, match="iterations"):
        mg.projected_replicator_dynamics(PD, iterations=0)
    with pytest.raises(ValueError, match="gamma"):
        mg.projected_replicator_dynamics(PD, gamma=2.0)
    with pytest.raises(ValueError, match="strategies\\[1\\]"):
        mg.regret_matching(PD, initial_strategies=[np.array([0.5, 0.5]), np.array([1.0, 1.0])])
    with pytest.raises(ValueError, match="population_size"):
        mg.alpha_rank(PD, population_size=0)
    with pytest.raises(ValueError, match="alpha"):
        mg.alpha_rank(PD, alpha=-1.0)
