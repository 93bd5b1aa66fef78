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


def _annotation(config: Any, path: list[str]) -> Any:
    hints = typing.get_type_hints(type(config))
    if len(path) == 1:
        return hints[path[0]]
    return _annotation(getattr(config, path[0]), path[1:])


def _apply(config: Any, changes: list[tuple[list[str], Any]]) -> Any:
    """`config` with every change applied in one `dataclasses.replace` per nested config, so
    that its validation sees all of them together."""
    fields: dict[str, Any] = {}
    nested: dict[str, list[tuple[list[str], Any]]] = {}
    for path, value in changes:
        if len(path) == 1:
            fields[path[0]] = value
        else:
            nested.setdefault(path[0], []).append((path[1:], value))
    for name, child_changes in nested.items():
        fields[name] = _apply(getattr(config, name), child_changes)
    return dataclasses.replace(config, **fields)


def apply_overrides(config: Any, overrides: Sequence[str]) -> Any:
    """Returns `config` with `key=value` overrides applied (dotted keys for nested configs).

    Tuples are given as values separated by ";" (or ","), None as "none". The overrides are
    applied together, so their order does not matter where one field's accepted values depend
    on another's (e.g. a JAX-only game with `payoff_estimator=sampled`); a key given twice
    takes its last value.

    Raises:
      ValueError: an override is malformed, names an unknown key (the message lists the
        accepted keys), has a value of the wrong type, or fails the config's validation (the
        message names the overrides given).
    """
    accepted = _flat_fields(config)
    changes: dict[str, tuple[str, Any]] = {}
    for override in overrides:
        if "=" not in override:
            raise ValueError(f"override {override!r} is not of the form key=value")
        key, raw = (part.strip() for part in override.split("=", 1))
        if key not in accepted:
            raise ValueError(
                f"unknown config key {key!r}; accepted keys: {', '.join(sorted(accepted))}"
            )
        changes.pop(key, None)
        changes[key] = (override, _parse(key, raw, _annotation(config, key.split("."))))
    if not changes:
        return config
    try:
        return _apply(config, [(key.split("."), value) for key, (_, value) in changes.items()])
    except (ValueError, TypeError) as error:
        given = [override for override, _ in changes.values()]
        what = f"override {given[0]!r}" if len(given) == 1 else f"overrides {given}"
        raise ValueError(f"{what} rejected: {error}") from error


def config_to_dict(config: Any) -> dict:
    """A JSON-able dict of a (nested) config dataclass."""
    return dataclasses.asdict(config)
