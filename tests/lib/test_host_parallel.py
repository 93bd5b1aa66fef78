"""Tests for detente.lib.host_parallel: a batch split into parts run from host threads."""

from __future__ import annotations

import os
import threading

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from detente.games import jax_games
from detente.lib import host_parallel
from detente.lib.host_parallel import (
    HostParallel,
    concat_batch,
    default_num_parts,
    map_parts,
    part_bounds,
    split_batch,
)


def test_part_bounds_cover_the_batch_with_sizes_differing_by_at_most_one():
    assert part_bounds(10, 1) == [(0, 10)]
    assert part_bounds(10, 3) == [(0, 4), (4, 7), (7, 10)]
    assert part_bounds(4, 4) == [(0, 1), (1, 2), (2, 3), (3, 4)]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_part_bounds_rejects_a_bad_number_of_parts(bad):
    with pytest.raises(ValueError, match="num_parts must be a positive integer"):
        part_bounds(8, bad)


def test_part_bounds_rejects_more_parts_than_games():
    with pytest.raises(ValueError, match=r"batch of 3 into num_parts=4.*1 to 3"):
        part_bounds(3, 4)


def test_split_then_concat_gives_the_batch_back_along_any_axis():
    tree = {"a": jnp.arange(2 * 7 * 3).reshape(2, 7, 3), "b": (jnp.ones((2, 7), bool),)}
    parts = split_batch(tree, 3, axis=1)
    assert [p["a"].shape[1] for p in parts] == [3, 2, 2]
    back = concat_batch(parts, axis=1)
    for x, y in zip(jax.tree.leaves(tree), jax.tree.leaves(back), strict=True):
        np.testing.assert_array_equal(x, y)


def test_split_rejects_leaves_that_disagree_on_the_batch_size():
    with pytest.raises(ValueError, match=r"same size along axis 0, got sizes \[4, 5\]"):
        split_batch((jnp.zeros(4), jnp.zeros(5)), 2)


def _game_step(name: str):
    game = jax_games.make(name)
    step = jax.jit(jax.vmap(jax_games.auto_reset(game.init, game.step)))
    return game, step


@pytest.mark.parametrize("num_parts", [1, 2, 3])
def test_parts_of_a_game_step_equal_one_call_on_the_whole_batch(num_parts):
    # A vmapped step with one key per game is batch-separable: the parts' results,
    # concatenated, are the one call's, bit for bit, for an uneven split too.
    game, step = _game_step("blotto(players=3,coins=10,fields=3)")
    batch = 8
    state = jax.vmap(game.init)(jax.random.split(jax.random.key(0), batch))
    actions = jax.random.randint(
        jax.random.key(1), (batch, game.spec.num_players, game.spec.num_slots), 0, 3
    )
    keys = jax.random.split(jax.random.key(2), batch)
    whole = step(state, actions, keys)
    parted = HostParallel(step, num_parts, in_axes=(0, 0, 0))(state, actions, keys)
    assert jax.tree.structure(whole) == jax.tree.structure(parted)
    for x, y in zip(jax.tree.leaves(whole), jax.tree.leaves(parted), strict=True):
        np.testing.assert_array_equal(x, y)


def test_unsplit_arguments_go_whole_to_every_part_and_out_axis_concatenates():
    fn = jax.jit(lambda scale, x: jnp.stack([x * scale, x + scale]))  # out [2, B]
    x = jnp.arange(6.0)
    out = HostParallel(fn, 2, in_axes=(None, 0), out_axis=1)(jnp.float32(3.0), x)
    np.testing.assert_array_equal(out, fn(jnp.float32(3.0), x))


def test_parts_run_concurrently_from_host_threads():
    # Each part waits until both parts have started: only concurrent calls get past it.
    barrier = threading.Barrier(2, timeout=30)
    seen = set()

    def fn(x):
        barrier.wait()
        seen.add(threading.get_ident())
        return x

    out = HostParallel(fn, 2, in_axes=(0,))(jnp.arange(4))
    np.testing.assert_array_equal(out, jnp.arange(4))
    assert len(seen) == 2


def test_an_error_in_a_part_is_raised_to_the_caller():
    def fn(x):
        if x.shape[0] == 2:
            raise RuntimeError("part failed")
        return x

    with pytest.raises(RuntimeError, match="part failed"):
        map_parts(fn, [(jnp.zeros(3),), (jnp.zeros(2),)])


@pytest.mark.parametrize(
    ("args", "in_axes", "match"),
    [
        ((jnp.zeros(4),), (0, 0), r"got 1 arguments for in_axes=\(0, 0\)"),
        ((jnp.zeros(4), jnp.zeros(5)), (0, 0), r"disagree on the batch size: \[4, 5\]"),
        ((jnp.zeros(1),), (0,), r"batch of 1 into num_parts=2"),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_error(args, in_axes, match):
    with pytest.raises(ValueError, match=match):
        HostParallel(lambda *a: a, 2, in_axes)(*args)


def test_construction_checks_its_parameters():
    with pytest.raises(ValueError, match="num_parts must be a positive integer, got 0"):
        HostParallel(lambda x: x, 0, (0,))
    with pytest.raises(ValueError, match="at least one argument must be split"):
        HostParallel(lambda x: x, 2, (None,))
    with pytest.raises(TypeError, match="fn must be callable"):
        HostParallel(3, 2, (0,))


def test_default_parts_are_the_host_cores_on_cpu_and_one_on_accelerators(monkeypatch):
    monkeypatch.setattr(host_parallel, "host_cores", lambda: 6)
    assert default_num_parts("cpu") == 6
    assert default_num_parts("gpu") == 1
    assert default_num_parts("tpu") == 1


def test_host_cores_counts_the_cores_this_process_may_use():
    assert 1 <= host_parallel.host_cores() <= (os.cpu_count() or 1)
