"""The registry of JAX-native games: `make("blotto(players=3,coins=10,fields=3)")`.

Game strings use OpenSpiel's syntax, `name(key=value,...)`; parameters are checked against
the registered defaults (unknown names and values of the wrong type fail with a message that
names them and lists what is accepted). A new JAX game (e.g. the realpolitik JAX engine)
registers itself with `register(name, factory, defaults)`.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable
from typing import Any

from detente.games.jax_games._core import JaxGame
from detente.games.jax_games.blotto import blotto_game
from detente.games.jax_games.normal_form import MATRIX_GAMES, matrix_game
from detente.games.registry import _split_game_string, short_name_of


@dataclasses.dataclass(frozen=True)
class JaxGameInfo:
    """A registered JAX game.

    Attributes:
      name: the short name passed to `make`.
      factory: `factory(**parameters) -> JaxGame`.
      parameters: parameter name -> default value (its type is the accepted type).
      description: one line for listings.
    """

    name: str
    factory: Callable[..., JaxGame]
    parameters: dict[str, Any]
    description: str


_REGISTRY: dict[str, JaxGameInfo] = {}


def register(
    name: str,
    factory: Callable[..., JaxGame],
    parameters: dict[str, Any] | None = None,
    *,
    description: str = "",
    replace: bool = False,
) -> None:
    """Registers a JAX game under `name`.

    Args:
      name: short name, e.g. "blotto" (letters, digits and underscores).
      factory: `factory(**parameters) -> JaxGame`, called with every parameter (defaults
        filled in), typed like its default.
      parameters: parameter name -> default value (bool, int, float or str).
      description: one line for listings.
      replace: allow replacing an existing registration.

    Raises:
      ValueError: if the name is malformed or taken (and `replace` is False), or a default
        has an unsupported type.
    """
    if not isinstance(name, str) or not name.replace("_", "").isalnum():
        raise ValueError(f"JAX game names are letters, digits and underscores, got {name!r}")
    if name in _REGISTRY and not replace:
        raise ValueError(f"JAX game {name!r} is already registered (pass replace=True)")
    parameters = dict(parameters or {})
    for key, default in parameters.items():
        if not isinstance(default, (bool, int, float, str)):
            raise ValueError(
                f"JAX game {name!r}: default of parameter {key!r} must be a bool, int, float or "
                f"str, got {default!r}"
            )
    _REGISTRY[name] = JaxGameInfo(name, factory, parameters, description)


def list_games() -> list[JaxGameInfo]:
    """Every registered JAX game, sorted by name."""
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def is_registered(name: str) -> bool:
    """Whether the game string `name` (with or without parameters) names a registered JAX game."""
    return short_name_of(name) in _REGISTRY


def _parse(game: str, key: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        if raw.lower() in ("true", "1"):
            return True
        if raw.lower() in ("false", "0"):
            return False
    elif isinstance(default, int):
        if raw.lstrip("+-").isdigit():
            return int(raw)
    elif isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            pass
    else:
        return raw
    kind = {bool: "a boolean (true/false)", int: "an integer", float: "a number"}[type(default)]
    raise ValueError(
        f"JAX game {game!r}: parameter {key}={raw!r} is not {kind} (default {default!r})"
    )


def make(name: str) -> JaxGame:
    """Builds a registered JAX game from its game string.

    Args:
      name: e.g. "matrix_rps", "blotto", "blotto(players=3,coins=10,fields=3)".

    Returns:
      `JaxGame(spec, init, step)` (unpacks as a triple).

    Raises:
      ValueError: unknown game (the message lists close matches and every registered game),
        malformed string, unknown parameter (the message lists the accepted ones), or a value
        of the wrong type or out of range.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"JAX game name must be a non-empty string, got {name!r}")
    short_name, raw_params = _split_game_string(name)
    info = _REGISTRY.get(short_name)
    if info is None:
        close = difflib.get_close_matches(short_name, list(_REGISTRY), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(
            f"unknown JAX game {short_name!r}{hint} (registered: {', '.join(sorted(_REGISTRY))})"
        )
    kwargs = dict(info.parameters)
    for key, raw in raw_params.items():
        if key not in info.parameters:
            accepted = ", ".join(f"{k} (default {v!r})" for k, v in sorted(info.parameters.items()))
            raise ValueError(
                f"JAX game {short_name!r} has no parameter {key!r}; accepted parameters: "
                f"{accepted or 'none'}"
            )
        kwargs[key] = _parse(short_name, key, raw, info.parameters[key])
    return info.factory(**kwargs)


for _name in MATRIX_GAMES:
    register(
        _name,
        lambda _name=_name: matrix_game(_name),
        description=f"OpenSpiel's {_name} as a JAX one-shot game",
    )
register(
    "blotto",
    blotto_game,
    {"players": 2, "coins": 10, "fields": 3},
    description="Colonel Blotto, OpenSpiel's rules, any number of players",
)


def _realpolitik_jax(*, dispatch_chunk: int, **parameters: Any) -> JaxGame:
    # Imported on first use: the engine pulls in the realpolitik package and its tables.
    from detente.games.realpolitik_jax import RealpolitikJax

    # A game string carries integers only: 0 stands for the engine's own rule (None).
    if dispatch_chunk < 0:
        raise ValueError(
            f"JAX game 'realpolitik_jax': dispatch_chunk={dispatch_chunk} must be a positive "
            "integer (most games per chunk of the CPU's phase dispatch) or 0 (the engine's rule)"
        )
    return RealpolitikJax(**parameters, dispatch_chunk=dispatch_chunk or None).game()


register(
    "realpolitik_jax",
    _realpolitik_jax,
    {
        "map": "classic",
        "scoring": "sum_of_squares",
        "max_years": 10,
        "random_end_prob": 0.0,
        "random_end_after": 1,
        "dispatch_chunk": 0,
    },
    description="realpolitik on the JAX engine (one step = one phase, K order slots)",
)
