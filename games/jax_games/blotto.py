"""Colonel Blotto for any number of players, as a JAX-native one-shot game.

Each of P players splits `coins` coins over `fields` battlefields (every composition of
`coins` into `fields` non-negative parts is one action), all at once. The rules are
OpenSpiel's `blotto` (open_spiel/games/blotto/blotto.cc), reproduced exactly:

* a field is won by the single player with the most coins on it; a tie on top wins it for
  nobody;
* the players with the most fields won are the winners: each gets 1 / (number of winners),
  each other player gets -1 / (number of losers); if every player has the most fields, the
  game is a draw and everybody gets 0. Zero-sum.

Actions are numbered as in OpenSpiel: compositions in lexicographic order of
(coins on field 0, coins on field 1, ...), so action 0 puts every coin on the last field.
Every action is always legal; an out-of-range index is an illegal action (reward -1, the
game's lowest payoff; docs/jax_games.md).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from detente.games.jax_games._core import JaxGame, one_shot_game
from detente.lib.spec import EnvSpec

MAX_ACTIONS = 1_000_000


def num_blotto_actions(coins: int, fields: int) -> int:
    """Number of ways to split `coins` coins over `fields` fields, C(coins+fields-1, fields-1)."""
    return math.comb(coins + fields - 1, fields - 1)


def blotto_allocations(coins: int, fields: int) -> np.ndarray:
    """The action table: int32 [A, fields], row a the coins per field of action a.

    Rows are in OpenSpiel's order (lexicographic; see the module docstring).
    """
    rows: list[tuple[int, ...]] = []

    def extend(prefix: tuple[int, ...], left: int) -> None:
        if len(prefix) == fields - 1:
            rows.append(prefix + (left,))
            return
        for n in range(left + 1):
            extend(prefix + (n,), left - n)

    extend((), coins)
    return np.asarray(rows, np.int32).reshape(-1, fields)


def blotto_payoffs(allocations: jax.Array) -> jax.Array:
    """Blotto payoffs of one joint allocation.

    Args:
      allocations: int [P, F], coins of each player on each field.

    Returns:
      float32 [P], OpenSpiel's blotto returns (see the module docstring).
    """
    num_players = allocations.shape[0]
    top = jnp.max(allocations, axis=0)  # [F]
    on_top = allocations == top  # [P, F]
    single = jnp.sum(on_top, axis=0) == 1  # [F]
    points = jnp.sum(on_top & single, axis=1)  # [P]
    winners = points == jnp.max(points)  # [P]
    num_winners = jnp.sum(winners)
    num_losers = num_players - num_winners
    win = 1.0 / num_winners.astype(jnp.float32)
    lose = -1.0 / jnp.maximum(num_losers, 1).astype(jnp.float32)
    returns = jnp.where(winners, win, lose)
    return jnp.where(num_losers == 0, 0.0, returns).astype(jnp.float32)


def blotto_game(*, players: int = 2, coins: int = 10, fields: int = 3) -> JaxGame:
    """Colonel Blotto with `players` players, `coins` coins and `fields` fields.

    Args:
      players: P >= 2.
      coins: coins per player, >= 1.
      fields: battlefields, >= 1.

    Returns:
      `JaxGame(spec, init, step)`; K = 1, A = C(coins + fields - 1, fields - 1),
      obs_shape = (1 + P,) (`[terminal, one_hot(seat)]`, as `detente.lib.OpenSpielEnv` gives
      for OpenSpiel's blotto), spec name "blotto(coins=..,fields=..,players=..)".

    Raises:
      ValueError: if a parameter is out of range or the game has more than `MAX_ACTIONS`
        actions.
    """
    for key, value, low in (("players", players, 2), ("coins", coins, 1), ("fields", fields, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"blotto: {key} must be an integer >= {low}, got {value!r}")
    num_actions = num_blotto_actions(coins, fields)
    if num_actions > MAX_ACTIONS:
        raise ValueError(
            f"blotto(coins={coins},fields={fields}) has {num_actions} actions, more than "
            f"{MAX_ACTIONS}; use fewer coins or fields"
        )
    table = jnp.asarray(blotto_allocations(coins, fields))
    spec = EnvSpec(
        name=f"blotto(coins={coins},fields={fields},players={players})",
        num_players=players,
        obs_shape=(1 + players,),
        num_slots=1,
        num_actions=num_actions,
        max_steps=1,
        symmetric=True,
        utility="zero_sum",
        dynamics="simultaneous",
        chance=False,
    )

    def payoff_fn(actions: jax.Array) -> jax.Array:
        return blotto_payoffs(table[actions])

    return one_shot_game(spec, payoff_fn, illegal_reward=-1.0)
