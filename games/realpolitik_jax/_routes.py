"""Minimal convoy routes as static tables, for the convoy-order legality rule of DATC 6.G.19.

A convoy route from a coastal province `src` to `dst` is a chain of fleets at sea from a sea
touching `src` to a sea touching `dst`. A fleet's convoy order is legal only if the fleet is on
a *minimal* route (no proper subset of its fleets is a route): a fleet that no route needs
cannot convoy (2023 rules; the reference engine's `_on_minimal_route`). Minimal routes are the
chordless sea paths whose first sea alone touches `src` and whose last alone touches `dst`,
and whether a path is one depends only on the board, not on where the other fleets stand. So
the minimal routes under an occupancy of the seas are exactly the board's minimal routes whose
seas are all occupied, and one table per board answers the question with a gather:
`pair_seas[src, dst]` holds the seas of each route as a bit set (`_bits`).

There are few: 2,094 over every ordered pair of coastal provinces of the classic board, at
most 4 for one pair (docs/realpolitik_jax.md).

Dimension names: N provinces, S seas, R routes, M most routes of one pair, U units.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from detente.games.realpolitik_jax import _bits


class RouteTables(NamedTuple):
    """The minimal convoy routes of one board.

    Attributes:
      pair_seas: uint32 [N, N, M, W], the seas of each minimal route from src to dst as a bit
        set over the S seas (`_bits`), padded with empty sets (at least one column even on a
        board without routes).
    """

    pair_seas: np.ndarray


def _routes(sea_adj: np.ndarray, touches: np.ndarray, src: int, dst: int) -> list[list[int]]:
    """Every minimal route from `src` to `dst` as a list of sea indices (depth-first)."""
    out: list[list[int]] = []

    def extend(path: list[int]) -> None:
        last = path[-1]
        if touches[last, dst]:
            out.append(path)
            return
        for q in np.flatnonzero(sea_adj[last]):
            q = int(q)
            if q in path or touches[q, src] or sea_adj[q, path[:-1]].any():
                continue  # a repeat, a shortcut from src, or a chord: not minimal
            extend(path + [q])

    for s in np.flatnonzero(touches[:, src]):
        extend([int(s)])
    return out


def route_tables(sea_adj: np.ndarray, sea_shore: np.ndarray) -> RouteTables:
    """Builds the tables of a board from its sea graph.

    Args:
      sea_adj: bool [S, S], fleet adjacency between seas.
      sea_shore: bool [S, N], the coastal provinces each sea touches.

    Returns:
      The `RouteTables`.
    """
    num_seas, num_provinces = sea_shore.shape
    coasts = np.flatnonzero(sea_shore.any(axis=0))
    seas_of: list[np.ndarray] = []
    pairs: dict[tuple[int, int], list[int]] = {}
    for src in coasts:
        for dst in coasts:
            if src == dst:
                continue
            for path in _routes(sea_adj, sea_shore, int(src), int(dst)):
                row = np.zeros(num_seas, bool)
                row[path] = True
                pairs.setdefault((int(src), int(dst)), []).append(len(seas_of))
                seas_of.append(row)
    num_routes = len(seas_of)
    width = max((len(v) for v in pairs.values()), default=1)
    route_seas = np.zeros((num_routes + 1, num_seas), bool)  # row R: the padding's empty set
    if num_routes:
        route_seas[:num_routes] = np.stack(seas_of)
    pair_routes = np.full((num_provinces, num_provinces, width), num_routes, np.int32)
    for (src, dst), routes in pairs.items():
        pair_routes[src, dst, : len(routes)] = routes
    return RouteTables(pair_seas=_bits.pack_np(route_seas)[pair_routes])


def on_minimal_route(
    pair_seas: jax.Array,
    src: jax.Array,
    dst: jax.Array,
    sea: jax.Array,
    occupied: jax.Array,
) -> jax.Array:
    """Whether each unit's sea is on a minimal route of occupied seas from `src` to `dst`.

    Args:
      pair_seas: uint32 [N, N, M, W] (`RouteTables.pair_seas`).
      src, dst: int32 [U], the convoyed army's province and its destination (-1: none).
      sea: int32 [U], the convoying fleet's sea index (-1: not at sea).
      occupied: uint32 [W], the seas holding a fleet as a bit set (`_bits.pack`).

    Returns:
      bool [U].
    """
    valid = (src >= 0) & (dst >= 0) & (sea >= 0)
    seas = pair_seas[jnp.clip(src, 0), jnp.clip(dst, 0)]  # [U, M, W]
    usable = ~_bits.intersects(seas, ~occupied)  # [U, M]: every sea of the route holds a fleet
    holds = _bits.contains(seas, jnp.broadcast_to(jnp.clip(sea, 0)[:, None], seas.shape[:2]))
    return valid & jnp.any(usable & holds, axis=-1)
