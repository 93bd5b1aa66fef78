"""Sets of up to a few dozen items as uint32 bit words: fewer elements for XLA's CPU to touch.

A set over `n` items (seas, locations) is `num_words(n)` uint32 words, item i at bit i % 32 of
word i // 32 (at least one word, so that a board without seas still has a shape). Membership
tests and intersections then touch [..., W] words instead of [..., n] booleans; the
movement's convoy routes and paths and its retreat options use them (docs/realpolitik_jax.md).
The same sets as the booleans, bit for bit.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

WORD = 32
# Item i is in word i >> 5 at bit i & 31: the floor division and modulo by 32 of any int32,
# without the sign handling that XLA emits for `//` and `%` of signed integers.
_LOG_WORD = 5


def _word(item: jax.Array) -> jax.Array:
    return jnp.right_shift(item, _LOG_WORD)


def _bit(item: jax.Array) -> jax.Array:
    return jnp.left_shift(jnp.uint32(1), (item & (WORD - 1)).astype(jnp.uint32))


def num_words(n: int) -> int:
    """Words of a set over `n` items: ceil(n / 32), at least 1."""
    return max(1, -(-n // WORD))


def _shifts(n: int) -> tuple[int, np.ndarray]:
    words = num_words(n)
    return words, (np.arange(words * WORD) % WORD).astype(np.uint32)


def pack(x: jax.Array) -> jax.Array:
    """uint32 [..., W]: the set of the True entries of bool [..., n] along its last axis."""
    n = x.shape[-1]
    words, shifts = _shifts(n)
    pad = jnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, words * WORD - n)])
    bits = pad.astype(jnp.uint32) << jnp.asarray(shifts)
    # Distinct bits: their sum is their union.
    return jnp.sum(bits.reshape(*x.shape[:-1], words, WORD), axis=-1, dtype=jnp.uint32)


def pack_np(x: np.ndarray) -> np.ndarray:
    """`pack` of a numpy bool array (static tables)."""
    x = np.asarray(x, bool)
    n = x.shape[-1]
    words, shifts = _shifts(n)
    pad = np.zeros(x.shape[:-1] + (words * WORD,), np.uint32)
    pad[..., :n] = x
    bits = (pad << shifts).reshape(*x.shape[:-1], words, WORD)
    return np.bitwise_or.reduce(bits, axis=-1).astype(np.uint32)


def group(index: jax.Array, num: int) -> jax.Array:
    """uint32 [num, W]: set j holds the items i (of n) with `index[i]` == j (int32 [n]; -1 or
    `num`: in no set). One scatter of n bits, where packing [num, n] booleans would touch
    num * n."""
    n = index.shape[0]
    return sets_of(index, jnp.arange(n), num, n)


def sets_of(index: jax.Array, item: jax.Array, num: int, n: int) -> jax.Array:
    """uint32 [num, W] sets over `n` items: set j holds `item[i]` for every i with `index[i]` == j
    (int32 [E] each; `index` -1 or `num`: in no set). The items of one set must be distinct
    (each is added as its bit). One scatter of E bits."""
    one = _bit(item)
    at = jnp.where((index >= 0) & (index < num), index, num)
    # Distinct items are distinct bits: adding them is their union.
    return jnp.zeros((num + 1, num_words(n)), jnp.uint32).at[at, _word(item)].add(one)[:num]


def intersects(a: jax.Array, b: jax.Array) -> jax.Array:
    """bool [...]: sets `a` and `b` (uint32 [..., W], broadcast) share an item."""
    return jnp.any((a & b) != 0, axis=-1)


def contains(sets: jax.Array, item: jax.Array) -> jax.Array:
    """bool [...]: item int32 [...] (>= 0) is in the set uint32 [..., W]."""
    word = jnp.take_along_axis(sets, _word(item)[..., None], axis=-1)[..., 0]
    return (word & _bit(item)) != 0


def count(sets: jax.Array) -> jax.Array:
    """int32 [...]: the number of items of each set uint32 [..., W]."""
    return jnp.sum(jax.lax.population_count(sets).astype(jnp.int32), axis=-1)


def count_below(sets: jax.Array, item: jax.Array) -> jax.Array:
    """int32 [...]: the number of items smaller than item int32 [...] (>= 0) in the set uint32
    [..., W]."""
    word = jnp.arange(sets.shape[-1])
    at = _word(item)[..., None]
    low = _bit(item)[..., None] - 1
    mask = jnp.where(word < at, jnp.uint32(0xFFFFFFFF), jnp.where(word == at, low, 0))
    return count(sets & mask)
