"""Tests for detente.agents.shuffle: jax.random.permutation's order from cheaper sorts."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from detente.agents.shuffle import num_rounds, permutation, stable_order


@pytest.mark.parametrize("n", [1, 2, 7, 100, 4_096, 32_768])
def test_permutation_is_jax_random_permutation(n):
    draw = jax.jit(permutation, static_argnums=1)
    for seed in range(8):
        key = jax.random.key(seed)
        ours = np.asarray(draw(key, n))
        np.testing.assert_array_equal(ours, np.asarray(jax.random.permutation(key, n)))
        np.testing.assert_array_equal(np.sort(ours), np.arange(n))


def test_num_rounds_is_the_smallest_with_n_cubed_at_most_the_keys():
    assert [num_rounds(n) for n in (0, 1, 2, 2**21, 2**22)] == [0, 0, 1, 2, 3]


def test_stable_order_with_equal_keys_keeps_input_order():
    rng = np.random.default_rng(0)
    for high in (1, 3, 50, 2**32 - 1):  # all tied, many ties, some ties, (almost surely) none
        keys = rng.integers(0, high, size=500, endpoint=True, dtype=np.uint32)
        expected = np.argsort(keys, kind="stable")
        np.testing.assert_array_equal(np.asarray(jax.jit(stable_order)(keys)), expected)


def test_stable_order_under_vmap_matches_each_row():
    # Under vmap the tie test is batched, so lax.cond runs both branches and selects per row.
    rng = np.random.default_rng(1)
    keys = np.stack(
        [
            rng.integers(0, 2**32 - 1, size=300, dtype=np.uint32),  # distinct keys
            rng.integers(0, 4, size=300, dtype=np.uint32),  # ties
        ]
    )
    batched = np.asarray(jax.jit(jax.vmap(stable_order))(jnp.asarray(keys)))
    for row, expected in zip(batched, keys, strict=True):
        np.testing.assert_array_equal(row, np.argsort(expected, kind="stable"))
