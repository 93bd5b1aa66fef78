"""Command-line overrides of typed, frozen experiment configs.

`apply_overrides(config, ["trainer.num_updates=50", "games=kuhn_poker;leduc_poker"])` returns a
new config; unknown keys and badly typed values fail naming the key and what is accepted, and
the dataclass's own `__post_init__` validation runs on the result.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Sequence
from typing import Any


def _flat_fields(config: Any, prefix: str = "") -> dict[str, Any]:
    fields = {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if dataclasses.is_dataclass(value):
            fields.update(_flat_fields(value, f"{prefix}{field.name}."))
        else:
            fields[f"{prefix}{field.name}"] = value
    return fields


def _parse(key: str, raw: str, annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if raw.lower() in ("none", "null") and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _parse(key, raw, arg)
            except ValueError as error:
                errors.append(str(error))
        raise ValueError("; ".join(errors))
    if origin is tuple:
        item_type = args[0] if args else str
        items = [item for item in raw.split(";" if ";" in raw else ",") if item.strip()]
        return tuple(_parse(key, item.strip(), item_type) for item in items)
    if annotation is bool:
        if raw.lower() in ("true", "1", "yes"):
            return True
        if raw.lower() in ("false", "0", "no"):
            return False
        raise ValueError(f"{key}={raw!r} is not a boolean (true/false)")
    if annotation is int:
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{key}={raw!r} is not an integer") from None
    if annotation is float:
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{key}={raw!r} is not a number") from None
    if annotation is str:
        return raw
    raise ValueError(f"{key}: cannot parse values of type {annotation}")


def _replace(config: Any, path: list[str], value: Any) -> Any:
    if len(path) == 1:
        return dataclasses.replace(config, **{path[0]: value})
    child = getattr(config, path[0])
    return dataclasses.replace(config, **{path[0]: _replace(child, path[1:], value)})


def _annotation(config: Any, path: list[str]) -> Any:
    hints = typing.get_type_hints(type(config))
    if len(path) == 1:
        return hints[path[0]]
    return _annotation(getattr(config, path[0]), path[1:])


def apply_overrides(config: Any, overrides: Sequence[str]) -> Any:
    """Returns `config` with `key=value` overrides applied (dotted keys for nested configs).

    Tuples are given as values separated by ";" (or ","), None as "none".

    Raises:
      ValueError: an override is malformed, names an unknown key (the message lists the
        accepted keys), has a value of the wrong type, or fails the config's validation.
    """
    accepted = _flat_fields(config)
    for override in overrides:
        if "=" not in override:
            raise ValueError(f"override {override!r} is not of the form key=value")
        key, raw = (part.strip() for part in override.split("=", 1))
        if key not in accepted:
            raise ValueError(
                f"unknown config key {key!r}; accepted keys: {', '.join(sorted(accepted))}"
            )
        path = key.split(".")
        value = _parse(key, raw, _annotation(config, path))
        try:
            config = _replace(config, path, value)
        except (ValueError, TypeError) as error:
            raise ValueError(f"override {override!r} rejected: {error}") from error
    return config


def config_to_dict(config: Any) -> dict:
    """A JSON-able dict of a (nested) config dataclass."""
    return dataclasses.asdict(config)
