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
into blocks of `block` actions, keeps the slot's first `max_blocks` blocks holding a legal
action, and draws noise there only; where some slot has more such blocks, the whole call falls
back to the dense draw (one `lax.cond`). Either way the actions are those of the dense draw.

Dimension names: N slots (every leading axis flattened), A actions per slot.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend.random import threefry2x32_p

PRNGKey = jax.Array

BLOCK = 8
MAX_BLOCKS = 32
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


def near_legal_applies(key: PRNGKey, logits: jax.Array, block: int, max_blocks: int) -> bool:
    """Whether `sample_near_legal` draws less noise than the dense draw (decided when tracing):
    `gumbel_at` reproduces the noise, and A exceeds twice the `block * max_blocks` entries
    drawn per slot."""
    return logits.shape[-1] > 2 * block * max_blocks and gumbel_supported(
        key, logits.shape, logits.dtype
    )


def sample_near_legal(
    key: PRNGKey,
    logits: jax.Array,
    mask: jax.Array,
    *,
    block: int = BLOCK,
    max_blocks: int = MAX_BLOCKS,
) -> jax.Array:
    """`dense_sample(key, logits, mask)`, drawing noise only in blocks that hold legal actions.

    Each slot's A entries are cut into ceil(A / block) blocks of `block`; the first
    `max_blocks` blocks holding a legal entry are gathered, and the Gumbel noise of their
    entries (`gumbel_at`, at the entries' flat indices in [..., K, A]) is added to their logits.
    All of a slot's legal entries lie in those blocks unless it has more than `max_blocks`
    such blocks; then the whole call takes the dense draw instead. The first maximum is taken
    in column order, so ties, NaNs and slots without a finite legal value (action 0) come out as
    in the dense draw.

    Args:
      key: PRNG key; `near_legal_applies` must hold.
      logits: float32 [..., K, A].
      mask: bool [..., K, A].
      block: actions per block, >= 1.
      max_blocks: blocks drawn per slot, >= 1.

    Returns:
      int32 [..., K], equal to `dense_sample(key, logits, mask)`.
    """
    if not gumbel_supported(key, logits.shape, logits.dtype):
        raise ValueError(
            f"sample_near_legal needs a threefry2x32 key and float32 logits with fewer than "
            f"2^32 entries, got {logits.dtype} {logits.shape}"
        )
    if block < 1 or max_blocks < 1:
        raise ValueError(f"block and max_blocks must be >= 1, got {block} and {max_blocks}")
    num_actions = logits.shape[-1]
    num_blocks = -(-num_actions // block)
    max_blocks = min(max_blocks, num_blocks)
    rows_mask = mask.reshape(-1, num_actions)
    rows_logits = logits.reshape(-1, num_actions)
    num_rows = rows_mask.shape[0]

    padded = jnp.pad(rows_mask, ((0, 0), (0, num_blocks * block - num_actions)))
    holds_legal = jnp.any(padded.reshape(num_rows, num_blocks, block), axis=-1)  # [N, blocks]
    rank = lax.associative_scan(jnp.add, holds_legal.astype(jnp.int32), axis=-1) - 1
    too_many = jnp.max(rank[:, -1]) >= max_blocks

    def near_legal():
        # The r-th block holding a legal entry goes to position r; the rest are dropped.
        position = jnp.where(holds_legal & (rank < max_blocks), rank, max_blocks)
        rows = jnp.broadcast_to(jnp.arange(num_rows)[:, None], position.shape)
        block_ids = jnp.broadcast_to(jnp.arange(num_blocks, dtype=jnp.int32), position.shape)
        chosen = jnp.full((num_rows, max_blocks + 1), num_blocks, jnp.int32)
        chosen = chosen.at[rows, position].set(block_ids, mode="drop")[:, :max_blocks]
        columns = chosen[:, :, None] * block + jnp.arange(block, dtype=jnp.int32)
        columns = columns.reshape(num_rows, max_blocks * block)  # ascending; padding >= A
        inside = jnp.minimum(columns, num_actions - 1)
        legal = (columns < num_actions) & jnp.take_along_axis(rows_mask, inside, axis=-1)
        flat = jnp.arange(num_rows, dtype=jnp.uint32)[:, None] * jnp.uint32(num_actions)
        noise = gumbel_at(key, flat + inside.astype(jnp.uint32))
        values = noise + jnp.where(legal, jnp.take_along_axis(rows_logits, inside, -1), -jnp.inf)
        best = _first_max(values)
        # The dense draw's first maximum is column 0 where every entry is -inf.
        none_finite = jnp.max(values, axis=-1) == -jnp.inf
        action = jnp.take_along_axis(inside, best[:, None], axis=-1)[:, 0]
        return jnp.where(none_finite, 0, action).reshape(mask.shape[:-1])

    return lax.cond(too_many, lambda: dense_sample(key, logits, mask), near_legal)
