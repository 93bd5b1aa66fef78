"""Tests of notation, positions, phases, legal orders, scoring and the public API."""

import json
import random

import numpy as np
import pytest

import detente.games.realpolitik as rp
from detente.games.realpolitik import (
    Horizon,
    adjudicate,
    format_order,
    game_status,
    initial_position,
    legal_orders,
    load_map,
    parse_order,
    scores,
    validate_position,
    welfare_increment,
)


def test_public_names_documented():
    for name in rp.__all__:
        obj = getattr(rp, name)
        if callable(obj) and not isinstance(obj, (tuple, str)):
            assert obj.__doc__, name
    assert rp.__doc__


@pytest.mark.parametrize(
    "text",
    [
        "A PAR H",
        "A PAR - BUR",
        "A LON - BEL VIA",
        "F NTH C A LON - BEL",
        "A PAR S A MAR - BUR",
        "A PAR S F BRE",
        "A MUN R BOH",
        "A PAR D",
        "F STP/SC B",
        "A PAR B",
        "F MAO - SPA/NC",
        "WAIVE",
    ],
)
def test_notation_round_trip(text):
    assert format_order(parse_order(text)) == text


def test_notation_normalises():
    assert format_order(parse_order("  a par ->  bur ")) == "A PAR - BUR"
    assert format_order(parse_order("A PAR S F BRE H")) == "A PAR S F BRE"
    assert parse_order("F NTH C A LON - BEL").aux_loc == "LON"


@pytest.mark.parametrize(
    "text", ["", "A PAR", "X PAR H", "A PAR - ", "A PAR S", "F NTH C F LON - BEL", 7]
)
def test_notation_errors(text):
    with pytest.raises(ValueError, match="expected one of"):
        parse_order(text)


def test_initial_position_is_json():
    m = load_map("classic")
    p = initial_position(m)
    assert json.loads(json.dumps(p)) == p
    assert p["phase"] == "S1901M" and p["units"]["RUSSIA"] == [
        "A MOS",
        "A WAR",
        "F SEV",
        "F STP/SC",
    ]
    validate_position(m, p)


def test_bad_inputs():
    m = load_map("classic")
    p = initial_position(m)
    with pytest.raises(ValueError, match="unknown power 'PRUSSIA'"):
        adjudicate(m, p, {"PRUSSIA": []})
    with pytest.raises(ValueError, match="malformed order 'A PAR to BUR'"):
        adjudicate(m, p, {"FRANCE": ["A PAR to BUR"]})
    with pytest.raises(ValueError, match="unknown location 'XYZ'"):
        adjudicate(m, p, {"FRANCE": ["A PAR - XYZ"]})
    with pytest.raises(ValueError, match="unknown power"):
        legal_orders(m, p, "PRUSSIA")
    with pytest.raises(ValueError, match="bad phase"):
        adjudicate(m, dict(p, phase="X1901M"), {})
    with pytest.raises(ValueError, match="bad unit 'A NTH'"):
        adjudicate(m, dict(p, units={"ENGLAND": ["A NTH"]}), {})
    with pytest.raises(ValueError, match="two units in 'PAR'"):
        validate_position(m, dict(p, units={"FRANCE": ["A PAR"], "GERMANY": ["A PAR"]}))
    with pytest.raises(ValueError, match="not a supply centre"):
        validate_position(m, dict(p, centers={"FRANCE": ["BUR"]}))
    with pytest.raises(ValueError, match="missing key 'dislodged'"):
        validate_position(m, {"phase": "S1901M", "units": {}, "centers": {}})


def test_void_orders_and_defaults():
    m = load_map("classic")
    p = initial_position(m)
    _, res = adjudicate(m, p, {"FRANCE": ["A BUR - PAR", "A PAR S A MAR - BUR", "WAIVE"]})
    assert res["FRANCE"]["A BUR - PAR"] == "void"  # no such unit
    assert res["FRANCE"]["A PAR S A MAR - BUR"] == "void"  # MAR was not ordered there
    assert res["FRANCE"]["WAIVE"] == "void"
    assert res["FRANCE"]["F BRE H"] == "success"  # unordered units hold


def test_phase_sequence_and_ownership():
    m = load_map("classic")
    p = initial_position(m)
    p, _ = adjudicate(m, p, {"FRANCE": ["A PAR - BUR"], "ENGLAND": ["F LON - NTH"]})
    assert p["phase"] == "F1901M"
    p, _ = adjudicate(m, p, {"FRANCE": ["A BUR - BEL"], "ENGLAND": ["F NTH - NWY"]})
    assert p["phase"] == "W1901A"  # builds due; centres owned after the Fall
    assert "BEL" in p["centers"]["FRANCE"] and "NWY" in p["centers"]["ENGLAND"]
    assert legal_orders(m, p, "FRANCE") == {"PAR": ["A PAR B", "WAIVE"]}
    assert legal_orders(m, p, "GERMANY") == {}
    p, res = adjudicate(m, p, {"FRANCE": ["A PAR B"], "ENGLAND": ["F LON B"]})
    assert p["phase"] == "S1902M"
    assert "A PAR" in p["units"]["FRANCE"] and "F LON" in p["units"]["ENGLAND"]


