"""The game registry: one `load` for OpenSpiel's games and detente's own.

`load("goofspiel(players=3,num_cards=5)")` accepts OpenSpiel's usual game strings. Names and
parameters are checked before anything is built, so a typo fails with the close matches and
a bad parameter fails naming the parameter, the type and range it accepts.

detente's own OpenSpiel games (written in Python) are registered with pyspiel through
`register_openspiel_game` when their module is imported, and then load like any other.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib

# Importing this module registers OpenSpiel's Python games (python_kuhn_poker, ...).
import open_spiel.python.games  # noqa: F401
import pyspiel

# detente's own games: short name -> module whose import registers them with pyspiel.
_DETENTE_GAME_MODULES: dict[str, str] = {}


@dataclasses.dataclass(frozen=True)
class GameInfo:
    """What `detente games` lists about one registered game.

    Attributes:
      name: the short name passed to `load`.
      source: "openspiel" or "detente".
      dynamics: "sequential", "simultaneous" or "mean_field".
      chance: "deterministic", "explicit_stochastic" or "sampled_stochastic".
      min_players: smallest number of players.
      max_players: largest number of players.
      utility: "zero_sum", "constant_sum", "general_sum" or "identical".
      parameters: parameter name -> default value.
    """

    name: str
    source: str
    dynamics: str
    chance: str
    min_players: int
    max_players: int
    utility: str
    parameters: dict


def register_openspiel_game(short_name: str, module: str) -> None:
    """Declares that importing `module` registers the pyspiel game `short_name`.

    The module is imported lazily, the first time the game is loaded or listed.
    """
    _DETENTE_GAME_MODULES[short_name] = module


def _import_detente_games() -> None:
    for module in set(_DETENTE_GAME_MODULES.values()):
        importlib.import_module(module)


def _game_types() -> dict[str, pyspiel.GameType]:
    _import_detente_games()
    return {game_type.short_name: game_type for game_type in pyspiel.registered_games()}


def short_name_of(name: str) -> str | None:
    """The name part of a game string ("blotto" for "blotto(players=3)"); None if malformed."""
    if not isinstance(name, str):
        return None
    try:
        short_name, _ = _split_game_string(name)
    except ValueError:
        return None
    return short_name


def is_registered(name: str) -> bool:
    """Whether `load` knows the game named by `name` (with or without parameters)."""
    return short_name_of(name) in _game_types()


def list_games() -> list[GameInfo]:
    """Every game `load` accepts, sorted by name."""
    infos = []
    for name, game_type in sorted(_game_types().items()):
        infos.append(
            GameInfo(
                name=name,
                source="detente" if name in _DETENTE_GAME_MODULES else "openspiel",
                dynamics=game_type.dynamics.name.lower(),
                chance=game_type.chance_mode.name.lower(),
                min_players=game_type.min_num_players,
                max_players=game_type.max_num_players,
                utility=game_type.utility.name.lower(),
                parameters=dict(game_type.parameter_specification),
            )
        )
    return infos


def _split_game_string(text: str) -> tuple[str, dict[str, str]]:
    """Parses "name(key=value,key=game(k=v))" into its name and raw parameter strings."""
    text = text.strip()
    if "(" not in text:
        if ")" in text or "=" in text or "," in text:
            raise ValueError(f"malformed game string {text!r}; expected name(key=value,...)")
        return text, {}
    if not text.endswith(")"):
        raise ValueError(f"malformed game string {text!r}; expected name(key=value,...)")
    name, body = text[: text.index("(")].strip(), text[text.index("(") + 1 : -1]
    params: dict[str, str] = {}
    depth, start = 0, 0
    pieces = []
    for i, char in enumerate(body):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise ValueError(f"malformed game string {text!r}: unbalanced parentheses")
        elif char == "," and depth == 0:
            pieces.append(body[start:i])
            start = i + 1
    if depth != 0:
        raise ValueError(f"malformed game string {text!r}: unbalanced parentheses")
    pieces.append(body[start:])
    for piece in pieces:
        if not piece.strip():
            continue
        if "=" not in piece:
            raise ValueError(
                f"malformed parameter {piece!r} in game string {text!r}; expected key=value"
            )
        key, value = piece.split("=", 1)
        key = key.strip()
        if key in params:
            raise ValueError(f"parameter {key!r} given twice in game string {text!r}")
        params[key] = value.strip()
    return name, params


def _describe(default) -> str:
    if isinstance(default, bool):
        return "a boolean (true/false)"
    if isinstance(default, int):
        return "an integer"
    if isinstance(default, float):
        return "a number"
    if isinstance(default, str):
        return "a string"
    return "a game string"


def _check_value(game: str, key: str, raw: str, default) -> None:
    kind = _describe(default)
    if isinstance(default, bool):
        ok = raw.lower() in ("true", "false", "1", "0")
    elif isinstance(default, int):
        ok = raw.lstrip("+-").isdigit()
    elif isinstance(default, float):
        try:
            float(raw)
            ok = True
        except ValueError:
            ok = False
    else:
        ok = True
    if not ok:
        raise ValueError(
            f"game {game!r}: parameter {key}={raw!r} is not {kind} (default {default!r})"
        )


def load(name: str) -> pyspiel.Game:
    """Loads a registered game by its usual string.

    Args:
      name: e.g. "kuhn_poker", "goofspiel(players=3,num_cards=5)",
        "realpolitik(map=classic,scoring=sum_of_squares)".

    Returns:
      The pyspiel game.

    Raises:
      ValueError: the name is not registered (the message lists close matches), the string
        is malformed, or a parameter is unknown, of the wrong type or out of range (the
        message names it and what it accepts).
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"game name must be a non-empty string, got {name!r}")
    short_name, params = _split_game_string(name)
    game_types = _game_types()
    game_type = game_types.get(short_name)
    if game_type is None:
        close = difflib.get_close_matches(short_name, list(game_types), n=5, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(
            f"unknown game {short_name!r}{hint} (`detente games` lists all "
            f"{len(game_types)} registered games)"
        )
    spec = dict(game_type.parameter_specification)
    for key, raw in params.items():
        if key not in spec:
            accepted = ", ".join(f"{k} (default {v!r})" for k, v in sorted(spec.items()))
            raise ValueError(
                f"game {short_name!r} has no parameter {key!r}; accepted parameters: "
                f"{accepted or 'none'}"
            )
        _check_value(short_name, key, raw, spec[key])
    if "players" in params:
        players = int(params["players"])
        low, high = game_type.min_num_players, game_type.max_num_players
        if not low <= players <= high:
            raise ValueError(
                f"game {short_name!r}: players={players} is out of range; it accepts "
                f"{low} to {high} players"
            )
    try:
        return pyspiel.load_game(name.strip())
    except pyspiel.SpielError as error:
        raise ValueError(f"game {name!r} could not be created: {error}") from error
