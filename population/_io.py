"""Small file helpers shared by the population stores (atomic JSON writes)."""

from __future__ import annotations

import json
import os
import pathlib
from typing import Any


def write_json_atomic(path: str | os.PathLike, value: Any) -> None:
    """Writes `value` as JSON to a temporary file renamed over `path`.

    A run killed mid-write leaves the previous file intact (`os.replace` is atomic on POSIX).
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp")
    with open(staging, "w") as f:
        json.dump(value, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(staging, path)


def read_json(path: str | os.PathLike, what: str) -> Any:
    """Reads a JSON file; a missing or unparsable file raises ValueError naming `what`."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {what} at {path}")
    try:
        with open(path) as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"corrupt {what} {path}: {error}") from error
