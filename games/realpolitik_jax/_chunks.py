"""Batched work on chosen games only: the CPU's phase dispatch and movement's stragglers.

Under `vmap` a branch or a loop runs for every game of the batch. The helpers here let a
batching rule (`jax.custom_batching.custom_vmap`) restrict work to the games that need it:
`write_chunks` gathers chosen games into fixed-size chunks, runs a function on them and writes
the results back; `any_in_batch` reduces a per-game predicate over the batch's named `vmap`
axis, for a `lax.cond` that `vmap` keeps a real branch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp


def broadcast_unbatched(args: tuple, in_batched: Any, axis_size: int) -> tuple:
    """A `custom_vmap` rule's arguments with every unbatched leaf broadcast to [axis_size, ...]."""

    def batched(x, is_batched):
        return x if is_batched else jnp.broadcast_to(x, (axis_size, *jnp.shape(x)))

    return jax.tree.map(batched, args, tuple(in_batched))


def any_in_batch(pred: jax.Array, axis_name: str | None) -> jax.Array:
    """bool []: `pred` holds for some game of the `vmap` axis `axis_name` (None: `pred`)."""
    if axis_name is None:
        return pred
    return jax.lax.psum(pred.astype(jnp.int32), axis_name) > 0


def write_chunks(
    fn: Callable[..., Any],
    args: Any,
    out: Any,
    order: jax.Array,
    start: jax.Array,
    count: jax.Array,
    size: int,
) -> Any:
    """`out` with the rows of the games `order[start : start + count]` replaced by `fn`'s results.

    The games run in chunks of `size` (a `fori_loop` over ceil(count / size) chunks): chunk i
    gathers the rows of games `order[start + i * size :][:size]` from every leaf of `args`,
    calls `fn(*rows)` and writes each result leaf's rows back into `out`. A last, partial
    chunk runs on whatever games follow in `order` and drops their results, so `order` needs
    `size` entries of padding after `start + count`.

    Args:
      fn: a batched function of `len(args)` arguments, returning a pytree shaped like `out`'s
        rows.
      args: tuple of pytrees of arrays [B, ...].
      out: pytree of arrays [B, ...].
      order: int32 [B + size] (at least), game indices.
      start, count: int32 [], the slice of `order` to run.
      size: games per chunk (static).

    Returns:
      The updated `out`.
    """
    batch = jax.tree.leaves(out)[0].shape[0]

    def chunk(i, out):
        at = i * size
        games = jax.lax.dynamic_slice(order, (start + at,), (size,))
        mine = at + jnp.arange(size) < count
        result = fn(*jax.tree.map(lambda x: x[games], args))
        rows = jnp.where(mine, games, batch)  # other games' rows: dropped
        return jax.tree.map(lambda o, r: o.at[rows].set(r, mode="drop"), out, result)

    return jax.lax.fori_loop(0, (count + size - 1) // size, chunk, out)
