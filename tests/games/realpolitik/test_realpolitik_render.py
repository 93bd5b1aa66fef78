"""Rendering of realpolitik positions: SVG structure, PNG file, text summary, replays, errors."""

import copy
import xml.etree.ElementTree as ET

import pytest

from detente.games import realpolitik as rp
from detente.games.realpolitik import render

SVG = "{http://www.w3.org/2000/svg}"

ORDERS = {
    "FRANCE": ["A PAR - BUR", "A MAR S A PAR - BUR", "F BRE - MAO"],
    "GERMANY": ["A MUN - BUR", "F KIE - DEN", "A BER H"],
    "ENGLAND": ["F LON - NTH", "F EDI - NWG", "A LVP - YOR"],
    "RUSSIA": ["F STP/SC - BOT", "A WAR - GAL", "F SEV - BLA"],
    "TURKEY": ["F ANK - BLA", "A CON - BUL", "A SMY S F ANK - BLA"],
}


def _classes(svg: str) -> dict[str, list[ET.Element]]:
    out: dict[str, list[ET.Element]] = {}
    for el in ET.fromstring(svg).iter():
        if el.get("class"):
            out.setdefault(el.get("class"), []).append(el)
    return out


def _title(el: ET.Element) -> str:
    t = el.find(f"{SVG}title")
    return "" if t is None else t.text


@pytest.fixture(scope="module")
def classic():
    return rp.load_map("classic")


def test_every_shipped_board_has_coordinates():
    for name in rp.shipped_maps():
        m = rp.load_map(name)
        assert set(m.coordinates) == set(m.provinces), name


def test_classic_coordinates_are_plausible(classic):
    xy = classic.coordinates
    assert all(0 <= x <= 100 and 0 <= y <= 100 for x, y in xy.values())
    # y grows southwards (north is up), x eastwards, as on the published board.
    assert xy["STP"][1] < xy["MOS"][1] < xy["SEV"][1] < xy["ANK"][1]
    assert xy["BRE"][0] < xy["PAR"][0] < xy["MUN"][0] < xy["WAR"][0] < xy["MOS"][0]
    assert xy["NAF"][1] > xy["SPA"][1] > xy["GAS"][1] > xy["BRE"][1] > xy["LON"][1]


def test_svg_is_xml_with_every_unit_and_an_arrow_per_move(classic):
    pos = rp.initial_position(classic)
    _, results = rp.adjudicate(classic, pos, ORDERS)
    svg = render.render_svg(classic, pos, ORDERS, results)
    cls = _classes(svg)
    units = sorted(_title(el) for el in cls["unit"])
    assert units == sorted(f"{pw} {u}" for pw, us in pos["units"].items() for u in us)
    moves = [_title(el) for el in cls["order move"]]
    n_moves = sum(1 for os_ in ORDERS.values() for o in os_ if " - " in o and " S " not in o)
    assert len(moves) == n_moves
    assert "GERMANY: A MUN - BUR (bounce)" in moves
    assert len(cls["order support"]) == 2
    assert len(cls["sea"]) == 19 and len(cls["center"]) == 34
    assert any("Spring 1901" in (el.text or "") for el in cls["title"])
    # Default holds come from the results (every unit without an order holds).
    assert "ITALY: A ROM H (success)" in [_title(el) for el in cls["order hold"]]


def test_svg_is_deterministic(classic):
    pos = rp.initial_position(classic)
    a = render.render_svg(classic, pos, ORDERS)
    b = render.render_svg("classic", copy.deepcopy(pos), copy.deepcopy(ORDERS))
    assert a == b
    assert a != render.render_svg(classic, pos)


def test_retreat_and_adjustment_orders_are_drawn(classic):
    pos = rp.initial_position(classic)
    pos["units"]["FRANCE"] = ["A BUR", "A MAR", "F BRE"]
    pos["units"]["GERMANY"] = ["A MUN", "A RUH", "F KIE"]
    nxt, _ = rp.adjudicate(classic, pos, {"GERMANY": ["A MUN - BUR", "A RUH S A MUN - BUR"]})
    assert nxt["phase"] == "S1901R" and nxt["dislodged"]["FRANCE"] == {"A BUR": "MUN"}
    svg = render.render_svg(classic, nxt, {"FRANCE": ["A BUR R PIC"]})
    cls = _classes(svg)
    assert [_title(el) for el in cls["dislodged"]] == ["FRANCE A BUR dislodged (from MUN)"]
    assert [_title(el) for el in cls["order retreat"]] == ["FRANCE: A BUR R PIC"]
    winter = {**rp.initial_position(classic), "phase": "W1901A"}
    winter["units"] = {**winter["units"], "FRANCE": ["A MAR"], "GERMANY": ["A BER", "A MUN"]}
    orders = {"FRANCE": ["A PAR B", "F BRE B"], "GERMANY": []}
    cls = _classes(render.render_svg(classic, winter, orders))
    assert len(cls["order build"]) == 2
    cls = _classes(render.render_svg(classic, winter, {"GERMANY": ["A BER D"]}))
    assert [_title(el) for el in cls["order disband"]] == ["GERMANY: A BER D"]


