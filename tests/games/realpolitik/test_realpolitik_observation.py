"""Observation layout: sizes, rotation of the power axes, slot rows."""

import numpy as np

from detente.games.realpolitik import (
    encode_observations,
    initial_position,
    load_map,
    observation_layout,
    order_tables,
    phase_slots,
)


def test_layout_sizes():
    m = load_map("classic")
    lay = observation_layout(m, 34)
    assert lay.loc_features == 6 * 7 + 7
    assert lay.global_features == 7 + 4 * 7
    assert lay.size == 81 * 49 + 35 + 34 * 81 == 6758
    assert observation_layout(m, 17).size == 81 * 49 + 35 + 17 * 81 == 5381  # solo victory on


def test_rotation_and_slots():
    m = load_map("triad")
    pos = initial_position(m)
    tables = order_tables(m)
    slots = phase_slots(tables, pos)
    obs = encode_observations(m, pos, slots.locations, tables.num_slots)
    lay = observation_layout(m, tables.num_slots)
    num_p, f = lay.num_players, lay.loc_features
    assert obs.shape == (num_p, lay.size) and obs.dtype == np.float32
    for o, pw in enumerate(m.powers):
        block = obs[o, : lay.globals_offset].reshape(m.num_locations, f)
        # Own units (army + fleet columns of relative power 0) are exactly this power's units.
        own = {m.locations[loc] for loc in np.flatnonzero(block[:, 0] + block[:, num_p])}
        assert own == {u.split()[1] for u in m.starting_units[pw]}
        # Own home centres are relative power 0 in the home block.
        homes = {m.locations[loc] for loc in np.flatnonzero(block[:, 5 * num_p])}
        assert homes == set(m.home_centers[pw])
        # Slot rows: one-hot of each unit's location, in location order, then zeros.
        rows = obs[o, lay.slots_offset :].reshape(tables.num_slots, m.num_locations)
        locs = [int(np.argmax(r)) for r in rows if r.any()]
        assert locs == list(slots.locations[o]) and rows.sum() == len(locs)
    # Spring movement one-hots.
    g = obs[0, lay.globals_offset : lay.slots_offset]
    np.testing.assert_array_equal(g[:6], [1, 0, 0, 1, 0, 0])