def test_no_winter_when_nothing_to_adjust():
    m = load_map("classic")
    p, _ = adjudicate(m, initial_position(m), {})
    p, _ = adjudicate(m, p, {})
    assert p["phase"] == "S1902M"


def test_retreat_phase_and_legal_retreats():
    m = load_map("classic")
    p = {
        "phase": "F1901M",
        "units": {"GERMANY": ["A MUN", "A RUH"], "FRANCE": ["A BUR"]},
        "centers": {},
        "dislodged": {},
    }
    p, res = adjudicate(m, p, {"GERMANY": ["A MUN - BUR", "A RUH S A MUN - BUR"]})
    assert p["phase"] == "F1901R"
    assert p["dislodged"]["FRANCE"] == {"A BUR": "MUN"}
    opts = legal_orders(m, p, "FRANCE")["BUR"]
    assert "A BUR R MUN" not in opts and "A BUR R RUH" not in opts
    assert {"A BUR R PAR", "A BUR D"} <= set(opts)
    p, res = adjudicate(m, p, {"FRANCE": ["A BUR R PAR"]})
    assert p["units"]["FRANCE"] == ["A PAR"] and p["phase"] == "W1901A"


def test_random_play_invariants():
    # Every legal order parses, the engine never puts two units in one province, and positions
    # stay JSON; on every shipped board.
    for name in rp.shipped_maps():
        m = load_map(name)
        rng = random.Random(1)
        p = initial_position(m)
        for _ in range(60):
            orders = {}
            for pw in m.powers:
                lo = legal_orders(m, p, pw)
                for opts in lo.values():
                    assert opts == sorted(opts)
                    for o in opts:
                        assert format_order(parse_order(o)) == o
                orders[pw] = [rng.choice(v) for v in lo.values()]
            p, res = adjudicate(m, p, orders)
            validate_position(m, p)
            assert json.loads(json.dumps(p)) == p
            for pw, os_ in orders.items():
                for o in os_:
                    assert format_order(parse_order(o)) in res[pw]
            if game_status(m, p, Horizon(max_year=1910)).truncated:
                break


def test_legal_orders_cover_diplomacy_package():
    dip = pytest.importorskip("diplomacy")
    m = load_map("classic")
    game = dip.Game()
    possible = game.get_all_possible_orders()
    p = initial_position(m)
    for pw in m.powers:
        ours = {o for v in legal_orders(m, p, pw).values() for o in v}
        for loc in game.get_orderable_locations(pw):
            for o in possible[loc]:
                o = o.replace(" - ", " - ")
                if " S " in o and "/" in o.split()[-1]:
                    continue  # we list supports into provinces, not coasts
                assert o in ours, o


def _pos(centers, units=None):
    m = load_map("classic")
    return m, {
        "phase": "S1905M",
        "units": units or {pw: [] for pw in m.powers},
        "centers": centers,
        "dislodged": {},
    }


def test_scoring_known_values():
    m, p = _pos({"FRANCE": ["PAR", "MAR"], "ENGLAND": ["LON"], "GERMANY": []})
    assert scores(m, p, "draw_size") == pytest.approx(
        {pw: (0.5 if pw in ("FRANCE", "ENGLAND") else 0.0) for pw in m.powers}
    )
    sos = scores(m, p, "sum_of_squares")
    assert sos["FRANCE"] == pytest.approx(4 / 5) and sos["ENGLAND"] == pytest.approx(1 / 5)
    solo = {"FRANCE": list(m.supply_centers[:18]), "ENGLAND": [m.supply_centers[20]]}
    m, p = _pos(solo)
    assert scores(m, p, "draw_size")["FRANCE"] == 1.0
    assert scores(m, p, "sum_of_squares")["FRANCE"] == 1.0
    assert game_status(m, p).winner == "FRANCE" and game_status(m, p).terminated
    assert not game_status(m, p, Horizon(solo=False)).terminated


def test_welfare():
    m, p = _pos({"FRANCE": ["PAR", "MAR", "BRE"]}, {"FRANCE": ["A PAR"]})
    assert welfare_increment(m, p)["FRANCE"] == 2
    assert scores(m, p, "welfare", welfare={"FRANCE": 7})["FRANCE"] == 7.0
    with pytest.raises(ValueError, match="needs the banked points"):
        scores(m, p, "welfare")
    with pytest.raises(ValueError, match="unknown scoring scheme 'elo'"):
        scores(m, p, "elo")


def test_horizon():
    m = load_map("classic")
    p = dict(initial_position(m), phase="S1911M")
    assert game_status(m, p, Horizon(max_year=1910)).truncated
    assert not game_status(m, p, Horizon(max_year=1911)).truncated
    h = Horizon(random_end_from=1905, random_end_prob=0.5)
    ends = [game_status(m, p, h, np.random.default_rng(s)).truncated for s in range(200)]
    assert 60 < sum(ends) < 140
    with pytest.raises(ValueError, match="needs rng"):
        game_status(m, p, h)
    with pytest.raises(ValueError, match="random_end_prob"):
        Horizon(random_end_prob=2.0)
    with pytest.raises(ValueError, match="needs random_end_from"):
        Horizon(random_end_prob=0.1)
