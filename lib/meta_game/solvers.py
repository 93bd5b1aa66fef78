"""Meta-solvers: pure functions from a meta-game payoff tensor to distributions over strategies.

An N-player meta-game is a payoff tensor `payoffs` float [N, S_1, ..., S_N]: payoffs[i, s_1,
..., s_N] is player i's expected payoff when player j plays its strategy s_j. Every solver in
`META_SOLVERS` maps it to N per-player distributions (float [S_i] each); the correlated
solvers (`max_gini_cce`, `alpha_rank`) also give the joint distribution [S_1, ..., S_N] through
their own result types. Formulas and papers are in docs/evaluators.md.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable, Sequence

import numpy as np
import scipy.optimize

from detente.lib.meta_game import _validation
from detente.lib.meta_game.exploitability import cce_gap

Distributions = tuple[np.ndarray, ...]


# ----------------------------------------------------------------------------- uniform


def uniform(payoffs) -> Distributions:
    """The uniform distribution over each player's strategies (fictitious play in PSRO).

    Args:
      payoffs: float [N, S_1, ..., S_N].

    Returns:
      N arrays, the i-th float [S_i] filled with 1 / S_i.
    """
    payoffs = _validation.check_payoffs(payoffs)
    return tuple(np.full(size, 1.0 / size) for size in payoffs.shape[1:])


# ----------------------------------------------------------------------------- replicator


def _initial(payoffs: np.ndarray, initial_strategies: Sequence | None) -> list[np.ndarray]:
    if initial_strategies is None:
        return list(uniform(payoffs))
    return _validation.check_strategies(initial_strategies, payoffs.shape[1:])


def project_to_floored_simplex(vector, floor: float) -> np.ndarray:
    """Euclidean projection onto {x : x_k >= floor, sum_k x_k = 1}.

    Subtracting the floor turns it into the projection onto the simplex of mass 1 - S * floor
    (Duchi et al. 2008, "Efficient projections onto the l1-ball", Fig. 1).

    Args:
      vector: float [S].
      floor: the smallest allowed probability, 0 <= floor <= 1 / S.

    Returns:
      float [S].
    """
    vector = np.asarray(vector, dtype=np.float64)
    size = vector.shape[0]
    if not 0.0 <= floor <= 1.0 / size:
        raise ValueError(f"floor must lie in [0, 1/S] = [0, {1.0 / size:.3g}]; got {floor}")
    on_plane = vector - (vector.sum() - 1.0) / size
    if on_plane.min() >= floor:  # already inside: only the sum's rounding to correct
        return on_plane
    mass = 1.0 - size * floor
    shifted = vector - floor
    ordered = np.sort(shifted)[::-1]
    cumulative = np.cumsum(ordered) - mass
    ranks = np.arange(1, size + 1)
    rho = np.nonzero(ordered - cumulative / ranks > 0)[0][-1]
    theta = cumulative[rho] / (rho + 1)
    return np.maximum(shifted - theta, 0.0) + floor


def projected_replicator_dynamics(
    payoffs,
    *,
    iterations: int = 10_000,
    dt: float = 1e-2,
    gamma: float = 1e-6,
    average_over_last: int | None = None,
    initial_strategies: Sequence | None = None,
) -> Distributions:
    """Projected replicator dynamics (PRD), the meta-solver of PSRO.

    Lanctot et al. 2017, "A unified game-theoretic approach to multiagent reinforcement
    learning", Sec. 3.2 and App. A: every player follows the Euler-discretised replicator
    dynamics x_k <- x_k + dt * x_k (u(k, x_-i) - u(x)), simultaneously, and is then projected
    back onto the exploratory simplex {x : x_k >= gamma / S_i} so every strategy keeps being
    played.

    Args:
      payoffs: float [N, S_1, ..., S_N].
      iterations: number of Euler steps.
      dt: step size.
      gamma: exploration; every probability stays >= gamma / S_i. 0 <= gamma <= 1.
      average_over_last: if given, return the mean of the last this many iterates (the time
        average converges to the interior Nash in zero-sum games where the last iterate cycles);
        by default the last iterate.
      initial_strategies: N distributions to start from; uniform by default.

    Returns:
      N arrays, the i-th float [S_i].
    """
    payoffs = _validation.check_payoffs(payoffs)
    iterations = _validation.check_positive_int(iterations, "iterations")
    dt = _validation.check_nonnegative_float(dt, "dt")
    gamma = _validation.check_nonnegative_float(gamma, "gamma")
    if gamma > 1.0:
        raise ValueError(f"gamma must lie in [0, 1]; got {gamma}")
    window = iterations if average_over_last is None else average_over_last
    window = _validation.check_positive_int(window, "average_over_last")
    if window > iterations:
        raise ValueError(f"average_over_last must be <= iterations ({iterations}); got {window}")
    strategies = _initial(payoffs, initial_strategies)
    floors = [gamma / size for size in payoffs.shape[1:]]
    totals = [np.zeros_like(s) for s in strategies]
    for step in range(iterations):
        updated = []
        for player, strategy in enumerate(strategies):
            values = _validation.deviation_values(payoffs, strategies, player)
            delta = strategy * (values - values @ strategy)
            updated.append(project_to_floored_simplex(strategy + dt * delta, floors[player]))
        strategies = updated
        if step >= iterations - window:
            for total, strategy in zip(totals, strategies, strict=True):
                total += strategy
    if average_over_last is None:
        return tuple(strategies)
    return tuple(total / window for total in totals)


# ----------------------------------------------------------------------------- regret matching


@dataclasses.dataclass(frozen=True)
class RegretMatchingRun:
    """The trajectory summary of simultaneous regret matching.

    Attributes:
      average: N arrays float [S_i], each player's average strategy over the iterations.
      last: N arrays float [S_i], the last iterate.
      joint_average: float [S_1, ..., S_N], the average over iterations of the product of the
        players' strategies: an epsilon-CCE with epsilon = max average regret (Hart &
        Mas-Colell 2000).
      max_average_regret: max over players and strategies of cumulative regret / iterations.
      last_iterates: float [W, sum_i S_i], the concatenated strategies of the last W iterates
        (W = `record_last`), to study last-iterate behaviour.
    """

    average: Distributions
    last: Distributions
    joint_average: np.ndarray
    max_average_regret: float
    last_iterates: np.ndarray


def _regret_matching_strategy(regrets: np.ndarray) -> np.ndarray:
    positive = np.maximum(regrets, 0.0)
    total = positive.sum()
    if total <= 0.0:
        return np.full(regrets.shape, 1.0 / regrets.shape[0])
    return positive / total


def regret_matching_run(
    payoffs,
    *,
    iterations: int = 10_000,
    initial_strategies: Sequence | None = None,
    record_last: int = 100,
) -> RegretMatchingRun:
    """Simultaneous regret matching on expected payoffs, keeping averages and the last iterates.

    Hart & Mas-Colell 2000, "A simple adaptive procedure leading to correlated equilibrium",
    in its unconditional (external-regret) form with full information: at every iteration
    each player plays x_i proportional to the positive part of its cumulative regrets
    R_i(k) = sum_t [u_i(k, x_-i^t) - u_i(x^t)] (uniform when none is positive). The average
    joint play converges to the set of coarse correlated equilibria; in two-player zero-sum
    games the average strategies converge to a Nash equilibrium. The last iterate need not
    converge (it cycles in Shapley's game).

    Args:
      payoffs: float [N, S_1, ..., S_N].
      iterations: number of iterations T.
      initial_strategies: the first iterate; uniform by default.
      record_last: how many final iterates to keep in `last_iterates`.

    Returns:
      A `RegretMatchingRun`.
    """
    payoffs = _validation.check_payoffs(payoffs)
    iterations = _validation.check_positive_int(iterations, "iterations")
    record_last = min(_validation.check_positive_int(record_last, "record_last"), iterations)
    strategies = _initial(payoffs, initial_strategies)
    regrets = [np.zeros_like(s) for s in strategies]
    totals = [np.zeros_like(s) for s in strategies]
    joint_total = np.zeros(payoffs.shape[1:])
    recorded = []
    for step in range(iterations):
        if step > 0:
            strategies = [_regret_matching_strategy(r) for r in regrets]
        for player, strategy in enumerate(strategies):
            values = _validation.deviation_values(payoffs, strategies, player)
            regrets[player] += values - values @ strategy
            totals[player] += strategy
        joint = strategies[0]
        for strategy in strategies[1:]:
            joint = np.multiply.outer(joint, strategy)
        joint_total += joint
        if step >= iterations - record_last:
            recorded.append(np.concatenate(strategies))
    return RegretMatchingRun(
        average=tuple(t / iterations for t in totals),
        last=tuple(strategies),
        joint_average=joint_total / iterations,
        max_average_regret=float(max(r.max() for r in regrets) / iterations),
        last_iterates=np.stack(recorded),
    )


def regret_matching(
    payoffs, *, iterations: int = 10_000, initial_strategies: Sequence | None = None
) -> Distributions:
    """Regret matching's average strategies (Hart & Mas-Colell 2000); see `regret_matching_run`.

    Args:
      payoffs: float [N, S_1, ..., S_N].
      iterations: number of iterations.
      initial_strategies: the first iterate; uniform by default.

    Returns:
      N arrays, the i-th float [S_i].
    """
    run = regret_matching_run(
        payoffs, iterations=iterations, initial_strategies=initial_strategies, record_last=1
    )
    return run.average


# ----------------------------------------------------------------------------- zero-sum Nash


@dataclasses.dataclass(frozen=True)
class ZeroSumSolution:
    """A Nash equilibrium of a two-player zero-sum matrix game (row maximises x^T A y).

    Attributes:
      row: float [R], the row player's maximin strategy.
      column: float [C], the column player's minimax strategy.
      value: the game value for the row player.
    """

    row: np.ndarray
    column: np.ndarray
    value: float


def _clean(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, None)
    return x / x.sum()


def _maximin(matrix: np.ndarray) -> tuple[np.ndarray, float]:
    """max_x min_j (A^T x)_j over the simplex, by the textbook LP (von Neumann 1928)."""
    rows, cols = matrix.shape
    # Variables (x_1..x_R, v); minimise -v s.t. v - (A^T x)_j <= 0, sum x = 1.
    cost = np.zeros(rows + 1)
    cost[-1] = -1.0
    upper = np.hstack([-matrix.T, np.ones((cols, 1))])
    equality = np.hstack([np.ones((1, rows)), np.zeros((1, 1))])
    bounds = [(0.0, None)] * rows + [(None, None)]
    result = scipy.optimize.linprog(
        cost, A_ub=upper, b_ub=np.zeros(cols), A_eq=equality, b_eq=[1.0], bounds=bounds,
        method="highs",
    )  # fmt: skip
    if result.status != 0:
        raise RuntimeError(f"the Nash linear program failed: {result.message}")
    x = _clean(result.x[:rows])
    return x, float(np.min(matrix.T @ x))


def solve_zero_sum(matrix) -> ZeroSumSolution:
    """A Nash equilibrium of the zero-sum game with row payoffs `matrix`, by linear programming.

    Args:
      matrix: float [R, C], the row player's payoff; the column player gets its negative.

    Returns:
      A `ZeroSumSolution` (one vertex of the equilibrium set; see `max_entropy_nash` for the
      unique maximum-entropy one).
    """
    matrix = _validation.check_matrix(matrix, "matrix")
    row, value = _maximin(matrix)
    column, _ = _maximin(-matrix.T)
    return ZeroSumSolution(row=row, column=column, value=value)


def _entropy(x: np.ndarray) -> float:
    positive = x[x > 0]
    return float(-(positive * np.log(positive)).sum())


def _max_entropy_maximin(
    matrix: np.ndarray, tolerance: float, support_threshold: float
) -> np.ndarray:
    """The maximum-entropy strategy in the row player's maximin polytope of `matrix`."""
    rows = matrix.shape[0]
    first, value = _maximin(matrix)
    scale = max(1.0, float(np.max(np.abs(matrix))))
    slack = tolerance * scale
    # The maximin set {x in simplex : A^T x >= v}. Grow its largest support: maximise the mass on
    # strategies not yet seen in any maximin strategy until no new strategy can get any.
    points = [first]
    support = first > support_threshold
    bounds = [(0.0, None)] * rows
    while not support.all():
        cost = -(~support).astype(np.float64)
        result = scipy.optimize.linprog(
            cost, A_ub=-matrix.T, b_ub=-(value - slack) * np.ones(matrix.shape[1]),
            A_eq=np.ones((1, rows)), b_eq=[1.0], bounds=bounds, method="highs",
        )  # fmt: skip
        if result.status != 0:
            break
        point = _clean(result.x)
        new = (point > support_threshold) & ~support
        if not new.any():
            break
        points.append(point)
        support |= new
    start = np.mean(points, axis=0)[support]
    face = matrix[support]
    # Maximise entropy on the face; the start is strictly positive there, so log stays finite.
    result = scipy.optimize.minimize(
        lambda x: float(np.sum(x * np.log(np.maximum(x, 1e-300)))),
        start,
        jac=lambda x: np.log(np.maximum(x, 1e-300)) + 1.0,
        bounds=[(0.0, 1.0)] * int(support.sum()),
        constraints=[
            {"type": "eq", "fun": lambda x: np.array([x.sum() - 1.0]),
             "jac": lambda x: np.ones((1, x.shape[0]))},
            {"type": "ineq", "fun": lambda x: face.T @ x - value + slack,
             "jac": lambda x: face.T},
        ],
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 500},
    )  # fmt: skip
    candidate = np.zeros(rows)
    candidate[support] = np.clip(result.x, 0.0, None)
    candidate /= candidate.sum()
    fallback = np.zeros(rows)
    fallback[support] = start
    feasible = np.min(matrix.T @ candidate) >= value - 10 * slack
    if feasible and _entropy(candidate) >= _entropy(fallback) - 1e-12:
        return candidate
    return fallback


