"""Boards as data: the realpolitik map file format, its loader and the compiled `Map`.

A map file is JSON (format described in docs/map_format.md). `load_map` reads a shipped board by
name ("classic", "duel", "triad", "quartet") or any file by path, validates every entry and compiles
it into a `Map`: locations numbered by integers, adjacency as integer tuples, per-location order
tables. Everything the adjudicator needs in its hot path is precomputed here, so the engine never
parses province names while resolving orders.

Locations: every province is a location, and each coast of a split-coast province (STP/NC, STP/SC)
is one more. Armies stand on provinces; fleets stand on a coast location where the province has
named coasts and on the province location otherwise.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["Map", "load_map", "map_from_dict", "shipped_maps"]

_MAPS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "maps")
_FORMAT = "realpolitik-map/1"
_PROVINCE_TYPES = ("land", "coast", "sea")
_NAME_RE = re.compile(r"^[A-Z][A-Z0-9]{1,5}$")
_COAST_RE = re.compile(r"^[A-Z]{2}$")
_UNIT_RE = re.compile(r"^([AF]) ([A-Z][A-Z0-9]{1,5})(?:/([A-Z]{2}))?$")


@dataclasses.dataclass(frozen=True, eq=False)
class Map:
    """A validated, compiled board. Build one with `load_map`; treat it as immutable.

    Attributes:
      name: board name from the file.
      description: one-line description from the file.
      first_year: year of the first Spring movement phase.
      powers: power names in file order; a power's index is its position here.
      power_names: full name of each power.
      provinces: province abbreviations, sorted.
      province_names: full name of each province.
      province_types: "land", "coast" or "sea" for each province.
      supply_centers: provinces that are supply centres, sorted.
      home_centers: power -> its home centres.
      starting_units: power -> its units at the start ("A PAR", "F STP/SC").
      coordinates: province -> (x, y) where the file gives them (for rendering).
      victory_centers: centres a power must own to win outright (more than half by default).
      locations: every location: provinces first (same order as `provinces`), then coasts.
      loc_index: location name -> index.
      loc_province: province index of each location.
      army_adj: per location, the locations an army there may move to (province locations).
      fleet_adj: per location, the locations a fleet there may move to (coast-precise).
      province_coasts: per province, the coast locations of a split-coast province, else ().
      fleet_locs: per province, where a fleet can stand in it: coasts, or itself, or ().
      is_sea / is_land / is_coast / is_center: per-province booleans.
      reach: per location, the provinces a unit there could support into, for (army, fleet).
    """

    name: str
    description: str
    first_year: int
    powers: tuple[str, ...]
    power_names: dict[str, str]
    provinces: tuple[str, ...]
    province_names: dict[str, str]
    province_types: dict[str, str]
    supply_centers: tuple[str, ...]
    home_centers: dict[str, tuple[str, ...]]
    starting_units: dict[str, tuple[str, ...]]
    coordinates: dict[str, tuple[float, float]]
    victory_centers: int
    locations: tuple[str, ...]
    loc_index: dict[str, int]
    loc_province: tuple[int, ...]
    army_adj: tuple[frozenset[int], ...]
    fleet_adj: tuple[frozenset[int], ...]
    province_coasts: tuple[tuple[int, ...], ...]
    fleet_locs: tuple[tuple[int, ...], ...]
    is_sea: tuple[bool, ...]
    is_land: tuple[bool, ...]
    is_coast: tuple[bool, ...]
    is_center: tuple[bool, ...]
    power_index: dict[str, int]
    home_center_index: tuple[frozenset[int], ...]
    fleet_province_adj: tuple[frozenset[int], ...]
    army_province_adj: tuple[frozenset[int], ...]

    @property
    def num_provinces(self) -> int:
        """Number of provinces (coasts not counted)."""
        return len(self.provinces)

    @property
    def num_locations(self) -> int:
        """Number of locations: provinces plus named coasts."""
        return len(self.locations)

    def province_of(self, location: str) -> str:
        """Province abbreviation of a location name ("STP/SC" -> "STP")."""
        return self.provinces[self.loc_province[self.loc_index[location]]]

    def __repr__(self) -> str:
        return (
            f"Map(name={self.name!r}, powers={len(self.powers)}, provinces={self.num_provinces}, "
            f"supply_centers={len(self.supply_centers)})"
        )

    @functools.cached_property
    def distances(self) -> tuple[tuple[int, ...], ...]:
        """Province-to-province distance in moves where any unit may cross any border.

        Used by civil disorder (2000 rulebook: distance counts land and sea moves alike).
        """
        n = self.num_provinces
        nbrs = [set(self.army_province_adj[p]) | set(self.fleet_province_adj[p]) for p in range(n)]
        out = []
        for src in range(n):
            dist = [-1] * n
            dist[src] = 0
            frontier = [src]
            while frontier:
                nxt = []
                for p in frontier:
                    for q in nbrs[p]:
                        if dist[q] < 0:
                            dist[q] = dist[p] + 1
                            nxt.append(q)
                frontier = nxt
            out.append(tuple(dist))
        return tuple(out)


def shipped_maps() -> tuple[str, ...]:
    """Names of the boards that ship with the package (usable as `load_map(name)`)."""
    return tuple(sorted(f[:-5] for f in os.listdir(_MAPS_DIR) if f.endswith(".json")))


def load_map(name_or_path: str | os.PathLike[str]) -> Map:
    """Loads and validates a board.

    Args:
      name_or_path: a shipped board name (see `shipped_maps`) or a path to a JSON map file.

    Returns:
      The compiled `Map`. Shipped boards are cached, so repeated loads return the same object.

    Raises:
      ValueError: the name is unknown, the file is not valid JSON, or an entry breaks the format;
        the message names the bad entry.
    """
    text = os.fspath(name_or_path)
    if os.sep not in text and "/" not in text and not text.endswith(".json"):
        if text not in shipped_maps():
            raise ValueError(
                f"unknown map {text!r}: expected one of {list(shipped_maps())} or a path to a "
                "JSON map file"
            )
        return _load_shipped(text)
    return _load_path(text)


@functools.cache
def _load_shipped(name: str) -> Map:
    return _load_path(os.path.join(_MAPS_DIR, name + ".json"))


def _load_path(path: str) -> Map:
    if not os.path.isfile(path):
        raise ValueError(f"map file {path!r} does not exist")
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"map file {path!r} is not valid JSON: {e}") from None
    try:
        return map_from_dict(data)
    except ValueError as e:
        raise ValueError(f"map file {path!r}: {e}") from None


def _err(msg: str) -> ValueError:
    return ValueError(msg)


def _require(obj: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in obj:
        raise _err(f"{where}: missing key {key!r}")
    value = obj[key]
    if kind is int and isinstance(value, bool):
        raise _err(f"{where}: {key!r} must be int, got {value!r}")
    if not isinstance(value, kind):
        raise _err(f"{where}: {key!r} must be {kind.__name__}, got {value!r}")
    return value


def _str_list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _err(f"{where} must be a list of strings, got {value!r}")
    if len(set(value)) != len(value):
        dup = sorted({v for v in value if value.count(v) > 1})
        raise _err(f"{where} has duplicate entries {dup}")
    return value


def map_from_dict(data: Mapping[str, Any]) -> Map:
    """Validates a parsed map file (the JSON object) and compiles it.

    Args:
      data: the decoded JSON object of a map file.

    Returns:
      The compiled `Map`.

    Raises:
      ValueError: an entry breaks the format (the message names it): unknown keys or provinces,
        duplicate names, asymmetric adjacency, fleet adjacency touching a landlocked province,
        army adjacency touching a sea, a home centre that is not a supply centre, a starting unit
        outside its power's home centres, and so on.
    """
    if not isinstance(data, Mapping):
        raise _err(f"a map must be a JSON object, got {type(data).__name__}")
    allowed = {"format", "name", "description", "first_year", "powers", "provinces", "victory"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise _err(f"unknown top-level keys {unknown}; allowed: {sorted(allowed)}")
    fmt = _require(data, "format", str, "map")
    if fmt != _FORMAT:
        raise _err(f"unsupported format {fmt!r}; expected {_FORMAT!r}")
    name = _require(data, "name", str, "map")
    description = data.get("description", "")
    first_year = data.get("first_year", 1901)
    if not isinstance(first_year, int) or isinstance(first_year, bool) or first_year < 0:
        raise _err(f"map: 'first_year' must be a non-negative int, got {first_year!r}")
    raw_provs = _require(data, "provinces", dict, "map")
    raw_powers = _require(data, "powers", dict, "map")
    if not raw_provs:
        raise _err("map: 'provinces' is empty")
    if not raw_powers:
        raise _err("map: 'powers' is empty")

    # Provinces and their locations.
    provinces = tuple(sorted(raw_provs))
    names_seen: dict[str, str] = {}
    ptype: dict[str, str] = {}
    pname: dict[str, str] = {}
    coords: dict[str, tuple[float, float]] = {}
    coasts: dict[str, list[str]] = {}
    allowed_p = {"name", "type", "supply_center", "army", "fleet", "coasts", "xy"}
    for p in provinces:
        entry = raw_provs[p]
        where = f"province {p!r}"
        if not _NAME_RE.match(p):
            raise _err(f"{where}: abbreviation must be 2-6 upper-case letters/digits")
        if not isinstance(entry, dict):
            raise _err(f"{where} must be an object")
        bad = sorted(set(entry) - allowed_p)
        if bad:
            raise _err(f"{where}: unknown keys {bad}; allowed: {sorted(allowed_p)}")
        full = _require(entry, "name", str, where)
        if full.lower() in names_seen:
            raise _err(f"{where}: duplicate full name {full!r} (also {names_seen[full.lower()]!r})")
        names_seen[full.lower()] = p
        pname[p] = full
        t = _require(entry, "type", str, where)
        if t not in _PROVINCE_TYPES:
            raise _err(f"{where}: type must be one of {_PROVINCE_TYPES}, got {t!r}")
        ptype[p] = t
        if not isinstance(entry.get("supply_center", False), bool):
            raise _err(f"{where}: 'supply_center' must be true or false")
        if "xy" in entry:
            xy = entry["xy"]
            if (
                not isinstance(xy, list)
                or len(xy) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in xy)
            ):
                raise _err(f"{where}: 'xy' must be [x, y] numbers, got {xy!r}")
            coords[p] = (float(xy[0]), float(xy[1]))
        if "coasts" in entry:
            if t != "coast":
                raise _err(f"{where}: only a 'coast' province may have named coasts")
            if "fleet" in entry:
                raise _err(f"{where}: give fleet adjacency per coast in 'coasts', not 'fleet'")
            cs = entry["coasts"]
            if not isinstance(cs, dict) or len(cs) < 2:
                raise _err(f"{where}: 'coasts' must map at least two coast names to adjacency")
            for c in cs:
                if not _COAST_RE.match(c):
                    raise _err(f"{where}: coast name {c!r} must be two upper-case letters")
            coasts[p] = sorted(cs)
        if t == "sea" and "army" in entry and entry["army"]:
            raise _err(f"{where}: a sea province cannot have army adjacency")
        if t == "land" and entry.get("fleet"):
            raise _err(f"{where}: a landlocked province cannot have fleet adjacency")
    locations = list(provinces)
    for p in provinces:
        for c in coasts.get(p, []):
            locations.append(f"{p}/{c}")
    loc_index = {loc: i for i, loc in enumerate(locations)}
    prov_index = {p: i for i, p in enumerate(provinces)}
    loc_province = tuple(prov_index[loc.split("/")[0]] for loc in locations)

    # Adjacency.
    army: dict[str, list[str]] = {}
    fleet: dict[str, list[str]] = {}
    for p in provinces:
        entry = raw_provs[p]
        where = f"province {p!r}"
        army[p] = _str_list(entry.get("army", []), f"{where} 'army'")
        if p in coasts:
            for c in coasts[p]:
                fleet[f"{p}/{c}"] = _str_list(entry["coasts"][c], f"{where} coast {c!r}")
        else:
            fleet[p] = _str_list(entry.get("fleet", []), f"{where} 'fleet'")
    for p, nbrs in army.items():
        for q in nbrs:
            if q not in prov_index:
                raise _err(f"province {p!r}: army adjacency names unknown province {q!r}")
            if q == p:
                raise _err(f"province {p!r}: army adjacency lists itself")
            if ptype[q] == "sea":
                raise _err(f"province {p!r}: army adjacency to sea province {q!r}")
            if p not in army[q]:
                raise _err(f"asymmetric army adjacency: {p!r} lists {q!r} but {q!r} lacks {p!r}")
    for loc, nbrs in fleet.items():
        p = loc.split("/")[0]
        for q in nbrs:
            if q not in loc_index:
                base = q.split("/")[0]
                if base in prov_index:
                    raise _err(f"location {loc!r}: fleet adjacency names unknown coast {q!r}")
                raise _err(f"location {loc!r}: fleet adjacency names unknown province {q!r}")
            qp = q.split("/")[0]
            if qp == p:
                raise _err(f"location {loc!r}: fleet adjacency lists its own province {q!r}")
            if ptype[qp] == "land":
                raise _err(
                    f"location {loc!r}: fleet adjacency to landlocked province {q!r} "
                    "(a fleet path over land)"
                )
            if qp in coasts and "/" not in q:
                raise _err(
                    f"location {loc!r}: fleet adjacency to split-coast province {q!r} must name "
                    f"the coast (one of {[f'{qp}/{c}' for c in coasts[qp]]})"
                )
            if loc not in fleet[q]:
                raise _err(
                    f"asymmetric fleet adjacency: {loc!r} lists {q!r} but {q!r} lacks {loc!r}"
                )
        if ptype[p] == "coast" and ptype[p] != "sea" and not nbrs:
            pass  # a coast with no fleet neighbour is legal (useless for fleets)

    # Supply centres and powers.
    centers = tuple(p for p in provinces if raw_provs[p].get("supply_center", False))
    if not centers:
        raise _err("map: no supply centres")
    powers = tuple(raw_powers)
    power_names: dict[str, str] = {}
    homes: dict[str, tuple[str, ...]] = {}
    starts: dict[str, tuple[str, ...]] = {}
    home_owner: dict[str, str] = {}
    for pw in powers:
        where = f"power {pw!r}"
        if not re.match(r"^[A-Z][A-Z_]{1,19}$", pw):
            raise _err(f"{where}: name must be 2-20 upper-case letters or '_'")
        if pw in prov_index:
            raise _err(f"{where}: name clashes with a province abbreviation")
        entry = raw_powers[pw]
        if not isinstance(entry, dict):
            raise _err(f"{where} must be an object")
        bad = sorted(set(entry) - {"name", "home_centers", "starting_units"})
        if bad:
            raise _err(f"{where}: unknown keys {bad}")
        power_names[pw] = entry.get("name", pw.title())
        hc = _str_list(_require(entry, "home_centers", list, where), f"{where} 'home_centers'")
        if not hc:
            raise _err(f"{where}: no home centres")
        for h in hc:
            if h not in prov_index:
                raise _err(f"{where}: home centre {h!r} is not a province")
            if h not in centers:
                raise _err(f"{where}: home centre {h!r} is not a supply centre")
            if h in home_owner:
                raise _err(f"{where}: home centre {h!r} is also a home centre of {home_owner[h]!r}")
            home_owner[h] = pw
        homes[pw] = tuple(hc)
        su = _str_list(_require(entry, "starting_units", list, where), f"{where} 'starting_units'")
        seen_prov: set[str] = set()
        for u in su:
            m = _UNIT_RE.match(u)
            if not m:
                raise _err(f"{where}: starting unit {u!r} must look like 'A PAR' or 'F STP/SC'")
            utype, prov, coast = m.groups()
            loc = prov if coast is None else f"{prov}/{coast}"
            if prov not in prov_index or loc not in loc_index:
                raise _err(f"{where}: starting unit {u!r} names an unknown location")
            if prov not in hc:
                raise _err(f"{where}: starting unit {u!r} is not in one of its home centres {hc}")
            if prov in seen_prov:
                raise _err(f"{where}: two starting units in {prov!r}")
            seen_prov.add(prov)
            if utype == "A" and ptype[prov] == "sea":
                raise _err(f"{where}: starting army {u!r} is at sea")
            if utype == "F" and (ptype[prov] == "land" or (prov in coasts and coast is None)):
                raise _err(f"{where}: starting fleet {u!r} needs a coastal location (with coast)")
            if utype == "A" and coast is not None:
                raise _err(f"{where}: starting army {u!r} cannot name a coast")
        starts[pw] = tuple(su)
    victory = data.get("victory", len(centers) // 2 + 1)
    if (
        not isinstance(victory, int)
        or isinstance(victory, bool)
        or not (1 <= victory <= len(centers))
    ):
        raise _err(f"map: 'victory' must be an int in [1, {len(centers)}], got {victory!r}")

    n_loc = len(locations)
    army_adj = [frozenset()] * n_loc
    fleet_adj = [frozenset()] * n_loc
    for p, nbrs in army.items():
        army_adj[loc_index[p]] = frozenset(loc_index[q] for q in nbrs)
    for loc, nbrs in fleet.items():
        fleet_adj[loc_index[loc]] = frozenset(loc_index[q] for q in nbrs)
    province_coasts = tuple(
        tuple(loc_index[f"{p}/{c}"] for c in coasts.get(p, [])) for p in provinces
    )
    fleet_locs = tuple(
        province_coasts[i] if province_coasts[i] else ((i,) if ptype[p] != "land" else ())
        for i, p in enumerate(provinces)
    )
    n = len(provinces)
    fleet_prov_adj = [set() for _ in range(n)]
    for loc, nbrs in fleet.items():
        for q in nbrs:
            fleet_prov_adj[prov_index[loc.split("/")[0]]].add(prov_index[q.split("/")[0]])
    army_prov_adj = tuple(frozenset(prov_index[q] for q in army[p]) for p in provinces)
    power_index = {pw: i for i, pw in enumerate(powers)}
    return Map(
        name=name,
        description=description if isinstance(description, str) else "",
        first_year=first_year,
        powers=powers,
        power_names=power_names,
        provinces=provinces,
        province_names=pname,
        province_types=ptype,
        supply_centers=centers,
        home_centers=homes,
        starting_units=starts,
        coordinates=coords,
        victory_centers=victory,
        locations=tuple(locations),
        loc_index=loc_index,
        loc_province=loc_province,
        army_adj=tuple(army_adj),
        fleet_adj=tuple(fleet_adj),
        province_coasts=province_coasts,
        fleet_locs=fleet_locs,
        is_sea=tuple(ptype[p] == "sea" for p in provinces),
        is_land=tuple(ptype[p] == "land" for p in provinces),
        is_coast=tuple(ptype[p] == "coast" for p in provinces),
        is_center=tuple(p in centers for p in provinces),
        power_index=power_index,
        home_center_index=tuple(frozenset(prov_index[h] for h in homes[pw]) for pw in powers),
        fleet_province_adj=tuple(frozenset(s) for s in fleet_prov_adj),
        army_province_adj=army_prov_adj,
    )


def unit_location(m: Map, unit: str) -> tuple[bool, int]:
    """Parses a unit string ("A PAR", "F STP/SC") on `m` into (is_fleet, location index)."""
    match = _UNIT_RE.match(unit)
    if not match:
        raise ValueError(f"bad unit {unit!r}: expected 'A PAR' or 'F STP/SC'")
    utype, prov, coast = match.groups()
    loc = prov if coast is None else f"{prov}/{coast}"
    if loc not in m.loc_index:
        raise ValueError(f"bad unit {unit!r}: unknown location {loc!r} on map {m.name!r}")
    return utype == "F", m.loc_index[loc]
