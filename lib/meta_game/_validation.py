"""Input checks shared by the meta-game modules: payoff tensors, tables and distributions.

Dimension names: N players, S_i strategies of player i, S population members.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Probabilities may drift this far from the simplex (sum and sign) before we reject them.
DISTRIBUTION_TOLERANCE = 1e-6


def as_finite_array(values, name: str) -> np.ndarray:
    """Converts to a float64 array, rejecting non-numeric, NaN and infinite entries."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be an array of real numbers; got {type(values)}") from error
    if not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))[0]
        raise ValueError(
            f"{name} must be finite; entry {tuple(int(i) for i in bad)} is "
            f"{array[tuple(bad)]}; only finite real numbers are accepted"
        )
    return array


def check_payoffs(payoffs, *, min_players: int = 1) -> np.ndarray:
    """Validates an N-player payoff tensor float [N, S_1, ..., S_N] and returns it as float64."""
    array = as_finite_array(payoffs, "payoffs")
    if array.ndim < 2:
        raise ValueError(
            f"payoffs must have shape [N, S_1, ..., S_N] (N players, rank N + 1); got shape "
            f"{array.shape}"
        )
    num_players = array.shape[0]
    if num_players != array.ndim - 1:
        raise ValueError(
            f"payoffs must have shape [N, S_1, ..., S_N]: its first axis (N = {num_players}) "
            f"must equal the number of strategy axes ({array.ndim - 1}); got shape {array.shape}"
        )
    if num_players < min_players:
        raise ValueError(f"payoffs must have at least {min_players} players; got {num_players}")
    if any(size < 1 for size in array.shape[1:]):
        raise ValueError(
            f"every player needs at least one strategy; got strategy counts {array.shape[1:]}"
        )
    return array


def check_two_player(payoffs) -> np.ndarray:
    """Validates a 2-player payoff tensor float [2, S_1, S_2]."""
    array = check_payoffs(payoffs)
    if array.shape[0] != 2:
        raise ValueError(
            f"this function needs a 2-player payoff tensor [2, S_1, S_2]; got shape {array.shape}"
        )
    return array


def check_matrix(table, name: str = "table", *, square: bool = False) -> np.ndarray:
    """Validates a finite non-empty matrix [R, C] (square [S, S] if asked)."""
    array = as_finite_array(table, name)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a matrix (rank 2); got shape {array.shape}")
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"{name} must have at least one row and one column; got {array.shape}")
    if square and array.shape[0] != array.shape[1]:
        raise ValueError(f"{name} must be square [S, S]; got shape {array.shape}")
    return array


def check_antisymmetric(table, name: str = "table", *, atol: float = 1e-8) -> np.ndarray:
    """Validates an antisymmetric square matrix A = -A^T (a zero-sum population table)."""
    array = check_matrix(table, name, square=True)
    error = float(np.max(np.abs(array + array.T)))
    if error > atol * max(1.0, float(np.max(np.abs(array)))):
        raise ValueError(
            f"{name} must be antisymmetric (A = -A^T, a zero-sum population table); "
            f"max |A + A^T| = {error:.3g}. Convert a payoff table with "
            f"antisymmetrize(table) or a win-rate table with win_rate_to_antisymmetric(table)"
        )
    return array


def check_distribution(values, size: int, name: str) -> np.ndarray:
    """Validates a probability vector of the given size and renormalises rounding drift."""
    array = as_finite_array(values, name)
    if array.shape != (size,):
        raise ValueError(f"{name} must have shape [{size}]; got shape {array.shape}")
    if np.any(array < -DISTRIBUTION_TOLERANCE) or abs(array.sum() - 1.0) > DISTRIBUTION_TOLERANCE:
        raise ValueError(
            f"{name} must be a probability distribution (entries >= 0 summing to 1); "
            f"got min {array.min():.3g} and sum {array.sum():.6g}"
        )
    array = np.clip(array, 0.0, None)
    return array / array.sum()


def check_strategies(strategies: Sequence, shape: tuple[int, ...]) -> list[np.ndarray]:
    """Validates one mixed strategy per player against the strategy counts `shape`."""
    if len(strategies) != len(shape):
        raise ValueError(
            f"need one mixed strategy per player ({len(shape)}); got {len(strategies)}"
        )
    return [
        check_distribution(s, size, f"strategies[{i}]")
        for i, (s, size) in enumerate(zip(strategies, shape, strict=True))
    ]


def check_positive_int(value, name: str) -> int:
    """Validates an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
    return int(value)


def check_nonnegative_float(value, name: str) -> float:
    """Validates a finite float >= 0."""
    try:
        number = float(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}") from error
    if not np.isfinite(number) or number < 0:
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")
    return number


def deviation_values(payoffs: np.ndarray, strategies: Sequence[np.ndarray], player: int):
    """Player `player`'s expected payoff of each own pure strategy against the others' mixes.

    Args:
      payoffs: float [N, S_1, ..., S_N].
      strategies: N mixed strategies, strategies[i] float [S_i].
      player: the deviating player i.

    Returns:
      float [S_i].
    """
    if len(strategies) == 2:  # the common case, without tensordot's overhead
        return payoffs[0] @ strategies[1] if player == 0 else strategies[0] @ payoffs[1]
    table = np.moveaxis(payoffs[player], player, 0)
    for j, strategy in enumerate(strategies):
        if j != player:
            # The remaining opponent axes keep their order, so the next one is always axis 1.
            table = np.tensordot(table, strategy, axes=([1], [0]))
    return table
