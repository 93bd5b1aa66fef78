"""Tests of the map format, the loader's validation and the shipped boards."""

import copy
import json

import pytest

from detente.games.realpolitik import load_map, map_from_dict, shipped_maps
from detente.games.realpolitik.maps import _MAPS_DIR


def _classic_data():
    with open(f"{_MAPS_DIR}/classic.json", encoding="utf-8") as f:
        return json.load(f)


def test_shipped_maps():
    assert set(shipped_maps()) >= {"classic", "duel", "triad", "quartet"}
    sizes = {n: len(load_map(n).powers) for n in shipped_maps()}
    assert sizes["duel"] == 2 and sizes["triad"] == 3 and sizes["quartet"] == 4


def test_classic_counts():
    # The standard board: 75 provinces (19 seas, 14 inland), 34 centres, 7 powers, 22 units.
    m = load_map("classic")
    assert m.num_provinces == 75
    assert sum(m.is_sea) == 19 and sum(m.is_land) == 14
    assert len(m.supply_centers) == 34 and m.victory_centers == 18
    assert m.powers == ("AUSTRIA", "ENGLAND", "FRANCE", "GERMANY", "ITALY", "RUSSIA", "TURKEY")
    assert sum(len(u) for u in m.starting_units.values()) == 22
    assert {m.locations[i] for i in m.province_coasts[m.loc_index["STP"]]} == {"STP/NC", "STP/SC"}
    assert {m.locations[c] for p in ("SPA", "BUL") for c in m.province_coasts[m.loc_index[p]]} == {
        "SPA/NC",
        "SPA/SC",
        "BUL/EC",
        "BUL/SC",
    }
    assert m.province_names["NAO"] == "North Atlantic Ocean"


def test_adjacency_symmetric_and_typed():
    for name in shipped_maps():
        m = load_map(name)
        for a in range(m.num_locations):
            for b in m.army_adj[a]:
                assert a in m.army_adj[b]
            for b in m.fleet_adj[a]:
                assert a in m.fleet_adj[b]
                assert not m.is_land[m.loc_province[b]]


def test_classic_matches_diplomacy_package():
    dip = pytest.importorskip("diplomacy")
    d = dip.Map("standard")
    m = load_map("classic")
    assert sorted(d.scs) == sorted(m.supply_centers)
    for pw in m.powers:
        assert sorted(d.homes[pw]) == sorted(m.home_centers[pw])
    for a in m.locations:
        ai = m.loc_index[a]
        pa = m.loc_province[ai]
        for b in m.locations:
            bi = m.loc_index[b]
            if "/" not in a and not m.is_sea[pa]:
                theirs = bool(d.abuts("A", a, "-", b)) and "/" not in b
                assert (bi in m.army_adj[ai]) == theirs, ("army", a, b)
            if ai in m.fleet_locs[pa]:
                assert (bi in m.fleet_adj[ai]) == bool(d.abuts("F", a, "-", b)), ("fleet", a, b)


def test_load_by_path_and_cache(tmp_path):
    p = tmp_path / "mine.json"
    p.write_text(json.dumps(_classic_data()))
    m = load_map(str(p))
    assert m.num_provinces == 75
    assert load_map("classic") is load_map("classic")


def _mutated(fn):
    data = copy.deepcopy(_classic_data())
    fn(data)
    return data


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["provinces"]["PAR"]["army"].remove("BUR"), "asymmetric army adjacency"),
        (lambda d: d["provinces"]["NTH"]["fleet"].remove("LON"), "asymmetric fleet adjacency"),
        (lambda d: d["provinces"]["PAR"]["army"].append("XYZ"), "unknown province 'XYZ'"),
        (lambda d: d["provinces"]["BUR"].__setitem__("fleet", ["ENG"]), "landlocked"),
        (lambda d: d["provinces"]["ENG"]["fleet"].append("PAR"), "landlocked province 'PAR'"),
        (lambda d: d["provinces"]["PAR"]["army"].append("ENG"), "army adjacency to sea"),
        (lambda d: d["provinces"]["BAR"]["fleet"].append("STP"), "must name the coast"),
        (lambda d: d["provinces"]["BAR"]["fleet"].append("STP/EC"), "unknown coast"),
        (lambda d: d["powers"]["FRANCE"]["home_centers"].append("BUR"), "not a supply centre"),
        (lambda d: d["powers"]["FRANCE"]["home_centers"].append("LON"), "also a home centre"),
        (
            lambda d: d["powers"]["FRANCE"]["starting_units"].append("A GAS"),
            "not in one of its home",
        ),
        (lambda d: d["powers"]["FRANCE"]["starting_units"].append("A PAR"), "duplicate entries"),
        (lambda d: d["powers"]["FRANCE"]["starting_units"].append("X PAR"), "must look like"),
        (lambda d: d["provinces"]["PAR"].__setitem__("name", "Burgundy"), "duplicate full name"),
        (lambda d: d["provinces"]["PAR"]["army"].append("BUR"), "duplicate entries"),
        (lambda d: d["provinces"]["PAR"].__setitem__("type", "hill"), "type must be"),
        (lambda d: d["provinces"]["PAR"].__setitem__("colour", 1), "unknown keys"),
        (lambda d: d.__setitem__("format", "v0"), "unsupported format"),
        (lambda d: d.pop("provinces"), "missing key 'provinces'"),
        (lambda d: d.__setitem__("victory", 99), "'victory'"),
        (lambda d: d["provinces"]["PAR"].__setitem__("xy", [1]), "'xy'"),
    ],
)
def test_validation_errors_name_the_entry(mutate, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        map_from_dict(_mutated(mutate))


def test_loader_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown map 'nope'"):
        load_map("nope")
    with pytest.raises(ValueError, match="does not exist"):
        load_map(str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_map(str(bad))
    with pytest.raises(ValueError, match="must be a JSON object"):
        map_from_dict([])
