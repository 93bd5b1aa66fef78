"""Gumbel-max sampling that draws noise only near the legal actions, with the dense draw's result.

`detente.agents.sample` adds `jax.random.gumbel(key, logits.shape)` to the masked logits and
takes the first maximum per slot. With a large action space and few legal actions (the classic
realpolitik board: A = 1,446 orders per slot, a few dozen legal), nearly all of that noise is
drawn for illegal entries, which the mask sets to -inf anyway: on a 2-core CPU the noise was
about two thirds of acting's time (docs/realpolitik_jax.md).

With the partitionable Threefry (`jax_threefry_partitionable`, JAX's default), the 32 random
bits of the entry at flat index i are `threefry2x32(key, (0, i))`'s two words xor-ed: each entry
depends on the key and its own index only. `gumbel_at` computes `jax.random.gumbel`'s value at
chosen flat indices from those bits, bit for bit. `sample_near_legal` cuts each slot's A entries
into blocks of `block` actions, lists the blocks that hold a legal action (at most
`blocks_per_slot` per slot on average over the call), and draws noise there only; where the
call holds more such blocks, it falls back to the dense draw (one `lax.cond`). Either way the
actions are those of the dense draw.

Dimension names: N slots (every leading axis flattened), A actions per slot.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend.random import threefry2x32_p

PRNGKey = jax.Array

BLOCK = 16
BLOCKS_PER_SLOT = 3
MIN_ACTIONS = 512
_UINT32_LIMIT = 2**32
_FLOAT32_TINY = np.float32(np.finfo(np.float32).tiny)


def _key_words(key: PRNGKey) -> tuple[jax.Array, jax.Array] | None:
    """The two uint32 words of a Threefry key, or None for a key of another implementation."""
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if str(jax.random.key_impl(key)) != "threefry2x32":
            return None
        data = jax.random.key_data(key)
    elif key.dtype == jnp.uint32 and key.shape == (2,):
        if jax.config.jax_default_prng_impl != "threefry2x32":
            return None
        data = key
    else:
        return None
    return data[0], data[1]


def gumbel_supported(key: PRNGKey, shape: tuple[int, ...], dtype) -> bool:
    """Whether `gumbel_at` reproduces `jax.random.gumbel(key, shape, dtype)` (decided when
    tracing): a scalar Threefry key, partitionable bits, float32, the default "low" mode and
    fewer than 2^32 entries."""
    return (
        jax.config.jax_threefry_partitionable
        and not jax.config.jax_high_dynamic_range_gumbel
        and jnp.dtype(dtype) == jnp.float32
        and int(np.prod(shape, dtype=np.int64)) < _UINT32_LIMIT
        and _key_words(key) is not None
    )


def gumbel_at(key: PRNGKey, flat_index: jax.Array) -> jax.Array:
    """`jax.random.gumbel(key, shape, jnp.float32).reshape(-1)[flat_index]`, bit for bit.

    Only where `gumbel_supported(key, shape, jnp.float32)`; the shape itself does not enter the
    value, only the flat index.

    Args:
      key: a scalar Threefry PRNG key.
      flat_index: uint32 [...], flat (row-major) indices into the sampled shape.

    Returns:
      float32 [...], the Gumbel noise at those indices.
    """
    words = _key_words(key)
    if words is None:
        raise ValueError(f"gumbel_at needs a threefry2x32 key, got {key.dtype}")
    flat_index = flat_index.astype(jnp.uint32)
    high, low = threefry2x32_p.bind(words[0], words[1], jnp.zeros_like(flat_index), flat_index)
    bits = high ^ low
    # jax.random.uniform(minval=tiny, maxval=1): 23 random mantissa bits under exponent 0.
    mantissa = lax.shift_right_logical(bits, jnp.uint32(32 - 23)) | jnp.uint32(0x3F800000)
    floats = lax.bitcast_convert_type(mantissa, jnp.float32) - jnp.float32(1.0)
    tiny = jnp.float32(_FLOAT32_TINY)
    uniform = lax.max(tiny, floats * (jnp.float32(1.0) - tiny) + tiny)
    return -jnp.log(-jnp.log(uniform))


def _first_max(x: jax.Array) -> jax.Array:
    """int32 [...]: the index of the first maximum of `x` [..., A] over its last axis.

    Exactly `jnp.argmax` (all -inf gives 0; a NaN counts as the maximum, so the first NaN's
    index), written as plain reductions that XLA fuses with whatever computes `x`. NaNs are
    found explicitly: whether XLA's CPU maximum propagates a NaN depends on how it is fused.
    """
    nan = jnp.isnan(x)
    top = jnp.max(jnp.where(nan, -jnp.inf, x), axis=-1, keepdims=True)
    first = jnp.where(jnp.any(nan, axis=-1, keepdims=True), nan, x == top)
    index = jnp.arange(x.shape[-1], dtype=jnp.int32)
    return jnp.min(jnp.where(first, index, x.shape[-1]), axis=-1)


def dense_sample(key: PRNGKey, logits: jax.Array, mask: jax.Array) -> jax.Array:
    """Gumbel-max over every entry: `jax.random.categorical(key, where(mask, logits, -inf))`'s
    actions, int32 [..., K] from logits and mask [..., K, A]."""
    noise = jax.random.gumbel(key, logits.shape, logits.dtype)
    return _first_max(noise + jnp.where(mask, logits, -jnp.inf))


def near_legal_applies(key: PRNGKey, logits: jax.Array) -> bool:
    """Whether `sample` takes `sample_near_legal` by itself (decided when tracing): `gumbel_at`
    reproduces the noise and A > `MIN_ACTIONS` (measured faster on the classic board's 1,446;
    on the smaller boards' 50 to 154 no faster past the opening, docs/agents.md)."""
    return logits.shape[-1] > MIN_ACTIONS and gumbel_supported(key, logits.shape, logits.dtype)


def sample_near_legal(
    key: PRNGKey,
    logits: jax.Array,
    mask: jax.Array,
    *,
    block: int = BLOCK,
    blocks_per_slot: int = BLOCKS_PER_SLOT,
) -> jax.Array:
    """`dense_sample(key, logits, mask)`, drawing noise only in blocks that hold legal actions.

    Each slot's A entries are cut into ceil(A / block) blocks of `block`. Every (slot, block)
    pair whose block holds a legal entry is listed, the N slots' lists one after another (at
    most N * `blocks_per_slot` pairs in all); the Gumbel noise of those blocks' entries
    (`gumbel_at`, at the entries' flat indices in [..., K, A]) is added to their logits, and each
    slot takes the first maximum over its pairs, in column order. If the call holds more pairs
    than that, it takes the dense draw instead (one `lax.cond`). Ties, NaNs and slots without a
    finite legal value (action 0) come out as in the dense draw.

    Args:
      key: PRNG key; `gumbel_supported` must hold.
      logits: float32 [..., K, A].
      mask: bool [..., K, A].
      block: actions per block, >= 1.
      blocks_per_slot: pairs listed per slot on average (the list's capacity over N), >= 1.

    Returns:
      int32 [..., K], equal to `dense_sample(key, logits, mask)`.
    """
    if not gumbel_supported(key, logits.shape, logits.dtype):
        raise ValueError(
            f"sample_near_legal needs a threefry2x32 key and float32 logits with fewer than "
            f"2^32 entries, got {logits.dtype} {logits.shape}"
        )
    if block < 1 or blocks_per_slot < 1:
        raise ValueError(
            f"block and blocks_per_slot must be >= 1, got {block} and {blocks_per_slot}"
        )
    logits, mask = jnp.asarray(logits), jnp.asarray(mask)
    num_actions = logits.shape[-1]
    num_blocks = -(-num_actions // block)
    rows_mask = mask.reshape(-1, num_actions)
    rows_logits = logits.reshape(-1, num_actions)
    num_rows = rows_mask.shape[0]
    capacity = blocks_per_slot * num_rows

    padded = jnp.pad(rows_mask, ((0, 0), (0, num_blocks * block - num_actions)))
    holds_legal = jnp.any(padded.reshape(num_rows, num_blocks, block), axis=-1)  # [N, blocks]
    rank = lax.associative_scan(jnp.add, holds_legal.astype(jnp.int32), axis=-1)  # inclusive
    counts = rank[:, -1]
    first_pair = lax.associative_scan(jnp.add, counts) - counts  # [N], exclusive
    total = first_pair[-1] + counts[-1]

    def near_legal():
        # Pair i is the flat (slot, block) index of the i-th block holding a legal entry.
        position = jnp.where(holds_legal, first_pair[:, None] + rank - 1, capacity)
        flat_blocks = jnp.arange(num_rows * num_blocks, dtype=jnp.int32)
        pairs = jnp.full((capacity + 1,), num_rows * num_blocks, jnp.int32)
        pairs = pairs.at[position.reshape(-1)].set(flat_blocks, mode="drop")[:capacity]
        used = pairs < num_rows * num_blocks
        row = jnp.where(used, pairs // num_blocks, num_rows)  # num_rows: dropped below
        safe_row = jnp.minimum(row, num_rows - 1)[:, None]
        columns = (pairs % num_blocks)[:, None] * block + jnp.arange(block, dtype=jnp.int32)
        inside = jnp.minimum(columns, num_actions - 1)  # [capacity, block]
        legal = used[:, None] & (columns < num_actions) & rows_mask[safe_row, inside]
        flat = safe_row.astype(jnp.uint32) * jnp.uint32(num_actions) + inside.astype(jnp.uint32)
        values = gumbel_at(key, flat) + jnp.where(legal, rows_logits[safe_row, inside], -jnp.inf)
        best = _first_max(values)[:, None]
        value = jnp.take_along_axis(values, best, axis=-1)[:, 0]
        column = jnp.take_along_axis(inside, best, axis=-1)[:, 0]
        # Across a slot's pairs: the first NaN if any, else the first maximum, by column.
        nan = jnp.isnan(value)
        slot_nan = jnp.zeros(num_rows, bool).at[row].max(nan, mode="drop")
        finite = jnp.where(nan, -jnp.inf, value)
        top = jnp.full(num_rows, -jnp.inf).at[row].max(finite, mode="drop")
        wins = used & jnp.where(slot_nan[safe_row[:, 0]], nan, value == top[safe_row[:, 0]])
        action = jnp.full(num_rows, num_actions, jnp.int32)
        action = action.at[row].min(jnp.where(wins, column, num_actions), mode="drop")
        # The dense draw's first maximum is column 0 where every entry is -inf.
        action = jnp.where(~slot_nan & (top == -jnp.inf), 0, action)
        return action.reshape(mask.shape[:-1])

    return lax.cond(total > capacity, lambda: dense_sample(key, logits, mask), near_legal)
