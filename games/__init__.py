"""Game definitions and the registry that loads them by name.

`load("goofspiel(players=3,num_cards=5)")` returns any registered OpenSpiel game (C++ or
Python) and detente's own games the same way; `list_games()` lists them with their kind.
"""

from detente.games.registry import GameInfo, list_games, load, register_openspiel_game

__all__ = ["GameInfo", "list_games", "load", "register_openspiel_game"]

register_openspiel_game("realpolitik", "detente.games.realpolitik.openspiel_game")
