"""Minimal convoy routes (DATC 6.G.19) as static tables, against a brute force over subsets."""

import itertools

import jax.numpy as jnp
import numpy as np
import pytest

from detente.games.realpolitik import load_map
from detente.games.realpolitik_jax import board_arrays
from detente.games.realpolitik_jax._bits import pack
from detente.games.realpolitik_jax._routes import on_minimal_route, route_tables


def _connected(sea_adj, seas):
    seas = list(seas)
    seen, stack = {seas[0]}, [seas[0]]
    while stack:
        p = stack.pop()
        for q in seas:
            if q not in seen and sea_adj[p, q]:
                seen.add(q)
                stack.append(q)
    return len(seen) == len(seas)


def _brute_force(sea_adj, shore, occupied, src, dst):
    """The seas on some inclusion-minimal route among the occupied seas."""
    routes = [
        frozenset(t)
        for k in range(1, len(occupied) + 1)
        for t in itertools.combinations(occupied, k)
        if shore[list(t), src].any() and shore[list(t), dst].any() and _connected(sea_adj, t)
    ]
    minimal = [r for r in routes if not any(o < r for o in routes)]
    return set().union(*minimal) if minimal else set()


@pytest.mark.parametrize("board", ["classic", "quartet"])
def test_tables_match_a_brute_force(board):
    b = board_arrays(load_map(board))
    tables = route_tables(b.sea_adj, b.sea_shore)
    rng = np.random.default_rng(0)
    coasts = np.flatnonzero(b.sea_shore.any(axis=0))
    checked = 0
    for _ in range(150):
        occupied = sorted(rng.choice(b.num_seas, size=min(7, b.num_seas), replace=False).tolist())
        mask = np.zeros(b.num_seas, bool)
        mask[occupied] = True
        src, dst = (int(x) for x in rng.choice(coasts, size=2, replace=False))
        expected = _brute_force(b.sea_adj, b.sea_shore, occupied, src, dst)
        seas = np.arange(b.num_seas)
        got = on_minimal_route(
            jnp.asarray(tables.pair_seas),
            jnp.full(b.num_seas, src),
            jnp.full(b.num_seas, dst),
            jnp.asarray(seas),
            pack(jnp.asarray(mask)),
        )
        assert set(np.flatnonzero(np.asarray(got)).tolist()) == expected, (src, dst, occupied)
        checked += bool(expected)
    assert checked > 5  # the samples include real routes


def test_datc_6g19_western_mediterranean_is_not_needed():
    m = load_map("classic")
    b = board_arrays(m)
    tables = route_tables(b.sea_adj, b.sea_shore)
    mar, spa = m.provinces.index("MAR"), m.provinces.index("SPA")
    lyo, wes = b.sea_index[m.provinces.index("LYO")], b.sea_index[m.provinces.index("WES")]
    occupied = np.zeros(b.num_seas, bool)
    occupied[[lyo, wes]] = True
    got = on_minimal_route(
        jnp.asarray(tables.pair_seas),
        jnp.array([mar, mar]),
        jnp.array([spa, spa]),
        jnp.array([lyo, wes]),
        pack(jnp.asarray(occupied)),
    )
    assert np.asarray(got).tolist() == [True, False]