def max_entropy_nash(
    matrix, *, tolerance: float = 1e-9, support_threshold: float = 1e-7
) -> ZeroSumSolution:
    """The maximum-entropy Nash equilibrium of a two-player zero-sum matrix game.

    The equilibrium set of a zero-sum game is a product of two polytopes, so the entropy
    maximiser is unique (Balduzzi et al. 2018, "Re-evaluating evaluation", Prop. 1). Method:
    the game value by LP; the largest support of the maximin polytope by a few LPs that push
    mass onto strategies no maximin strategy found so far uses; entropy maximised on that face
    by SLSQP from a strictly positive start. If SLSQP returns a worse or infeasible point the
    strictly positive start (an equilibrium of maximal support) is returned instead.

    Args:
      matrix: float [R, C], the row player's payoff.
      tolerance: equilibrium slack relative to max |A| (payoff units).
      support_threshold: a probability above this marks a strategy as in the support.

    Returns:
      A `ZeroSumSolution`.
    """
    matrix = _validation.check_matrix(matrix, "matrix")
    row = _max_entropy_maximin(matrix, tolerance, support_threshold)
    column = _max_entropy_maximin(-matrix.T, tolerance, support_threshold)
    return ZeroSumSolution(row=row, column=column, value=float(row @ matrix @ column))


