"""Checkpoints that cannot run code when loaded: arrays in .npz plus JSON metadata.

A checkpoint is a directory holding `arrays.npz` (one array per pytree leaf, named by its
path, loaded with `allow_pickle=False`) and `metadata.json` (user metadata, the leaf names,
shapes and dtypes, and the SHA-256 of the array file). Restoring needs a template pytree of
the same structure (e.g. a freshly initialised `TrainingState`): the file supplies values,
never structure or code. Writes go to a temporary directory renamed into place, so a run
killed mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import shutil
import tempfile
from typing import Any

import jax
import numpy as np

FORMAT_VERSION = 1
_ARRAYS = "arrays.npz"
_METADATA = "metadata.json"


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt or does not match the expected structure."""


def _is_typed_key(leaf: Any) -> bool:
    return hasattr(leaf, "dtype") and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key)


def _named_leaves(tree: Any) -> list[tuple[str, np.ndarray]]:
    leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
    named = []
    for path, leaf in leaves:
        if _is_typed_key(leaf):  # new-style PRNG keys are stored as their raw key data
            leaf = jax.random.key_data(leaf)
        named.append((jax.tree_util.keystr(path), np.asarray(leaf)))
    return named


def _file_sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def content_hash(tree: Any) -> str:
    """SHA-256 of a pytree's leaf names, dtypes, shapes and bytes (e.g. a member's params).

    Identical parameters give identical hashes on every machine; any change to a value,
    shape, dtype or structure changes the hash.
    """
    digest = hashlib.sha256()
    for name, leaf in _named_leaves(tree):
        leaf = np.ascontiguousarray(leaf)
        digest.update(f"{name}|{leaf.dtype.str}|{leaf.shape}|".encode())
        digest.update(leaf.tobytes())
    return digest.hexdigest()


def save_checkpoint(directory: str | os.PathLike, tree: Any, metadata: dict | None = None) -> None:
    """Saves a pytree of arrays and JSON-able metadata to `directory`, atomically.

    Args:
      directory: target directory; replaced if it exists.
      tree: a pytree whose leaves are arrays or scalars (params, optimiser state, keys).
      metadata: JSON-serialisable user metadata (config, step, ...).
    """
    directory = pathlib.Path(directory)
    named = _named_leaves(tree)
    names = [name for name, _ in named]
    if len(set(names)) != len(names):
        raise CheckpointError("pytree has leaves with duplicate paths; cannot name them")
    try:
        user_metadata = json.loads(json.dumps(metadata or {}))
    except TypeError as error:
        raise CheckpointError(f"checkpoint metadata is not JSON-serialisable: {error}") from error
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        arrays = {f"leaf_{i}": leaf for i, (_, leaf) in enumerate(named)}
        with open(staging / _ARRAYS, "wb") as f:
            np.savez(f, **arrays)
        record = {
            "format_version": FORMAT_VERSION,
            "leaves": [
                {"name": name, "dtype": leaf.dtype.str, "shape": list(leaf.shape)}
                for name, leaf in named
            ],
            "arrays_sha256": _file_sha256(staging / _ARRAYS),
            "metadata": user_metadata,
        }
        with open(staging / _METADATA, "w") as f:
            json.dump(record, f, indent=1, sort_keys=True)
        if directory.exists():
            old = directory.with_name(f".{directory.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.rename(directory, old)
            os.rename(staging, directory)
            shutil.rmtree(old)
        else:
            os.rename(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def load_metadata(directory: str | os.PathLike) -> dict:
    """Returns the user metadata of a checkpoint without reading its arrays."""
    return _read_record(pathlib.Path(directory))["metadata"]


def _read_record(directory: pathlib.Path) -> dict:
    path = directory / _METADATA
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {directory}: {_METADATA} is missing")
    try:
        with open(path) as f:
            record = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"corrupt checkpoint {path}: {error}") from error
    if not isinstance(record, dict) or record.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"corrupt checkpoint {path}: format_version is "
            f"{record.get('format_version') if isinstance(record, dict) else None!r}, "
            f"expected {FORMAT_VERSION}"
        )
    return record


def load_checkpoint(directory: str | os.PathLike, template: Any) -> tuple[Any, dict]:
    """Restores a pytree saved by `save_checkpoint` into the structure of `template`.

    Args:
      directory: the checkpoint directory.
      template: a pytree of the expected structure (values are ignored).

    Returns:
      (tree, metadata): the restored pytree (numpy leaves) and the user metadata.

    Raises:
      CheckpointError: the checkpoint is missing or corrupt (hash mismatch, unreadable
        arrays) or its leaves differ from the template's (names, shapes or dtypes).
    """
    directory = pathlib.Path(directory)
    record = _read_record(directory)
    arrays_path = directory / _ARRAYS
    if not arrays_path.is_file():
        raise CheckpointError(f"corrupt checkpoint {directory}: {_ARRAYS} is missing")
    if _file_sha256(arrays_path) != record.get("arrays_sha256"):
        raise CheckpointError(
            f"corrupt checkpoint {directory}: {_ARRAYS} does not match the SHA-256 recorded "
            "in its metadata (truncated or modified file)"
        )
    expected = _named_leaves(template)
    stored = record["leaves"]
    stored_names = [leaf["name"] for leaf in stored]
    expected_names = [name for name, _ in expected]
    if stored_names != expected_names:
        missing = sorted(set(expected_names) - set(stored_names))
        extra = sorted(set(stored_names) - set(expected_names))
        raise CheckpointError(
            f"checkpoint {directory} does not match the expected structure: "
            f"missing leaves {missing[:5]}, unexpected leaves {extra[:5]}"
        )
    try:
        with np.load(arrays_path, allow_pickle=False) as data:
            values = [data[f"leaf_{i}"] for i in range(len(stored))]
    except (ValueError, OSError, KeyError) as error:
        raise CheckpointError(f"corrupt checkpoint {arrays_path}: {error}") from error
    for (name, reference), value in zip(expected, values, strict=True):
        if value.shape != reference.shape or value.dtype != reference.dtype:
            raise CheckpointError(
                f"checkpoint {directory}: leaf {name} has shape {value.shape} dtype "
                f"{value.dtype}, expected shape {reference.shape} dtype {reference.dtype}"
            )
    template_leaves, treedef = jax.tree_util.tree_flatten(template)
    values = [
        jax.random.wrap_key_data(value, impl=jax.random.key_impl(reference))
        if _is_typed_key(reference)
        else value
        for reference, value in zip(template_leaves, values, strict=True)
    ]
    return jax.tree_util.tree_unflatten(treedef, values), record["metadata"]
