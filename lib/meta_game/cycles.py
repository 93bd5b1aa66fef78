"""Strategy-cycle analysis of a population's meta-game.

The main object is an antisymmetric population table A float [S, S] (A = -A^T): A[i, j] is
member i's payoff advantage against member j in a symmetric zero-sum comparison. Tables of
other kinds come in through documented reductions: `antisymmetrize` (any row-vs-column payoff
table), `win_rate_to_antisymmetric` (win probabilities) and `symmetric_reduction` (an N-player
population meta-game). Formulas and papers are in docs/evaluators.md.

Dimension names: S population members, N players (seats), F focal members, Z zoo members,
k cyclic dimensions of mElo.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from detente.lib.meta_game import _validation
from detente.lib.meta_game.solvers import max_entropy_nash, solve_zero_sum

# ----------------------------------------------------------------------------- reductions


def antisymmetrize(table) -> np.ndarray:
    """The antisymmetric part (M - M^T) / 2 of a square row-vs-column payoff table.

    Args:
      table: float [S, S], M[i, j] = member i's payoff against member j.

    Returns:
      float [S, S]; equals M when M is already antisymmetric.
    """
    table = _validation.check_matrix(table, "table", square=True)
    return 0.5 * (table - table.T)


def win_rate_to_antisymmetric(win_rates) -> np.ndarray:
    """A = W - 1/2 for a win-probability table with W + W^T = 1 (draws counted as half wins).

    Args:
      win_rates: float [S, S] in [0, 1], W[i, j] = P(i beats j); the diagonal is 1/2.

    Returns:
      float [S, S], antisymmetric, in [-1/2, 1/2].

    Raises:
      ValueError: if entries leave [0, 1] or W + W^T != 1.
    """
    w = _validation.check_matrix(win_rates, "win_rates", square=True)
    if np.any(w < 0) or np.any(w > 1):
        raise ValueError(f"win_rates must lie in [0, 1]; got range [{w.min()}, {w.max()}]")
    if np.max(np.abs(w + w.T - 1.0)) > 1e-8:
        raise ValueError(
            "win_rates must satisfy W + W^T = 1 (count draws as half wins); max |W + W^T - 1| "
            f"= {np.max(np.abs(w + w.T - 1.0)):.3g}. Use antisymmetrize for other tables"
        )
    return w - 0.5


@dataclasses.dataclass(frozen=True)
class SymmetricReduction:
    """An N-player population meta-game reduced to two-player tables.

    Attributes:
      one_vs_rest: float [S, S], M[a, b] = the mean payoff of one seat playing member a while
        every other seat plays member b, averaged over the N seats a can take.
      antisymmetric: float [S, S], A = (M - M^T) / 2: half of how much better a lone a does
        against a field of b than a lone b against a field of a.
    """

    one_vs_rest: np.ndarray
    antisymmetric: np.ndarray


def symmetric_reduction(payoffs) -> SymmetricReduction:
    """Reduces an N-player meta-game over one population to [S, S] one-versus-the-rest tables.

    M[a, b] = (1 / N) sum_i payoffs[i, b, ..., b, a (seat i), b, ..., b]. Averaging over the
    seat makes the reduction meaningful for games with asymmetric seats (Diplomacy's powers),
    where every member may play every seat. For N = 2 and a symmetric zero-sum game,
    antisymmetric == payoffs[0].

    Args:
      payoffs: float [N, S, ..., S], the same S members available to every seat.

    Returns:
      A `SymmetricReduction`.

    Raises:
      ValueError: on a malformed tensor or seats with different strategy counts.
    """
    payoffs = _validation.check_payoffs(payoffs, min_players=2)
    shape = payoffs.shape[1:]
    if len(set(shape)) != 1:
        raise ValueError(
            f"symmetric_reduction needs the same members in every seat ([N, S, ..., S]); got "
            f"strategy counts {shape}"
        )
    num_players, size = payoffs.shape[0], shape[0]
    members = np.arange(size)
    one_vs_rest = np.zeros((size, size))
    for seat in range(num_players):
        for a in range(size):
            index = [members] * num_players  # every other seat plays b (broadcast over b)
            index[seat] = np.full(size, a)
            one_vs_rest[a] += payoffs[seat][tuple(index)]
    one_vs_rest /= num_players
    return SymmetricReduction(
        one_vs_rest=one_vs_rest, antisymmetric=0.5 * (one_vs_rest - one_vs_rest.T)
    )


# ----------------------------------------------------------------------------- Hodge


@dataclasses.dataclass(frozen=True)
class HodgeDecomposition:
    """A = transitive + cyclic, orthogonal in the Frobenius inner product.

    Attributes:
      ratings: float [S], r = row means of A (the divergence); A's transitive part is
        grad(r)[i, j] = r_i - r_j.
      transitive: float [S, S].
      cyclic: float [S, S], A - transitive; its rows sum to 0 (divergence-free).
      transitive_norm: ||transitive||_F.
      cyclic_norm: ||cyclic||_F.
      transitive_fraction: ||transitive||^2 / ||A||^2 (0 for A = 0).
      cyclic_fraction: ||cyclic||^2 / ||A||^2; the two fractions sum to 1.
    """

    ratings: np.ndarray
    transitive: np.ndarray
    cyclic: np.ndarray
    transitive_norm: float
    cyclic_norm: float
    transitive_fraction: float
    cyclic_fraction: float


def hodge_decomposition(table) -> HodgeDecomposition:
    """Splits an antisymmetric table into its transitive and cyclic parts.

    Balduzzi et al. 2019, "Open-ended learning in symmetric zero-sum games", Prop. 1 (the
    combinatorial Hodge decomposition of Jiang et al. 2011 / Candogan et al. 2011 on the
    complete graph): A = grad(div(A)) + rot(A) with div(A)_i = (1/S) sum_j A_ij.

    Args:
      table: float [S, S], antisymmetric.

    Returns:
      A `HodgeDecomposition`.
    """
    table = _validation.check_antisymmetric(table)
    ratings = table.mean(axis=1)
    transitive = ratings[:, None] - ratings[None, :]
    cyclic = table - transitive
    t_norm = float(np.linalg.norm(transitive))
    c_norm = float(np.linalg.norm(cyclic))
    total = t_norm**2 + c_norm**2
    return HodgeDecomposition(
        ratings=ratings,
        transitive=transitive,
        cyclic=cyclic,
        transitive_norm=t_norm,
        cyclic_norm=c_norm,
        transitive_fraction=t_norm**2 / total if total > 0 else 0.0,
        cyclic_fraction=c_norm**2 / total if total > 0 else 0.0,
    )


# ----------------------------------------------------------------------------- triples


@dataclasses.dataclass(frozen=True)
class IntransitiveTriples:
    """Counted 3-cycles of the "beats" relation.

    Attributes:
      count: unordered triples {i, j, k} with i beats j, j beats k and k beats i.
      total: all unordered triples, C(S, 3).
      fraction: count / total (0 when S < 3).
    """

    count: int
    total: int
    fraction: float


def intransitive_triples(table, *, margin: float = 0.0) -> IntransitiveTriples:
    """Counts intransitive triples: i beats j beats k beats i, where "beats" is A_ij > margin.

    With B[i, j] = 1[A_ij > margin] (a partial tournament), the number of directed 3-cycles is
    trace(B^3) / 3; a triangle cannot cycle both ways because B[i, j] B[j, i] = 0.

    Args:
      table: float [S, S], antisymmetric.
      margin: how much A_ij must exceed 0 to count as a win (>= 0).

    Returns:
      An `IntransitiveTriples`.
    """
    table = _validation.check_antisymmetric(table)
    margin = _validation.check_nonnegative_float(margin, "margin")
    beats = (table > margin).astype(np.int64)
    count = int(np.trace(beats @ beats @ beats)) // 3
    total = math.comb(table.shape[0], 3)
    return IntransitiveTriples(count=count, total=total, fraction=count / total if total else 0.0)


# ----------------------------------------------------------------------------- Nash-based


@dataclasses.dataclass(frozen=True)
class NashAveraging:
    """Nash averaging of a population.

    Attributes:
      nash: float [S], the maximum-entropy Nash equilibrium p of A.
      ratings: float [S], A p: each member's payoff against the Nash mixture (<= 0; 0 exactly
        on the support).
    """

    nash: np.ndarray
    ratings: np.ndarray


def nash_averaging(table) -> NashAveraging:
    """Nash averaging: ratings A p at the maximum-entropy Nash p.

    Balduzzi et al. 2018, "Re-evaluating evaluation", Sec. 4: invariant to duplicated members
    and unique because the maximum-entropy Nash is unique.

    Args:
      table: float [S, S], antisymmetric.

    Returns:
      A `NashAveraging`.
    """
    table = _validation.check_antisymmetric(table)
    nash = max_entropy_nash(table).row
    return NashAveraging(nash=nash, ratings=table @ nash)


def effective_diversity(table) -> float:
    """Effective diversity d = p^T floor(A)_+ p at the maximum-entropy Nash p.

    Balduzzi et al. 2019, "Open-ended learning in symmetric zero-sum games", Def. 3: how much
    the Nash members exploit each other; 0 for a purely transitive population.

    Args:
      table: float [S, S], antisymmetric.

    Returns:
      A float >= 0.
    """
    table = _validation.check_antisymmetric(table)
    nash = max_entropy_nash(table).row
    return float(nash @ np.maximum(table, 0.0) @ nash)


def relative_population_performance(table, first, second) -> float:
    """Relative population performance v(P, Q) = p^T A_PQ q at a Nash (p, q) of A_PQ.

    Balduzzi et al. 2019, Def. 2: the value of the zero-sum game in which one player picks a
    member of population P and the other a member of Q. Positive means P is stronger.

    Args:
      table: float [S, S], antisymmetric, over the union of both populations.
      first: indices of the members of P (non-empty).
      second: indices of the members of Q (non-empty).

    Returns:
      The value, a float.
    """
    table = _validation.check_antisymmetric(table)
    size = table.shape[0]
    groups = []
    for name, group in (("first", first), ("second", second)):
        group = np.asarray(group, dtype=np.int64).ravel()
        if group.size == 0 or group.min() < 0 or group.max() >= size:
            raise ValueError(f"{name} must hold member indices in [0, {size}); got {group}")
        groups.append(group)
    return solve_zero_sum(table[np.ix_(groups[0], groups[1])]).value


@dataclasses.dataclass(frozen=True)
class NashClustering:
    """The layers of Nash clustering, strongest first.

    Attributes:
      layers: tuple of int arrays, the member indices of each layer.
      sizes: int [L], the layer sizes: the spinning-top profile.
      nash: tuple of float arrays, the maximum-entropy Nash of the remaining members that gave
        each layer (aligned with `layers`' members).
      rpp_to_next: float [L - 1], relative population performance of layer l against layer
        l + 1 (>= 0 up to solver tolerance: earlier layers are at least as strong).
    """

    layers: tuple[np.ndarray, ...]
    sizes: np.ndarray
    nash: tuple[np.ndarray, ...]
    rpp_to_next: np.ndarray


def nash_clustering(table, *, support_threshold: float = 1e-6) -> NashClustering:
    """Nash clustering (Czarnecki et al. 2020, "Real world games look like spinning tops").

    C_1 = supp(Nash(A)); C_l = supp(Nash(A restricted to the members not in C_1..C_{l-1})),
    with the maximum-entropy Nash so that the clusters are unique.

    Args:
      table: float [S, S], antisymmetric.
      support_threshold: a Nash probability above this puts a member in the layer.

    Returns:
      A `NashClustering`.
    """
    table = _validation.check_antisymmetric(table)
    remaining = np.arange(table.shape[0])
    layers, nashes = [], []
    while remaining.size:
        nash = max_entropy_nash(table[np.ix_(remaining, remaining)]).row
        inside = nash > support_threshold
        layers.append(remaining[inside])
        nashes.append(nash[inside] / nash[inside].sum())
        remaining = remaining[~inside]
    rpp = np.array(
        [
            relative_population_performance(table, layers[i], layers[i + 1])
            for i in range(len(layers) - 1)
        ]
    )
    return NashClustering(
        layers=tuple(layers),
        sizes=np.array([layer.size for layer in layers], dtype=np.int64),
        nash=tuple(nashes),
        rpp_to_next=rpp,
    )


# ----------------------------------------------------------------------------- mElo


@dataclasses.dataclass(frozen=True)
class MultidimensionalElo:
    """A fitted mElo_2k model P_ij = sigmoid(r_i - r_j + c_i^T Omega c_j).

    Attributes:
      ratings: float [S], r, shifted to mean 0.
      cyclic: float [S, 2k], C (k = 0 gives shape [S, 0]: plain Elo).
      predicted: float [S, S], the model's win probabilities.
      rmse: root-mean-square error of `predicted` against the targets, off the diagonal.
      log_loss: mean binary cross-entropy of the targets under the model, off the diagonal.
    """

    ratings: np.ndarray
    cyclic: np.ndarray
    predicted: np.ndarray
    rmse: float
    log_loss: float


def _omega(k: int) -> np.ndarray:
    omega = np.zeros((2 * k, 2 * k))
    for i in range(k):
        omega[2 * i, 2 * i + 1] = 1.0
        omega[2 * i + 1, 2 * i] = -1.0
    return omega


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def fit_melo(
    win_probabilities,
    *,
    k: int = 1,
    steps: int = 3000,
    learning_rate: float = 0.05,
    seed: int = 0,
    init_scale: float = 0.1,
) -> MultidimensionalElo:
    """Fits multidimensional Elo mElo_2k to a win-probability matrix.

    Balduzzi et al. 2018, "Re-evaluating evaluation", Sec. 3.3: P_ij = sigmoid(r_i - r_j +
    c_i^T Omega c_j) with Omega = sum_{l<k} (e_{2l} e_{2l+1}^T - e_{2l+1} e_{2l}^T), so the cyclic
    term is antisymmetric. Fitted by full-batch Adam on the mean cross-entropy over i != j with
    exact numpy gradients; C starts from a seeded Gaussian (C = 0 is a saddle point).

    Args:
      win_probabilities: float [S, S] in [0, 1] with P + P^T = 1 off the diagonal.
      k: number of cyclic 2-planes (k = 0 is plain Elo / Bradley-Terry).
      steps: Adam steps.
      learning_rate: Adam step size.
      seed: seed of C's initialisation.
      init_scale: standard deviation of C's initialisation.

    Returns:
      A `MultidimensionalElo`.
    """
    target = _validation.check_matrix(win_probabilities, "win_probabilities", square=True)
    win_rate_to_antisymmetric(np.where(np.eye(target.shape[0], dtype=bool), 0.5, target))
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise ValueError(f"k must be an integer >= 0; got {k!r}")
    steps = _validation.check_positive_int(steps, "steps")
    size = target.shape[0]
    off = ~np.eye(size, dtype=bool)
    pairs = max(1, int(off.sum()))
    omega = _omega(int(k))
    rng = np.random.default_rng(seed)
    params = [np.zeros(size), init_scale * rng.standard_normal((size, 2 * int(k)))]
    moments = [[np.zeros_like(p), np.zeros_like(p)] for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8

    def predict(r, c):
        return _sigmoid(r[:, None] - r[None, :] + c @ omega @ c.T)

    for step in range(1, steps + 1):
        r, c = params
        grad_logits = np.where(off, predict(r, c) - target, 0.0) / pairs
        grads = [
            grad_logits.sum(axis=1) - grad_logits.sum(axis=0),
            grad_logits @ c @ omega.T + grad_logits.T @ c @ omega,
        ]
        for param, grad, moment in zip(params, grads, moments, strict=True):
            moment[0] = beta1 * moment[0] + (1 - beta1) * grad
            moment[1] = beta2 * moment[1] + (1 - beta2) * grad**2
            m_hat = moment[0] / (1 - beta1**step)
            v_hat = moment[1] / (1 - beta2**step)
            param -= learning_rate * m_hat / (np.sqrt(v_hat) + eps)
    r, c = params
    r = r - r.mean()
    predicted = predict(r, c)
    clipped = np.clip(predicted, 1e-12, 1 - 1e-12)
    cross_entropy = -(target * np.log(clipped) + (1 - target) * np.log(1 - clipped))
    return MultidimensionalElo(
        ratings=r,
        cyclic=c,
        predicted=predicted,
        rmse=float(np.sqrt(np.mean((predicted - target)[off] ** 2))) if size > 1 else 0.0,
        log_loss=float(cross_entropy[off].mean()) if size > 1 else 0.0,
    )


# ----------------------------------------------------------------------------- training runs


@dataclasses.dataclass(frozen=True)
class Forgetting:
    """How later checkpoints fare against earlier ones.

    Attributes:
      matrix: float [T, T], matrix[t, s] = table[t, s] for s < t and NaN elsewhere.
      loss_fraction: float [T], the fraction of earlier checkpoints s < t that checkpoint t
        loses to (table[t, s] < draw_value); NaN for t = 0.
      overall_loss_fraction: losses over all T (T - 1) / 2 pairs s < t (0 when T = 1).
      max_forgetting: max over s < t of (draw_value - table[t, s]), floored at 0: the largest
        margin by which a later checkpoint loses to an earlier one.
      worst_pair: (t, s) attaining max_forgetting, or None when nothing is forgotten.
    """

    matrix: np.ndarray
    loss_fraction: np.ndarray
    overall_loss_fraction: float
    max_forgetting: float
    worst_pair: tuple[int, int] | None


def forgetting(table, *, draw_value: float = 0.0) -> Forgetting:
    """The forgetting matrix of checkpoints in training order.

    Args:
      table: float [T, T], table[t, s] = checkpoint t's result against checkpoint s, rows and
        columns in training order (an antisymmetric payoff table, or win rates).
      draw_value: the result meaning "even": 0 for payoff differences, 0.5 for win rates.

    Returns:
      A `Forgetting`.
    """
    table = _validation.check_matrix(table, "table", square=True)
    draw_value = float(draw_value)
    size = table.shape[0]
    earlier = np.tril(np.ones((size, size), dtype=bool), k=-1)
    matrix = np.where(earlier, table, np.nan)
    losses = earlier & (table < draw_value)
    counts = earlier.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        loss_fraction = np.where(counts > 0, losses.sum(axis=1) / np.maximum(counts, 1), np.nan)
    margins = np.where(earlier, draw_value - table, -np.inf)
    worst = np.unravel_index(int(np.argmax(margins)), margins.shape) if size > 1 else None
    max_forgetting = float(max(0.0, margins[worst])) if worst is not None else 0.0
    return Forgetting(
        matrix=matrix,
        loss_fraction=loss_fraction,
        overall_loss_fraction=float(losses.sum() / earlier.sum()) if size > 1 else 0.0,
        max_forgetting=max_forgetting,
        worst_pair=(int(worst[0]), int(worst[1])) if max_forgetting > 0 else None,
    )


@dataclasses.dataclass(frozen=True)
class Robustness:
    """Payoffs of focal members against a held-out zoo.

    Attributes:
      mean: float [F], each focal member's mean payoff over the zoo.
      min: float [F], its worst payoff.
      worst_fraction_mean: float [F], the mean of its lowest ceil(fraction * Z) payoffs
        (the lower conditional value at risk).
      overall_mean: mean over all F * Z payoffs.
      overall_min: min over all payoffs.
      overall_worst_fraction_mean: mean of the lowest ceil(fraction * F * Z) payoffs.
    """

    mean: np.ndarray
    min: np.ndarray
    worst_fraction_mean: np.ndarray
    overall_mean: float
    overall_min: float
    overall_worst_fraction_mean: float


def _lower_tail_mean(values: np.ndarray, fraction: float) -> np.ndarray:
    count = max(1, math.ceil(fraction * values.shape[-1] - 1e-12))
    return np.sort(values, axis=-1)[..., :count].mean(axis=-1)


def robustness(payoffs, *, worst_fraction: float = 0.05) -> Robustness:
    """Robustness of focal members against a background zoo.

    Args:
      payoffs: float [F, Z], payoffs[f, z] = focal member f's payoff against zoo member z.
      worst_fraction: the tail size of the worst-case mean, in (0, 1].

    Returns:
      A `Robustness`.
    """
    payoffs = _validation.check_matrix(payoffs, "payoffs")
    fraction = float(worst_fraction)
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"worst_fraction must lie in (0, 1]; got {worst_fraction!r}")
    return Robustness(
        mean=payoffs.mean(axis=1),
        min=payoffs.min(axis=1),
        worst_fraction_mean=_lower_tail_mean(payoffs, fraction),
        overall_mean=float(payoffs.mean()),
        overall_min=float(payoffs.min()),
        overall_worst_fraction_mean=float(_lower_tail_mean(payoffs.ravel(), fraction)),
    )
