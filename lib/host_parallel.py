"""A batch split into parts that run concurrently on the host's CPU cores.

On XLA's CPU backend one call of a jitted, vmapped game step keeps about one and a half cores
busy on a 2-core machine: its while loops, scatters and gathers run on one thread, and only
some ops (matrix products, large fusions) use the intra-op thread pool. Splitting the batch into
parts, one jitted call per part, and making the calls from separate host threads (JAX releases
the GIL while a computation runs) keeps every core busy: on the shared 2-core CPU the JAX
realpolitik engine adjudicated about 1.7-1.9x more phases per second this way
(docs/realpolitik_jax.md, "Host threads"). Moving the split inside one jitted program does not
help: XLA's CPU runtime runs the parts' loops one after another.

The function must be *batch-separable*: the result of each game (each index along the split
axis) depends only on that game's inputs, as under `jax.vmap`. Then the parts' results,
concatenated, equal one call on the whole batch, whatever the number of parts. Functions that
draw one random key for the whole batch are not separable (each part would reuse the same
stream); give them one key per game.

On a GPU or TPU one call already fills the device, so `default_num_parts()` is 1 there.
"""

from __future__ import annotations

import concurrent.futures
import functools
import os
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def host_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def default_num_parts(backend: str | None = None) -> int:
    """Parts to split a batch into: the host's cores on the CPU backend, 1 on accelerators.

    Args:
      backend: a JAX platform name ("cpu", "gpu", "tpu"); None: the default backend.
    """
    platform = backend if backend is not None else jax.default_backend()
    return host_cores() if platform == "cpu" else 1


def _check_num_parts(num_parts: Any) -> int:
    if isinstance(num_parts, bool) or not isinstance(num_parts, int) or num_parts < 1:
        raise ValueError(f"num_parts must be a positive integer, got {num_parts!r}")
    return num_parts


def part_bounds(size: int, num_parts: int) -> list[tuple[int, int]]:
    """`[start, stop)` of each part of `size` items: sizes differ by at most one, larger first.

    Raises:
      ValueError: if `num_parts` is not a positive integer or exceeds `size`.
    """
    _check_num_parts(num_parts)
    if num_parts > size:
        raise ValueError(
            f"cannot split a batch of {size} into num_parts={num_parts}: every part needs at "
            f"least one game (accepted: 1 to {size})"
        )
    edges = np.cumsum([0] + [len(p) for p in np.array_split(np.arange(size), num_parts)])
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def _batch_size(tree: Any, axis: int, what: str) -> int:
    sizes = {x.shape[axis] for x in jax.tree.leaves(tree)}
    if len(sizes) != 1:
        raise ValueError(
            f"{what}: every leaf must have the same size along axis {axis}, got sizes "
            f"{sorted(sizes)}"
        )
    return sizes.pop()


def split_batch(tree: Any, num_parts: int, axis: int = 0) -> list[Any]:
    """Splits a batched pytree into `num_parts` pytrees along `axis` (see `part_bounds`).

    Args:
      tree: pytree of arrays that share their size B along `axis`.
      num_parts: 1 <= num_parts <= B.
      axis: the batch axis.

    Returns:
      A list of `num_parts` pytrees; part i holds games `part_bounds(B, num_parts)[i]`.
    """
    size = _batch_size(tree, axis, "split_batch")
    return [
        jax.tree.map(lambda x, a=a, b=b: jax.lax.slice_in_dim(x, a, b, axis=axis), tree)
        for a, b in part_bounds(size, num_parts)
    ]


def concat_batch(parts: Sequence[Any], axis: int = 0) -> Any:
    """Concatenates the pytrees of `split_batch` (same structure) back along `axis`."""
    if not parts:
        raise ValueError("concat_batch needs at least one part")
    if len(parts) == 1:
        return parts[0]
    return jax.tree.map(lambda *xs: jnp.concatenate(xs, axis=axis), *parts)


@functools.cache
def _pool(num_threads: int) -> concurrent.futures.ThreadPoolExecutor:
    return concurrent.futures.ThreadPoolExecutor(num_threads, thread_name_prefix="detente-host")


def map_parts(fn: Callable[..., Any], parts_args: Sequence[Sequence[Any]]) -> list[Any]:
    """Calls `fn(*args)` for every `args` of `parts_args`, concurrently from host threads.

    Each thread waits for its result (`jax.block_until_ready`), so the calls overlap and
    every result is ready on return. A single part is called in the caller's thread. The
    threads come from one pool per number of parts, kept for the process: `fn` must not
    itself call `map_parts` with as many parts (the pool's threads would wait on each other).

    Returns:
      The results in the order of `parts_args`. An exception of any call is raised here,
      after every call has finished.
    """
    if len(parts_args) == 1:
        return [jax.block_until_ready(fn(*parts_args[0]))]
    pool = _pool(len(parts_args))
    futures = [pool.submit(lambda a: jax.block_until_ready(fn(*a)), a) for a in parts_args]
    concurrent.futures.wait(futures)
    return [f.result() for f in futures]


class HostParallel:
    """`fn` over a batch split into `num_parts` parts that run concurrently (module docstring).

    `HostParallel(fn, num_parts, in_axes, out_axis)(*args)` splits every argument whose
    `in_axes` entry is an int along that axis, passes the others whole to every part, runs the
    parts concurrently and concatenates every output leaf along `out_axis`. For a
    batch-separable `fn` this equals `fn(*args)`.

    Attributes:
      fn: the function, usually jitted (`jax.jit` compiles once per part shape: at most two
        shapes, since part sizes differ by at most one).
      num_parts: parts per call.
      in_axes: per positional argument, its batch axis or None.
      out_axis: the batch axis of every output leaf.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        num_parts: int,
        in_axes: Sequence[int | None],
        out_axis: int = 0,
    ):
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}")
        self.fn = fn
        self.num_parts = _check_num_parts(num_parts)
        self.in_axes = tuple(in_axes)
        if not any(a is not None for a in self.in_axes):
            raise ValueError(f"in_axes={in_axes!r}: at least one argument must be split")
        self.out_axis = out_axis

    def split(self, *args: Any) -> list[tuple[Any, ...]]:
        """The per-part argument tuples of `args` (for `call_parts`)."""
        if len(args) != len(self.in_axes):
            raise ValueError(
                f"got {len(args)} arguments for in_axes={self.in_axes!r} (one entry per argument)"
            )
        sizes = {
            _batch_size(x, a, f"argument {i}")
            for i, (x, a) in enumerate(zip(args, self.in_axes, strict=True))
            if a is not None
        }
        if len(sizes) != 1:
            raise ValueError(f"the split arguments disagree on the batch size: {sorted(sizes)}")
        columns = [
            split_batch(x, self.num_parts, a) if a is not None else [x] * self.num_parts
            for x, a in zip(args, self.in_axes, strict=True)
        ]
        return list(zip(*columns, strict=True))

    def call_parts(self, parts_args: Sequence[Sequence[Any]]) -> list[Any]:
        """Runs `fn` on already split arguments, concurrently; returns the per-part results."""
        return map_parts(self.fn, parts_args)

    def __call__(self, *args: Any) -> Any:
        return concat_batch(self.call_parts(self.split(*args)), self.out_axis)
