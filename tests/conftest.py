"""Suite-wide fixtures.

XLA's CPU backend maps memory for every program it compiles: about 1,900 mappings for the
2-power realpolitik engine's `jit(vmap(init))` and `jit(vmap(step))` at one batch size. A Linux
process may hold at most `vm.max_map_count` mappings (65,530 by default). Past that, a mapping
fails inside the compiler and the process dies with a segmentation fault, not an exception.
The whole suite in one process compiles more than that. So once the process holds more than
`_SHARE` of its limit after a test, JAX's compilation caches are cleared (`jax.clear_caches()`
unmaps the executables) and later tests recompile what they need. Below it nothing is
cleared, and tests keep sharing compilations.
"""

from __future__ import annotations

import gc

import jax
import pytest

_SHARE = 0.7
_DEFAULT_LIMIT = 65_530


def _map_count() -> int | None:
    """The process's memory mappings (None where /proc is not available)."""
    try:
        with open("/proc/self/maps", "rb") as f:
            return f.read().count(b"\n")
    except OSError:
        return None


def _map_limit() -> int:
    try:
        with open("/proc/sys/vm/max_map_count") as f:
            return int(f.read())
    except (OSError, ValueError):
        return _DEFAULT_LIMIT


_LIMIT = _map_limit()


@pytest.fixture(autouse=True)
def _release_compiled_programs_near_the_map_limit():
    yield
    count = _map_count()
    if count is not None and count > _SHARE * _LIMIT:
        jax.clear_caches()
        gc.collect()