def test_png_is_written(classic, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "board.png"
    pos = rp.initial_position(classic)
    _, results = rp.adjudicate(classic, pos, ORDERS)
    render.render_png(classic, pos, path, ORDERS, results, dpi=60)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


def test_text_summary_lists_centres_units_and_results(classic):
    pos = rp.initial_position(classic)
    _, results = rp.adjudicate(classic, pos, ORDERS)
    text = render.render_text(classic, pos, ORDERS, results)
    assert text.startswith("classic: Spring 1901 movement (S1901M)")
    assert "RUSSIA (Russia): 4 centres: MOS, SEV, STP, WAR" in text
    assert "units (4): A MOS, A WAR, F SEV, F STP/SC" in text
    assert "unowned centres (12)" in text
    assert any(line.split() == ["A", "MUN", "-", "BUR", "bounce"] for line in text.splitlines())
    plain = render.render_text(classic, pos)
    assert "orders:" not in plain


def test_small_boards_and_circle_layout():
    duel = rp.load_map("duel")
    pos = rp.initial_position(duel)
    svg = render.render_svg(duel, pos, {"NORTH": ["A NOR - EAS"], "SOUTH": ["F SOU - EAS"]})
    assert len(_classes(svg)["order move"]) == 2
    data = {
        "format": "realpolitik-map/1",
        "name": "bare",
        "powers": {"AA": {"home_centers": ["P1"], "starting_units": ["A P1"]}},
        "provinces": {
            "P1": {"name": "One", "type": "land", "supply_center": True, "army": ["P2"]},
            "P2": {"name": "Two", "type": "land", "supply_center": False, "army": ["P1"]},
        },
    }
    bare = rp.map_from_dict(data)  # no xy at all: laid out on a circle
    ET.fromstring(render.render_svg(bare, rp.initial_position(bare)))
    data["provinces"]["P1"]["xy"] = [0, 0]  # some xy but not all: an error naming the gap
    with pytest.raises(ValueError, match="P2"):
        render.render_svg(rp.map_from_dict(data), rp.initial_position(bare))


@pytest.mark.parametrize(
    "change, orders, match",
    [
        (lambda p: p["units"].__setitem__("PRUSSIA", []), None, "unknown power 'PRUSSIA'"),
        (lambda p: p["units"]["FRANCE"].append("A XYZ"), None, "bad unit 'A XYZ'"),
        (lambda p: p["centers"]["FRANCE"].append("BUR"), None, "not a supply centre"),
        (lambda p: None, {"PRUSSIA": ["A PAR H"]}, "unknown power 'PRUSSIA'"),
        (lambda p: None, {"FRANCE": ["A PAR - XYZ"]}, "unknown location 'XYZ'"),
        (lambda p: None, {"FRANCE": ["A PAR goes home"]}, "malformed order"),
        (lambda p: None, {"FRANCE": "A PAR H"}, "list of order texts"),
    ],
)
def test_bad_input_is_a_clear_error(classic, change, orders, match):
    pos = rp.initial_position(classic)
    change(pos)
    for fn in (render.render_svg, render.render_text):
        with pytest.raises(ValueError, match=match):
            fn(classic, pos, orders)


def test_random_replay_and_render_replay(tmp_path):
    replay = render.make_random_replay("duel", 4, seed=0)
    assert replay == render.make_random_replay("duel", 4, seed=0)
    assert len(replay["phases"]) == 4 and "orders" not in replay["phases"][-1]
    m, phases = render.validate_replay(replay)
    for (pos, orders), (nxt, _) in zip(phases, phases[1:], strict=False):
        assert rp.adjudicate(m, pos, orders)[0] == nxt
    written = render.render_replay(replay, tmp_path / "out", ("svg", "txt"))
    assert [p.rsplit("/", 1)[1] for p in written][:2] == ["phase_000.svg", "phase_000.txt"]
    assert len(written) == 8
    with pytest.raises(ValueError, match="replay phase 1"):
        bad = copy.deepcopy(replay)
        bad["phases"][1]["position"]["units"]["NOBODY"] = []
        render.validate_replay(bad)
    with pytest.raises(ValueError, match="unknown map"):
        render.validate_replay({**replay, "map": "atlantis"})
    with pytest.raises(ValueError, match="num_phases"):
        render.make_random_replay("duel", 0, seed=0)
