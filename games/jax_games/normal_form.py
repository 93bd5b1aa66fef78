"""Normal-form (matrix) games as JAX-native one-shot games.

A normal-form game is a payoff tensor `payoffs[p, a_1, ..., a_P]`: the payoff of player p
when player i plays a_i. Everybody acts once, simultaneously, then the game is terminated
(`spec.max_steps == 1`). Actions of all players share one index range [0, A) with
A = max_i A_i; a player with fewer actions has the rest masked out, and playing one of them is
an illegal action (see docs/jax_games.md, "Illegal actions").

The named games reproduce OpenSpiel's `matrix_*` games entry by entry (payoffs checked in
tests/games/jax_games/test_jaxgame_normal_form.py against `pyspiel.load_game(name)`):

* `matrix_rps`: rock, paper, scissors (zero-sum).
* `matrix_pd`: prisoner's dilemma, cooperate/defect with payoffs 5, 0, 10, 1 (OpenSpiel's).
* `matrix_sh`: stag hunt (2, 0 / 1, 1).
* `matrix_shapleys_game`: Shapley (1964), "Some topics in two-person games", the 3x3 game
  on which fictitious play cycles.
* `matrix_mp`: matching pennies (zero-sum).
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np

from detente.games.jax_games._core import JaxGame, one_shot_game
from detente.lib.spec import EnvSpec

# Row player's and column player's payoffs, [2, A, A], as in OpenSpiel's matrix games.
MATRIX_GAMES: dict[str, np.ndarray] = {
    "matrix_rps": np.array(
        [
            [[0, -1, 1], [1, 0, -1], [-1, 1, 0]],
            [[0, 1, -1], [-1, 0, 1], [1, -1, 0]],
        ],
        np.float32,
    ),
    "matrix_pd": np.array([[[5, 0], [10, 1]], [[5, 10], [0, 1]]], np.float32),
    "matrix_sh": np.array([[[2, 0], [1, 1]], [[2, 1], [0, 1]]], np.float32),
    "matrix_shapleys_game": np.array(
        [
            [[0, 0, 1], [1, 0, 0], [0, 1, 0]],
            [[0, 1, 0], [0, 0, 1], [1, 0, 0]],
        ],
        np.float32,
    ),
    "matrix_mp": np.array([[[1, -1], [-1, 1]], [[-1, 1], [1, -1]]], np.float32),
}


def utility_type(payoffs: np.ndarray) -> str:
    """The `EnvSpec.utility` of a payoff tensor [P, A_1, ..., A_P].

    "identical" if every player gets the same payoff, "zero_sum" if the payoffs of every joint
    action sum to 0, "constant_sum" if they sum to one constant, else "general_sum".
    """
    payoffs = np.asarray(payoffs, np.float64)
    if np.all(payoffs == payoffs[:1]) and payoffs.shape[0] > 1:
        return "identical"
    total = payoffs.sum(axis=0)
    if np.allclose(total, 0.0):
        return "zero_sum"
    if np.allclose(total, total.flat[0]):
        return "constant_sum"
    return "general_sum"


def is_symmetric(payoffs: np.ndarray) -> bool:
    """Whether seats are interchangeable: u_p(a) = u_{pi(p)}(a o pi) for every permutation pi.

    Args:
      payoffs: float [P, A_1, ..., A_P].
    """
    payoffs = np.asarray(payoffs)
    num_players = payoffs.shape[0]
    if len(set(payoffs.shape[1:])) != 1:
        return False
    for perm in itertools.permutations(range(num_players)):
        # Relabel the seats: seat p of the permuted game is seat perm[p] of the original.
        permuted = np.transpose(payoffs[list(perm)], [0] + [1 + q for q in perm])
        if not np.array_equal(permuted, payoffs):
            return False
    return True


def normal_form_game(
    payoffs: np.ndarray | jax.Array,
    *,
    name: str = "normal_form",
    illegal_reward: float | None = None,
) -> JaxGame:
    """A normal-form game from its payoff tensor.

    Args:
      payoffs: float [P, A_1, ..., A_P], `payoffs[p, a_1, ..., a_P]` the payoff of player p
        (P >= 1; tensor entries must be finite).
      name: the spec's name.
      illegal_reward: reward of a player whose illegal action ends the game; None uses the
        lowest payoff in the tensor.

    Returns:
      `JaxGame(spec, init, step)`; K = 1, A = max_i A_i, obs_shape = (1 + P,)
      (`[terminal, one_hot(seat)]`, as `detente.lib.OpenSpielEnv` gives for OpenSpiel's
      matrix games).

    Raises:
      ValueError: if the tensor's shape does not match its number of players, or has
        non-finite entries.
    """
    table = np.asarray(payoffs, np.float32)
    if table.ndim < 2 or table.shape[0] != table.ndim - 1:
        raise ValueError(
            "payoffs must have shape [P, A_1, ..., A_P] (one axis per player after the player "
            f"axis), got {table.shape}"
        )
    if min(table.shape[1:]) < 1 or not np.all(np.isfinite(table)):
        raise ValueError(f"payoffs must be a non-empty finite tensor, got shape {table.shape}")
    num_players = table.shape[0]
    sizes = table.shape[1:]
    num_actions = max(sizes)
    if illegal_reward is None:
        illegal_reward = float(table.min())
    spec = EnvSpec(
        name=name,
        num_players=num_players,
        obs_shape=(1 + num_players,),
        num_slots=1,
        num_actions=num_actions,
        max_steps=1,
        symmetric=is_symmetric(table),
        utility=utility_type(table) if num_players > 1 else "general_sum",
        dynamics="simultaneous",
        chance=False,
    )
    # Pad every player's axis to A; padded entries are never paid (masked out, so illegal).
    padded = np.zeros((num_players,) + (num_actions,) * num_players, np.float32)
    padded[(slice(None),) + tuple(slice(0, n) for n in sizes)] = table
    flat = jnp.asarray(padded.reshape(num_players, -1))
    strides = jnp.asarray([num_actions ** (num_players - 1 - i) for i in range(num_players)])
    legal = np.zeros((num_players, 1, num_actions), bool)
    for p, n in enumerate(sizes):
        legal[p, 0, :n] = True
    legal = jnp.asarray(legal)

    def payoff_fn(actions: jax.Array) -> jax.Array:
        return flat[:, jnp.sum(actions * strides)]

    game = one_shot_game(spec, payoff_fn, illegal_reward)
    if all(n == num_actions for n in sizes):
        return game

    def init(key: jax.Array):
        state = game.init(key)
        return state._replace(legal_action_mask=legal)

    return JaxGame(spec=spec, init=init, step=game.step)


def matrix_game(name: str) -> JaxGame:
    """One of OpenSpiel's named matrix games (`MATRIX_GAMES`), e.g. "matrix_rps".

    The spec's name is OpenSpiel's, e.g. "matrix_rps()".

    Raises:
      ValueError: if `name` is not in `MATRIX_GAMES`.
    """
    if name not in MATRIX_GAMES:
        raise ValueError(f"unknown matrix game {name!r}; known: {sorted(MATRIX_GAMES)}")
    return normal_form_game(MATRIX_GAMES[name], name=f"{name}()")