def zero_sum_nash(payoffs, *, atol: float = 1e-6) -> Distributions:
    """A Nash equilibrium of a two-player zero-sum (or constant-sum) meta-game, by LP.

    Args:
      payoffs: float [2, S_1, S_2] with payoffs[0] + payoffs[1] constant.
      atol: tolerance of the constant-sum check, relative to the largest payoff (at least 1).
        The default lets through the rounding of payoffs averaged from float32 returns (a
        JAX engine's sampled matches), whose sums differ from the constant in the 7th digit.

    Returns:
      (row strategy float [S_1], column strategy float [S_2]).

    Raises:
      ValueError: if the game is not two-player constant-sum.
    """
    payoffs = _validation.check_two_player(payoffs)
    total = payoffs[0] + payoffs[1]
    if np.max(total) - np.min(total) > atol * max(1.0, float(np.max(np.abs(payoffs)))):
        raise ValueError(
            "zero_sum_nash needs a constant-sum game (payoffs[0] + payoffs[1] constant); the "
            f"sums range over [{np.min(total):.9g}, {np.max(total):.9g}]. Use max_gini_cce or "
            "alpha_rank for general-sum games"
        )
    solution = solve_zero_sum(payoffs[0])
    return solution.row, solution.column


# ----------------------------------------------------------------------------- max-Gini CCE


