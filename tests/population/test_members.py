"""The population store: members, content hashes, save/load with hash verification."""

import json

import jax
import numpy as np
import pytest

from detente.lib import CheckpointError, content_hash
from detente.population import Member, Population


def _params(seed, scale=1.0):
    key = jax.random.key(seed)
    return {"layer": {"w": scale * jax.random.normal(key, (3, 2)), "b": np.zeros(2, np.float32)}}


def test_member_freezes_params_and_hashes_them():
    params = _params(0)
    member = Member.create("a", params, role="initial", step=3, metadata={"iteration": 1})
    assert member.hash == content_hash(params)
    assert member.describe() == {
        "id": "a",
        "role": "initial",
        "parent": None,
        "step": 3,
        "hash": member.hash,
        "metadata": {"iteration": 1},
    }
    with pytest.raises(ValueError, match="read-only"):
        member.params["layer"]["w"][0, 0] = 1.0
    assert Member.create("b", _params(1)).hash != member.hash


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"id": ""}, "Member id must be a non-empty string"),
        ({"role": 3}, "Member role must be a non-empty string"),
        ({"step": -1}, "Member step must be a non-negative integer"),
        ({"parent": 5}, "Member parent must be None or a member id"),
        ({"metadata": {"x": object()}}, "metadata of member 'm' is not JSON-serialisable"),
    ],
)
def test_bad_member(kwargs, message):
    arguments = {"id": "m", **kwargs}
    with pytest.raises(ValueError, match=message):
        Member.create(arguments.pop("id"), _params(0), **arguments)


def test_population_order_lookup_and_errors():
    population = Population([Member.create("a", _params(0)), Member.create("b", _params(1))])
    population.add(Member.create("c", _params(2), parent="a"))
    assert population.ids == ["a", "b", "c"] and len(population) == 3 and "b" in population
    with pytest.raises(ValueError, match="member id 'a' is already in the population"):
        population.add(Member.create("a", _params(3)))
    with pytest.raises(ValueError, match="names parent 'zz', which is not in the population"):
        population.add(Member.create("d", _params(3), parent="zz"))
    with pytest.raises(KeyError, match="unknown member id 'q'"):
        population["q"]
    with pytest.raises(ValueError, match=r"opponents: unknown member id 'q'; .*\['a', 'b', 'c'\]"):
        population.check_ids(["a", "q"], "opponents")
    with pytest.raises(TypeError, match="expects a Member"):
        population.add("a")


def test_save_load_round_trip_and_incremental_save(tmp_path):
    population = Population([Member.create("a", _params(0), role="initial")])
    population.save(tmp_path)
    first = tmp_path / "members" / "000000" / "arrays.npz"
    mtime = first.stat().st_mtime_ns
    population.add(Member.create("b", _params(1), parent="a", step=7, metadata={"k": [1, 2]}))
    population.save(tmp_path)
    assert first.stat().st_mtime_ns == mtime  # unchanged members are not rewritten
    loaded = Population.load(tmp_path, _params(9))
    assert loaded.ids == ["a", "b"] and loaded.hashes() == population.hashes()
    assert loaded["b"].parent == "a" and loaded["b"].step == 7
    assert dict(loaded["b"].metadata) == {"k": [1, 2]}
    subset = Population.load(tmp_path, _params(9), member_ids=["b"])
    assert subset.ids == ["b"] and subset["b"].parent == "a"
    with pytest.raises(CheckpointError, match=r"has no member\(s\) \['x'\]"):
        Population.load(tmp_path, _params(9), member_ids=["x"])


def test_changed_member_file_is_refused_naming_the_member(tmp_path):
    population = Population([Member.create("a", _params(0)), Member.create("b", _params(1))])
    population.save(tmp_path)
    # Replace b's checkpoint by a valid checkpoint of other parameters: the checkpoint's own
    # SHA-256 matches, only the population index's content hash catches it.
    Population([Member.create("b", _params(5))]).save(tmp_path / "other")
    target = tmp_path / "members" / "000001"
    for name in ("arrays.npz", "metadata.json"):
        (target / name).write_bytes((tmp_path / "other" / "members" / "000000" / name).read_bytes())
    with pytest.raises(CheckpointError, match="member 'b' of population .* was changed"):
        Population.load(tmp_path, _params(9))
    # A corrupted array file fails through the checkpoint's own hash, still naming the member.
    (target / "arrays.npz").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="member 'b' of population .* cannot be loaded"):
        Population.load(tmp_path, _params(9))


def test_missing_or_corrupt_index(tmp_path):
    with pytest.raises(CheckpointError, match="index.json is missing"):
        Population.load(tmp_path, _params(0))
    (tmp_path / "index.json").write_text(json.dumps({"format_version": 99}))
    with pytest.raises(CheckpointError, match="expected format_version 1"):
        Population.load(tmp_path, _params(0))
