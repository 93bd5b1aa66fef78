"""detente.games.jax_games: JAX-native small mixed-motive games behind the environment contract.

Each game is `JaxGame(spec, init, step)`: pure `init(key) -> State` and
`step(state, actions int32 [P, K], key) -> State` over one game (batch with `jax.vmap`, jit
freely), with the contract's semantics (docs/environment.md; docs/jax_games.md for the
illegal-action rule and the games).

Public API:
  * `make(name)`, `register`, `list_games`, `is_registered`, `JaxGameInfo`: the registry
    (`make("matrix_rps")`, `make("blotto(players=3,coins=10,fields=3)")`).
  * `JaxGame`, `State`, `auto_reset`, `to_timestep`, `one_shot_game`: the shared machinery.
  * `normal_form_game`, `matrix_game`, `MATRIX_GAMES`: normal-form games from payoff tensors.
  * `blotto_game`, `blotto_allocations`, `blotto_payoffs`, `num_blotto_actions`: Colonel Blotto.

Dimension names: B batch, P players, K action slots per player, A actions per slot.
"""

from detente.games.jax_games._core import JaxGame, State, auto_reset, one_shot_game, to_timestep
from detente.games.jax_games.blotto import (
    blotto_allocations,
    blotto_game,
    blotto_payoffs,
    num_blotto_actions,
)
from detente.games.jax_games.normal_form import MATRIX_GAMES, matrix_game, normal_form_game
from detente.games.jax_games.registry import (
    JaxGameInfo,
    is_registered,
    list_games,
    make,
    register,
)

__all__ = [
    "MATRIX_GAMES",
    "JaxGame",
    "JaxGameInfo",
    "State",
    "auto_reset",
    "blotto_allocations",
    "blotto_game",
    "blotto_payoffs",
    "is_registered",
    "list_games",
    "make",
    "matrix_game",
    "normal_form_game",
    "num_blotto_actions",
    "one_shot_game",
    "register",
    "to_timestep",
]
