"""Checkpoints: round trip, structure checks, corruption detection, no pickle."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from detente.lib.checkpoint import (
    CheckpointError,
    content_hash,
    load_checkpoint,
    load_metadata,
    save_checkpoint,
)


def _tree():
    params = {"linear": {"w": jnp.arange(6.0).reshape(2, 3), "b": jnp.zeros(3)}}
    opt_state = optax.adam(1e-3).init(params)
    return {"params": params, "opt_state": opt_state, "key": jax.random.key_data(jax.random.key(3))}


def test_round_trip(tmp_path):
    tree = _tree()
    save_checkpoint(tmp_path / "ckpt", tree, {"step": 7, "config": {"lr": 0.1}})
    restored, metadata = load_checkpoint(tmp_path / "ckpt", tree)
    assert metadata == {"step": 7, "config": {"lr": 0.1}}
    assert load_metadata(tmp_path / "ckpt")["step"] == 7
    jax.tree_util.tree_map(np.testing.assert_array_equal, tree, restored)
    assert jax.tree_util.tree_structure(tree) == jax.tree_util.tree_structure(restored)


def test_typed_prng_keys_round_trip(tmp_path):
    tree = {"key": jax.random.key(5), "step": np.int32(3)}
    save_checkpoint(tmp_path / "ckpt", tree)
    restored, _ = load_checkpoint(tmp_path / "ckpt", tree)
    np.testing.assert_array_equal(
        jax.random.key_data(restored["key"]), jax.random.key_data(tree["key"])
    )
    assert jax.random.uniform(restored["key"]) == jax.random.uniform(tree["key"])


def test_overwrite_keeps_only_latest(tmp_path):
    tree = _tree()
    save_checkpoint(tmp_path / "ckpt", tree, {"step": 1})
    save_checkpoint(tmp_path / "ckpt", tree, {"step": 2})
    assert load_metadata(tmp_path / "ckpt")["step"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_arrays_are_loaded_without_pickle(tmp_path):
    save_checkpoint(tmp_path / "ckpt", _tree())
    with np.load(tmp_path / "ckpt" / "arrays.npz", allow_pickle=False) as data:
        assert all(data[name].dtype != object for name in data.files)


def test_corrupt_arrays_are_detected(tmp_path):
    save_checkpoint(tmp_path / "ckpt", _tree())
    path = tmp_path / "ckpt" / "arrays.npz"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_checkpoint(tmp_path / "ckpt", _tree())


def test_corrupt_metadata_is_detected(tmp_path):
    save_checkpoint(tmp_path / "ckpt", _tree())
    (tmp_path / "ckpt" / "metadata.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupt checkpoint"):
        load_checkpoint(tmp_path / "ckpt", _tree())


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "nothing", _tree())


def test_structure_mismatch_names_leaves(tmp_path):
    save_checkpoint(tmp_path / "ckpt", {"a": np.zeros(2)})
    with pytest.raises(CheckpointError, match=r"missing leaves .*'b'.*unexpected leaves .*'a'"):
        load_checkpoint(tmp_path / "ckpt", {"b": np.zeros(2)})
    with pytest.raises(CheckpointError, match="shape"):
        load_checkpoint(tmp_path / "ckpt", {"a": np.zeros(3)})


def test_metadata_must_be_json(tmp_path):
    with pytest.raises(CheckpointError, match="JSON"):
        save_checkpoint(tmp_path / "ckpt", {"a": np.zeros(1)}, {"bad": object()})
    assert not (tmp_path / "ckpt").exists()


def test_content_hash():
    tree = _tree()["params"]
    assert content_hash(tree) == content_hash(jax.tree_util.tree_map(np.array, tree))
    changed = {"linear": {"w": tree["linear"]["w"].at[0, 0].add(1e-3), "b": tree["linear"]["b"]}}
    assert content_hash(changed) != content_hash(tree)
    assert len(content_hash(tree)) == 64
    json.dumps(content_hash(tree))