@dataclasses.dataclass(frozen=True)
class CorrelatedSolution:
    """A joint distribution over strategy profiles and its per-player marginals.

    Attributes:
      joint: float [S_1, ..., S_N].
      marginals: N arrays, the i-th float [S_i].
      gap: the CCE gap of `joint` (`detente.lib.meta_game.cce_gap`).
    """

    joint: np.ndarray
    marginals: Distributions
    gap: float


def _marginals(joint: np.ndarray) -> Distributions:
    axes = range(joint.ndim)
    return tuple(joint.sum(axis=tuple(a for a in axes if a != i)) for i in axes)


def _cce_constraints(payoffs: np.ndarray) -> np.ndarray:
    """G [sum_i S_i, prod S]: (G sigma)_(i, s') = the gain of player i deviating to s'."""
    shape = payoffs.shape[1:]
    rows = []
    for player, size in enumerate(shape):
        for deviation in range(size):
            deviated = np.take(payoffs[player], [deviation], axis=player)  # broadcast over s_i
            rows.append((np.broadcast_to(deviated, shape) - payoffs[player]).ravel())
    return np.stack(rows)


def max_gini_cce(
    payoffs, *, max_joint_size: int = 1024, gap_tolerance: float = 1e-6
) -> CorrelatedSolution:
    """The maximum-Gini coarse correlated equilibrium of an N-player general-sum meta-game.

    Marris et al. 2021, "Multi-agent training beyond zero-sum with correlated equilibrium
    meta-solvers", Sec. 3: maximise 1 - sum_a sigma(a)^2 subject to the CCE constraints
    sum_a sigma(a) [u_i(s', a_-i) - u_i(a)] <= 0 for every player i and strategy s', and sigma
    in the simplex. The objective is strictly concave, so the solution is unique. Solved as a
    quadratic program with SLSQP (exact gradients and constraint Jacobians), then checked.

    Args:
      payoffs: float [N, S_1, ..., S_N].
      max_joint_size: refuse games with more joint profiles than this (the QP is dense).
      gap_tolerance: raise if the solution's CCE gap exceeds this (relative to max |payoff|).

    Returns:
      A `CorrelatedSolution`.

    Raises:
      ValueError: on a malformed tensor or more than `max_joint_size` joint profiles.
      RuntimeError: if the QP solver does not reach a CCE within `gap_tolerance`.
    """
    payoffs = _validation.check_payoffs(payoffs)
    shape = payoffs.shape[1:]
    size = int(np.prod(shape))
    if size > max_joint_size:
        raise ValueError(
            f"max_gini_cce solves a dense QP over all {size} joint profiles; at most "
            f"max_joint_size={max_joint_size} are accepted (raise it deliberately)"
        )
    scale = max(1.0, float(np.max(np.abs(payoffs))))
    gains = _cce_constraints(payoffs) / scale
    result = scipy.optimize.minimize(
        lambda x: float(x @ x),
        np.full(size, 1.0 / size),
        jac=lambda x: 2.0 * x,
        bounds=[(0.0, 1.0)] * size,
        constraints=[
            {"type": "eq", "fun": lambda x: np.array([x.sum() - 1.0]),
             "jac": lambda x: np.ones((1, x.shape[0]))},
            {"type": "ineq", "fun": lambda x: -(gains @ x), "jac": lambda x: -gains},
        ],
        method="SLSQP",
        options={"ftol": 1e-15, "maxiter": 1000},
    )  # fmt: skip
    joint = _clean(result.x).reshape(shape)
    gap = cce_gap(payoffs, joint)
    if gap > gap_tolerance * scale:
        raise RuntimeError(
            f"max_gini_cce: the QP solver stopped at CCE gap {gap:.3g} > {gap_tolerance:.3g} "
            f"({result.message})"
        )
    return CorrelatedSolution(joint=joint, marginals=_marginals(joint), gap=gap)


