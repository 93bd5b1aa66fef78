"""Bit-word sets (`_bits`) against their boolean definitions."""

import jax.numpy as jnp
import numpy as np
import pytest

from detente.games.realpolitik_jax import _bits


@pytest.mark.parametrize("n", [0, 1, 19, 32, 33, 81])
def test_pack_matches_numpy_and_round_trips(n):
    rng = np.random.default_rng(n)
    x = rng.random((3, 5, n)) < 0.4
    words = _bits.pack(jnp.asarray(x))
    assert words.dtype == jnp.uint32 and words.shape == (3, 5, _bits.num_words(n))
    np.testing.assert_array_equal(np.asarray(words), _bits.pack_np(x))
    items = jnp.arange(n)
    back = _bits.contains(words[..., None, :], jnp.broadcast_to(items, (3, 5, n)))
    np.testing.assert_array_equal(np.asarray(back), x)
    np.testing.assert_array_equal(np.asarray(_bits.count(words)), x.sum(-1))


def test_intersects_is_a_shared_item():
    rng = np.random.default_rng(0)
    a, b = rng.random((2, 50, 40)) < 0.05
    got = _bits.intersects(_bits.pack(jnp.asarray(a)), _bits.pack(jnp.asarray(b)))
    np.testing.assert_array_equal(np.asarray(got), (a & b).any(-1))
    assert 0 < np.asarray(got).sum() < 50  # both outcomes are checked


def test_group_collects_items_by_index():
    index = np.array([3, -1, 0, 3, 5, 5, 2, 3] * 5, np.int32)  # 40 items: two words
    num = 5  # index 5 is out of range: in no set, like -1
    got = _bits.group(jnp.asarray(index), num)
    expected = _bits.pack_np(index[None, :] == np.arange(num)[:, None])
    np.testing.assert_array_equal(np.asarray(got), expected)


def test_sets_of_and_count_below():
    rng = np.random.default_rng(1)
    n, num = 70, 4  # three words per set
    item = rng.permutation(n)[:30].astype(np.int32)  # distinct items
    index = rng.integers(-1, num, size=30).astype(np.int32)
    sets = _bits.sets_of(jnp.asarray(index), jnp.asarray(item), num, n)
    member = np.zeros((num, n), bool)
    for j, i in zip(index, item, strict=True):
        if j >= 0:
            member[j, i] = True
    np.testing.assert_array_equal(np.asarray(sets), _bits.pack_np(member))
    queries = np.arange(n + 1)  # every item, and one past the last
    got = _bits.count_below(sets[:, None, :], jnp.asarray(queries)[None, :])
    expected = np.stack([[member[j, :q].sum() for q in queries] for j in range(num)])
    np.testing.assert_array_equal(np.asarray(got), expected)
