"""Order tables and slots: every legal order maps to a table entry and back."""

import numpy as np
import pytest

from detente.games.realpolitik import (
    NO_OP,
    RealpolitikEnv,
    legal_orders,
    load_map,
    order_tables,
    phase_slots,
    shipped_maps,
)


def _random_actions(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noise = rng.random(mask.shape)
    return np.argmax(np.where(mask, noise, -1.0), axis=-1)


# A found on the shipped boards when these tables were written (docs/realpolitik_openspiel.md).
# Classic: 1,446, reached by the North Sea (1,122 of its entries are convoys: every ordered pair
# of the 34 coastal provinces around the connected seas).
# (K with solo victory, K without, A): K = victory centres - 1 with solo victory on.
EXPECTED = {
    "classic": (17, 34, 1446),
    "duel": (2, 4, 50),
    "triad": (3, 7, 59),
    "quartet": (5, 11, 154),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_table_sizes(name):
    m = load_map(name)
    tables = order_tables(m)
    k_solo, k_all, a = EXPECTED[name]
    assert (tables.num_slots, tables.num_actions) == (k_solo, a)
    assert m.victory_centers - 1 == k_solo
    welfare = order_tables(m, solo=False)
    assert (welfare.num_slots, welfare.num_actions) == (k_all, a)
    assert welfare.orders is tables.orders  # the tables are shared; only K differs
    assert tables is order_tables(m)  # computed once per map
    assert len(tables.orders) == m.num_locations
    for loc, table in enumerate(tables.orders):
        assert len(set(table)) == len(table)
        for i, text in enumerate(table[1:], start=1):
            assert tables.action_of(loc, text) == i
            assert tables.order_text(loc, i) == text
        assert tables.order_text(loc, NO_OP) is None
    # The flat vocabulary of all entries is far larger than one table.
    assert sum(len(t) for t in tables.orders) > 10 * tables.num_actions or name != "classic"


def test_every_legal_order_round_trips_on_random_classic_positions():
    env = RealpolitikEnv("classic", batch_size=4, max_years=8)
    tables = env.rules.tables
    m = tables.map
    ts = env.reset(seed=0)
    rng = np.random.default_rng(0)
    kinds = set()
    for _ in range(40):
        if {"M", "R", "A"} <= kinds:
            break
        for position in env.positions:
            kinds.add(position["phase"][-1])
            slots = phase_slots(tables, position)
            for p, pw in enumerate(m.powers):
                options = legal_orders(m, position, pw)
                assert [m.locations[loc] for loc in slots.locations[p]] == sorted(
                    options, key=m.loc_index.get
                )
                for name, texts in options.items():
                    loc = m.loc_index[name]
                    for text in texts:
                        assert tables.orders[loc][tables.action_of(loc, text)] == text
        ts = env.step(_random_actions(ts.legal_action_mask, rng))
    assert {"M", "R", "A"} <= kinds


def test_unknown_order_and_out_of_range():
    tables = order_tables(load_map("duel"))
    with pytest.raises(ValueError, match="not in the order table"):
        tables.action_of(0, "A XXX H")
    with pytest.raises(ValueError, match="outside the order table"):
        tables.order_text(0, 10_000)
    assert "outside" in tables.describe(0, 10_000)


@pytest.mark.parametrize("name", shipped_maps())
def test_initial_masks(name):
    env = RealpolitikEnv(name, batch_size=1, max_years=1)
    ts = env.reset(seed=0)
    m = env.rules.map
    for p, pw in enumerate(m.powers):
        num_units = len(m.starting_units[pw])
        mask = ts.legal_action_mask[0, p]
        assert mask[:num_units].sum(-1).min() > 1
        assert not mask[:num_units, NO_OP].any()  # a unit must be ordered (hold is an order)
        np.testing.assert_array_equal(mask[num_units:].sum(-1), 1)  # unused: the no-op only
        assert mask[num_units:, NO_OP].all()


def test_more_units_than_slots_is_a_clear_error():
    """duel with solo victory has K = 2: three NORTH units are a position no such game reaches."""
    m = load_map("duel")
    pos = {
        "phase": "S1902M",
        "units": {"NORTH": ["A NOR", "A EAS", "A WES"], "SOUTH": ["F SOU"]},
        "centers": {"NORTH": ["NOR", "EAS"], "SOUTH": ["SOU"]},
        "dislodged": {"NORTH": {}, "SOUTH": {}},
        "contested": [],
    }
    with pytest.raises(ValueError, match=r"power NORTH has 3 .* K = 2 slots .*welfare"):
        phase_slots(order_tables(m), pos)
    slots = phase_slots(order_tables(m, solo=False), pos)  # K = 4 without solo victory
    assert len(slots.locations[0]) == 3
