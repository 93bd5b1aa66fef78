"""Game definitions and the registry that loads them by name.

`load("goofspiel(players=3,num_cards=5)")` returns any registered OpenSpiel game (C++ or
Python) and detente's own games the same way; `list_games()` lists them with their kind.
"""

from detente.games.registry import (
    GameInfo,
    is_registered,
    list_games,
    load,
    register_openspiel_game,
)

__all__ = ["GameInfo", "is_registered", "list_games", "load", "register_openspiel_game"]

register_openspiel_game("realpolitik", "detente.games.realpolitik.openspiel_game")

# JAX-native small games (detente.games.jax_games): `make_jax_game("blotto(players=3)")`.
from detente.games.jax_games import make as make_jax_game  # noqa: E402

__all__ += ["make_jax_game"]
