"""Whole-table evaluators: single-population alpha-rank, response graphs and full analyses.

These compose the measures of `solvers`, `exploitability` and `cycles` into the two reports
that `detente evaluate` and `detente report` print: `analyse_population` for a population table
[S, S] and `analyse_meta_game` for an N-player meta-game [N, S_1, ..., S_N]. Formulas and
papers are in docs/evaluators.md.

Dimension names: S population members, N players, P joint profiles, E response-graph edges.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np

from detente.lib.meta_game import _validation
from detente.lib.meta_game.cycles import (
    effective_diversity,
    fit_melo,
    hodge_decomposition,
    intransitive_triples,
    nash_averaging,
    nash_clustering,
)
from detente.lib.meta_game.exploitability import cce_gap, meta_nash_conv
from detente.lib.meta_game.solvers import (
    AlphaRankResult,
    alpha_rank,
    max_entropy_nash,
    max_gini_cce,
)

# ----------------------------------------------------------------------- single population


def _single_population_fixation(
    table: np.ndarray, alpha: float, population_size: int
) -> np.ndarray:
    """rho[s, r]: fixation probability of one r mutant in a population of s (r != s)."""
    m = population_size
    size = table.shape[0]
    rho = np.zeros((size, size))
    if m == 1:
        rho[:] = 1.0
        return rho
    mutants = np.arange(1, m)  # p: number of r players while the mutant spreads
    for s, r in itertools.permutations(range(size), 2):
        # Fitness against the rest of the population (no self-play): OpenSpiel's
        # _get_singlepop_2player_fitness, with p r-players and m - p s-players.
        f_r = ((mutants - 1) * table[r, r] + (m - mutants) * table[r, s]) / (m - 1)
        f_s = ((m - mutants - 1) * table[s, s] + mutants * table[s, r]) / (m - 1)
        # rho = 1 / (1 + sum_l prod_{p <= l} exp(-alpha (f_r - f_s))), in log space.
        log_terms = np.cumsum(-alpha * (f_r - f_s))
        top = max(0.0, float(log_terms.max()))
        rho[s, r] = math.exp(-top) / (math.exp(-top) + float(np.exp(log_terms - top).sum()))
    return rho


def alpha_rank_single_population(
    table, *, alpha: float = 100.0, population_size: int = 50
) -> AlphaRankResult:
    """Single-population alpha-rank of a symmetric two-player game.

    Omidshafiei et al. 2019, "alpha-Rank: multi-agent evaluation by evolution", Sec. 3.1 (the
    single-population model): one population of m individuals, monomorphic at a time. In the
    population of s a mutant r appears with probability eta = 1 / (S - 1) and takes over with
    the Moran-process fixation probability
    rho = [1 + sum_{l=1}^{m-1} prod_{p=1}^{l} exp(-alpha (f_r(p) - f_s(m - p)))]^{-1}, where
    f_r(p) = ((p - 1) M[r, r] + (m - p) M[r, s]) / (m - 1) is the fitness of an r among p
    r-players (no self-play) and f_s likewise. The same model as
    `open_spiel.python.egt.alpharank.compute([M])` (tested equal).

    Args:
      table: float [S, S], M[i, j] = the payoff of member i against member j (the game is
        symmetric: the column member gets M[j, i]).
      alpha: selection intensity >= 0.
      population_size: m >= 1.

    Returns:
      An `AlphaRankResult` whose `joint` and single marginal are float [S] and whose
      `transition_matrix` is float [S, S] (rows sum to 1).

    Raises:
      ValueError: a malformed table or parameter, or a numerically reducible chain.
    """
    table = _validation.check_matrix(table, "table", square=True)
    alpha = _validation.check_nonnegative_float(alpha, "alpha")
    population_size = _validation.check_positive_int(population_size, "population_size")
    size = table.shape[0]
    if size == 1:
        return AlphaRankResult(np.ones(1), (np.ones(1),), np.ones((1, 1)))
    transitions = _single_population_fixation(table, alpha, population_size) / (size - 1)
    np.fill_diagonal(transitions, 0.0)
    np.fill_diagonal(transitions, 1.0 - transitions.sum(axis=1))
    eigenvalues, eigenvectors = np.linalg.eig(transitions.T)
    near_one = np.abs(eigenvalues - 1.0) < 1e-10
    if near_one.sum() != 1:
        raise ValueError(
            f"alpha_rank_single_population: the Markov chain has {int(near_one.sum())} "
            f"stationary distributions at alpha={alpha}, population_size={population_size}; "
            "lower alpha"
        )
    stationary = np.real(eigenvectors[:, np.argmax(near_one)])
    stationary = np.clip(stationary / stationary.sum(), 0.0, None)
    stationary /= stationary.sum()
    return AlphaRankResult(joint=stationary, marginals=(stationary,), transition_matrix=transitions)


# ----------------------------------------------------------------------- response graph


@dataclasses.dataclass(frozen=True)
class ResponseGraph:
    """The alpha-rank response graph: profiles with their mass, edges above neutral drift.

    Attributes:
      profiles: int [P, N], the strategy index of every player in each node (C order; N = 1
        for the single-population model).
      mass: float [P], the stationary distribution.
      sources: int [E], edge tails (node indices).
      targets: int [E], edge heads.
      weights: float [E], the transition probability eta * rho of each edge.
      threshold: the transition probability an edge had to exceed.
    """

    profiles: np.ndarray
    mass: np.ndarray
    sources: np.ndarray
    targets: np.ndarray
    weights: np.ndarray
    threshold: float


def response_graph(
    ranking: AlphaRankResult, *, population_size: int = 50, threshold: float | None = None
) -> ResponseGraph:
    """The response graph of an alpha-rank result (Omidshafiei et al. 2019, Fig. 2).

    Node = joint profile, weighted by its stationary mass; edge s -> t when the chain moves
    from s to t with probability C[s, t] above `threshold`. The default threshold keeps the
    moves that selection favours: eta / m, the probability of a neutral mutant (rho = 1 / m);
    eta is read off the chain as the largest possible move probability per mutant, i.e.
    1 / sum_j (S_j - 1).

    Args:
      ranking: an `AlphaRankResult` (`alpha_rank` or `alpha_rank_single_population`).
      population_size: the m the ranking was computed with.
      threshold: keep edges with C[s, t] > threshold (None: eta / m).

    Returns:
      A `ResponseGraph`.
    """
    shape = np.shape(ranking.joint)
    population_size = _validation.check_positive_int(population_size, "population_size")
    transitions = np.asarray(ranking.transition_matrix, dtype=np.float64)
    num_profiles = int(np.prod(shape))
    if transitions.shape != (num_profiles, num_profiles):
        raise ValueError(
            f"ranking.transition_matrix must be [{num_profiles}, {num_profiles}] for a joint of "
            f"shape {shape}; got {transitions.shape}"
        )
    if threshold is None:
        mutants = sum(size - 1 for size in shape)
        threshold = (1.0 / mutants if mutants else 1.0) / population_size
    off = transitions.copy()
    np.fill_diagonal(off, 0.0)
    sources, targets = np.nonzero(off > threshold * (1 + 1e-9))
    profiles = np.array(list(np.ndindex(*shape)), dtype=np.int64).reshape(num_profiles, -1)
    return ResponseGraph(
        profiles=profiles,
        mass=np.asarray(ranking.joint, dtype=np.float64).reshape(-1),
        sources=sources,
        targets=targets,
        weights=off[sources, targets],
        threshold=float(threshold),
    )


# ----------------------------------------------------------------------- whole analyses


@dataclasses.dataclass(frozen=True)
class PopulationAnalysis:
    """Every strategy-cycle measure of one antisymmetric population table A [S, S].

    Attributes:
      antisymmetric: float [S, S], the table analysed.
      transitive_fraction: Hodge share of ||A||^2 in grad(r).
      cyclic_fraction: Hodge share of ||A||^2 in rot(A).
      hodge_ratings: float [S], r = div(A), the mean advantage.
      triples: intransitive triples (count).
      triples_total: C(S, 3).
      triples_fraction: count / C(S, 3) (0 when S < 3).
      cluster_sizes: int [L], Nash-clustering layer sizes (the spinning-top profile).
      cluster_layers: L int arrays, member indices of each layer.
      rpp_to_next: float [L - 1], RPP of layer l against layer l + 1.
      effective_diversity: p^T floor(A)_+ p at the maximum-entropy Nash p.
      nash: float [S], the maximum-entropy Nash (Nash averaging's p).
      nash_ratings: float [S], Nash-averaging ratings A p.
      nash_conv: meta NashConv of (p, p) in the zero-sum game [A, -A] (~0: a solver check).
      alpha_rank: float [S], single-population alpha-rank mass of A.
      ranking: the full single-population `AlphaRankResult` (for the response graph).
      win_probabilities: float [S, S], the table mElo was fitted to.
      elo_rmse: RMSE of plain Elo (mElo k = 0) on `win_probabilities`.
      melo2_rmse: RMSE of mElo2 (k = 1).
      elo_log_loss: Elo's mean binary cross-entropy.
      melo2_log_loss: mElo2's mean binary cross-entropy.
    """

    antisymmetric: np.ndarray
    transitive_fraction: float
    cyclic_fraction: float
    hodge_ratings: np.ndarray
    triples: int
    triples_total: int
    triples_fraction: float
    cluster_sizes: np.ndarray
    cluster_layers: tuple[np.ndarray, ...]
    rpp_to_next: np.ndarray
    effective_diversity: float
    nash: np.ndarray
    nash_ratings: np.ndarray
    nash_conv: float
    alpha_rank: np.ndarray
    ranking: AlphaRankResult
    win_probabilities: np.ndarray
    elo_rmse: float
    melo2_rmse: float
    elo_log_loss: float
    melo2_log_loss: float


def win_probabilities_from_antisymmetric(table, *, kind: str = "payoff") -> np.ndarray:
    """The win-probability table mElo is fitted to.

    For `kind="win_rate"` the table is A = W - 1/2 and W = A + 1/2 exactly. For
    `kind="payoff"`, P = 1/2 + A / (2 max |A|): advantages rescaled into [0, 1] with
    P + P^T = 1 (exact win probabilities for win/loss payoffs of +-1 without draws).

    Args:
      table: float [S, S], antisymmetric.
      kind: "payoff" or "win_rate".

    Returns:
      float [S, S] in [0, 1].
    """
    table = _validation.check_antisymmetric(table)
    if kind == "win_rate":
        return np.clip(table + 0.5, 0.0, 1.0)
    if kind != "payoff":
        raise ValueError(f"kind must be 'payoff' or 'win_rate', got {kind!r}")
    scale = float(np.max(np.abs(table)))
    return 0.5 + table / (2.0 * scale) if scale > 0 else np.full(table.shape, 0.5)


def analyse_population(
    table,
    *,
    kind: str = "payoff",
    alpha: float = 100.0,
    population_size: int = 50,
    melo_steps: int = 2000,
    seed: int = 0,
) -> PopulationAnalysis:
    """Runs every strategy-cycle measure on an antisymmetric population table.

    Args:
      table: float [S, S], antisymmetric (use `antisymmetrize`, `win_rate_to_antisymmetric` or
        `symmetric_reduction` first).
      kind: what A came from ("payoff" or "win_rate"), for the mElo win probabilities.
      alpha: alpha-rank's selection intensity.
      population_size: alpha-rank's m.
      melo_steps: Adam steps of each mElo fit.
      seed: mElo's initialisation seed.

    Returns:
      A `PopulationAnalysis`.

    Raises:
      ValueError: a table that is not square, finite and antisymmetric.
    """
    table = _validation.check_antisymmetric(table)
    size = table.shape[0]
    hodge = hodge_decomposition(table)
    triples = intransitive_triples(table)
    clusters = nash_clustering(table)
    averaging = nash_averaging(table)
    nash = max_entropy_nash(table)
    conv = meta_nash_conv(np.stack([table, -table]), [nash.row, nash.column]).nash_conv
    ranking = alpha_rank_single_population(table, alpha=alpha, population_size=population_size)
    win = win_probabilities_from_antisymmetric(table, kind=kind)
    if size >= 2:
        elo = fit_melo(win, k=0, steps=melo_steps, seed=seed)
        melo = fit_melo(win, k=1, steps=melo_steps, seed=seed)
        fits = (elo.rmse, melo.rmse, elo.log_loss, melo.log_loss)
    else:
        fits = (0.0, 0.0, math.log(2.0), math.log(2.0))
    return PopulationAnalysis(
        antisymmetric=table,
        transitive_fraction=hodge.transitive_fraction,
        cyclic_fraction=hodge.cyclic_fraction,
        hodge_ratings=hodge.ratings,
        triples=triples.count,
        triples_total=triples.total,
        triples_fraction=triples.fraction,
        cluster_sizes=clusters.sizes,
        cluster_layers=clusters.layers,
        rpp_to_next=clusters.rpp_to_next,
        effective_diversity=effective_diversity(table),
        nash=averaging.nash,
        nash_ratings=averaging.ratings,
        nash_conv=float(conv),
        alpha_rank=ranking.joint,
        ranking=ranking,
        win_probabilities=win,
        elo_rmse=float(fits[0]),
        melo2_rmse=float(fits[1]),
        elo_log_loss=float(fits[2]),
        melo2_log_loss=float(fits[3]),
    )


@dataclasses.dataclass(frozen=True)
class MetaGameAnalysis:
    """Equilibrium measures of an N-player meta-game [N, S_1, ..., S_N].

    Attributes:
      alpha_rank: N arrays, the multi-population alpha-rank marginals.
      ranking: the full `AlphaRankResult` (joint over profiles, for the response graph).
      uniform_nash_conv: meta NashConv of the uniform meta-strategies.
      alpha_rank_nash_conv: meta NashConv of the alpha-rank marginals.
      constant_sum: whether every profile's payoffs sum to the same constant (2 players).
      max_entropy_nash: the maximum-entropy Nash (row, column), 2-player constant-sum only.
      max_entropy_nash_conv: its meta NashConv (~0: a solver check), or None.
      max_gini_cce_gap: the CCE gap of the maximum-Gini CCE (~0: a solver check), or None.
      max_gini_cce_marginals: its N marginals, or None.
      uniform_cce_gap: the CCE gap of the uniform joint distribution.
      notes: why a measure is None.
    """

    alpha_rank: tuple[np.ndarray, ...]
    ranking: AlphaRankResult
    uniform_nash_conv: float
    alpha_rank_nash_conv: float
    constant_sum: bool
    max_entropy_nash: tuple[np.ndarray, np.ndarray] | None
    max_entropy_nash_conv: float | None
    max_gini_cce_gap: float | None
    max_gini_cce_marginals: tuple[np.ndarray, ...] | None
    uniform_cce_gap: float
    notes: tuple[str, ...]


def analyse_meta_game(
    payoffs, *, alpha: float = 100.0, population_size: int = 50, max_joint_size: int = 1024
) -> MetaGameAnalysis:
    """Alpha-rank, NashConv and CCE gaps of an N-player general-sum meta-game.

    Args:
      payoffs: float [N, S_1, ..., S_N].
      alpha: alpha-rank's selection intensity (lowered by factors of 10 if the chain is
        numerically reducible; the alpha used is in `notes`).
      population_size: alpha-rank's m.
      max_joint_size: skip the maximum-Gini CCE above this many joint profiles.

    Returns:
      A `MetaGameAnalysis`.

    Raises:
      ValueError: a malformed payoff tensor.
    """
    payoffs = _validation.check_payoffs(payoffs)
    shape = payoffs.shape[1:]
    notes = []
    current = alpha
    while True:
        try:
            ranking = alpha_rank(payoffs, alpha=current, population_size=population_size)
            break
        except ValueError:
            if current < 1e-3:
                raise
            current /= 10.0
    if current != alpha:
        notes.append(f"alpha-rank: alpha lowered to {current:g} (chain reducible at {alpha:g})")
    uniform = [np.full(size, 1.0 / size) for size in shape]
    uniform_conv = meta_nash_conv(payoffs, uniform).nash_conv
    alpha_conv = meta_nash_conv(payoffs, list(ranking.marginals)).nash_conv
    totals = payoffs.sum(axis=0)
    constant_sum = bool(np.ptp(totals) <= 1e-9 * max(1.0, float(np.max(np.abs(payoffs)))))
    entropy_nash = entropy_conv = None
    if payoffs.shape[0] == 2 and constant_sum:
        solution = max_entropy_nash(payoffs[0])
        entropy_nash = (solution.row, solution.column)
        entropy_conv = float(meta_nash_conv(payoffs, list(entropy_nash)).nash_conv)
    else:
        notes.append("maximum-entropy Nash: defined here for 2-player constant-sum games only")
    gini_gap = gini_marginals = None
    if int(np.prod(shape)) <= max_joint_size:
        try:
            cce = max_gini_cce(payoffs, max_joint_size=max_joint_size)
            gini_gap, gini_marginals = float(cce_gap(payoffs, cce.joint)), cce.marginals
        except RuntimeError as error:
            notes.append(f"maximum-Gini CCE: {error}")
    else:
        notes.append(f"maximum-Gini CCE: skipped, {int(np.prod(shape))} joint profiles")
    joint_uniform = np.full(shape, 1.0 / int(np.prod(shape)))
    return MetaGameAnalysis(
        alpha_rank=tuple(ranking.marginals),
        ranking=ranking,
        uniform_nash_conv=float(uniform_conv),
        alpha_rank_nash_conv=float(alpha_conv),
        constant_sum=constant_sum,
        max_entropy_nash=entropy_nash,
        max_entropy_nash_conv=entropy_conv,
        max_gini_cce_gap=gini_gap,
        max_gini_cce_marginals=gini_marginals,
        uniform_cce_gap=float(cce_gap(payoffs, joint_uniform)),
        notes=tuple(notes),
    )