def max_gini_cce_marginals(payoffs) -> Distributions:
    """The per-player marginals of `max_gini_cce` (the registry's form).

    Args:
      payoffs: float [N, S_1, ..., S_N].

    Returns:
      N arrays, the i-th float [S_i].
    """
    return max_gini_cce(payoffs).marginals


# ----------------------------------------------------------------------------- alpha-rank


@dataclasses.dataclass(frozen=True)
class AlphaRankResult:
    """The alpha-rank stationary distribution.

    Attributes:
      joint: float [S_1, ..., S_N], the stationary distribution over joint strategy profiles.
      marginals: N arrays, the i-th float [S_i]: player i's strategies' mass.
      transition_matrix: float [P, P], the Markov chain over the P = prod S_i profiles
        (C-order: the last player's strategy varies fastest), rows summing to 1.
    """

    joint: np.ndarray
    marginals: Distributions
    transition_matrix: np.ndarray


def fixation_probability(payoff_gain, alpha: float, population_size: int) -> np.ndarray:
    """Probability that one mutant takes over a population of residents (Fermi selection).

    rho = (1 - exp(-alpha * d)) / (1 - exp(-m * alpha * d)) with d = f_mutant - f_resident, and
    1 / m when d = 0 (Omidshafiei et al. 2019, "alpha-Rank: multi-agent evaluation by
    evolution", eq. 5, multi-population form). Computed with expm1 so that large alpha neither
    overflows nor loses precision.

    Args:
      payoff_gain: float [...], d.
      alpha: selection intensity >= 0.
      population_size: m >= 1.

    Returns:
      float [...].
    """
    x = alpha * np.asarray(payoff_gain, dtype=np.float64)
    m = population_size
    out = np.full(x.shape, 1.0 / m)
    positive = x > 1e-14
    negative = x < -1e-14
    xp = x[positive]
    out[positive] = np.expm1(-xp) / np.expm1(-m * xp)
    xn = x[negative]
    # (e^-x - 1)/(e^-mx - 1) = e^{(m-1)x} (1 - e^x)/(1 - e^{mx}) for x < 0.
    out[negative] = np.exp((m - 1) * xn) * np.expm1(xn) / np.expm1(m * xn)
    return out


def alpha_rank(payoffs, *, alpha: float = 100.0, population_size: int = 50) -> AlphaRankResult:
    """Alpha-rank (Omidshafiei et al. 2019) for an N-player general-sum meta-game.

    Multi-population model: one population of size m per player, each monomorphic at a time. In
    profile s, a mutant strategy k of player i appears with probability eta = 1 / sum_j (S_j - 1)
    and fixates with `fixation_probability(u_i(k, s_-i) - u_i(s))`; the stationary distribution
    of this Markov chain ranks the profiles. It agrees with open_spiel.python.egt.alpharank's
    multi-population model.

    Args:
      payoffs: float [N, S_1, ..., S_N].
      alpha: selection intensity (the ranking-intensity parameter), >= 0.
      population_size: m, >= 1.

    Returns:
      An `AlphaRankResult`.

    Raises:
      ValueError: on a malformed tensor, a bad parameter, or a chain with several stationary
        distributions (alpha so large that the chain is numerically reducible: lower it).
    """
    payoffs = _validation.check_payoffs(payoffs)
    alpha = _validation.check_nonnegative_float(alpha, "alpha")
    population_size = _validation.check_positive_int(population_size, "population_size")
    shape = payoffs.shape[1:]
    num_profiles = int(np.prod(shape))
    if num_profiles == 1:
        joint = np.ones(shape)
        return AlphaRankResult(joint, _marginals(joint), np.ones((1, 1)))
    eta = 1.0 / sum(size - 1 for size in shape)
    profiles = np.arange(num_profiles).reshape(shape)
    transitions = np.zeros((num_profiles, num_profiles))
    for player, size in enumerate(shape):
        for mutant in range(size):
            target = np.take(profiles, [mutant], axis=player)  # mutant profile of each profile
            target = np.broadcast_to(target, shape)
            mutant_payoff = np.broadcast_to(np.take(payoffs[player], [mutant], axis=player), shape)
            rho = fixation_probability(mutant_payoff - payoffs[player], alpha, population_size)
            moves = target != profiles
            transitions[profiles[moves], target[moves]] += eta * rho[moves]
    transitions[np.arange(num_profiles), np.arange(num_profiles)] = 1.0 - transitions.sum(axis=1)
    eigenvalues, eigenvectors = np.linalg.eig(transitions.T)
    near_one = np.abs(eigenvalues - 1.0) < 1e-10
    if near_one.sum() != 1:
        raise ValueError(
            f"alpha_rank: the Markov chain has {int(near_one.sum())} stationary distributions "
            f"at alpha={alpha}, population_size={population_size}; lower alpha"
        )
    stationary = np.real(eigenvectors[:, np.argmax(near_one)])
    stationary = _clean(stationary / stationary.sum())
    joint = stationary.reshape(shape)
    return AlphaRankResult(joint=joint, marginals=_marginals(joint), transition_matrix=transitions)


def alpha_rank_marginals(payoffs) -> Distributions:
    """The per-player marginals of `alpha_rank` with its default parameters (registry form).

    Args:
      payoffs: float [N, S_1, ..., S_N].

    Returns:
      N arrays, the i-th float [S_i].
    """
    return alpha_rank(payoffs).marginals


MetaSolver = Callable[[np.ndarray], Distributions]

META_SOLVERS: types.MappingProxyType[str, MetaSolver] = types.MappingProxyType(
    {
        "uniform": uniform,
        "projected_replicator_dynamics": projected_replicator_dynamics,
        "regret_matching": regret_matching,
        "zero_sum_nash": zero_sum_nash,
        "max_gini_cce": max_gini_cce_marginals,
        "alpha_rank": alpha_rank_marginals,
    }
)
"""Read-only registry: name -> meta-solver payoffs [N, S_1..S_N] -> N distributions [S_i]."""
