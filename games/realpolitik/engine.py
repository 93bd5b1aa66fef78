"""The reference engine: positions, phases, order validation, retreats and adjustments.

A position is a plain JSON-able dict:

    {"phase": "S1901M",                       # season S/F/W, year, type M/R/A
     "units": {"FRANCE": ["A PAR", "F BRE"], ...},
     "centers": {"FRANCE": ["BRE", "MAR", "PAR"], ...},
     "dislodged": {"FRANCE": {"A PAR": "BUR"}, ...},   # unit -> attacker's origin (None: convoyed)
     "contested": ["BUR"]}                    # standoff provinces (retreat phases only)

`adjudicate` takes orders in standard notation (see `detente.games.realpolitik.notation`) and
returns the next position and a result for every order. Phases with nothing to do are skipped, as
in the standard engines: a retreat phase only follows a movement phase with dislodged units that
can retreat (one that cannot is disbanded at once), and a winter adjustment phase only comes when
some power must disband or can build.

Rules choices (DATC preferred options, docs/realpolitik.md lists them): an army moves by convoy when
ordered "VIA", when the destination is not adjacent, or when a fleet of its own power is ordered to
convoy that move; a power's attack never cuts its own support nor dislodges its own unit; a fleet
move to a split-coast province without a coast is void unless only one coast can be reached; a
build of a fleet in a split-coast province without a coast is void; a power that gives too few
disbands loses the units farthest from its home centres (fleets first, then alphabetical).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from detente.games.realpolitik import adjudicator as _adj
from detente.games.realpolitik.maps import Map
from detente.games.realpolitik.notation import Order, format_order, parse_order

__all__ = [
    "Position",
    "initial_position",
    "adjudicate",
    "legal_orders",
    "adjustment_counts",
    "phase_parts",
    "validate_position",
    "RESULTS",
]

Position = dict[str, Any]
RESULTS = ("success", "bounce", "cut", "dislodged", "void", "no convoy", "disbanded")

_MOVE_KIND = {"H": _adj.HOLD, "-": _adj.MOVE, "S": _adj.SUPPORT, "C": _adj.CONVOY}


@functools.lru_cache(maxsize=1 << 16)
def _parse(text: str) -> tuple[Order, str]:
    order = parse_order(text)
    return order, format_order(order)


def phase_parts(phase: str) -> tuple[str, int, str]:
    """Splits a phase name: "F1901R" -> ("F", 1901, "R").

    Raises:
      ValueError: not a phase name like "S1901M", "F1901R" or "W1901A".
    """
    if (
        not isinstance(phase, str)
        or len(phase) < 3
        or phase[0] + phase[-1] not in ("SM", "SR", "FM", "FR", "WA")
        or not phase[1:-1].isdigit()
    ):
        raise ValueError(f"bad phase {phase!r}: expected like 'S1901M', 'F1901R' or 'W1901A'")
    return phase[0], int(phase[1:-1]), phase[-1]


def initial_position(m: Map) -> Position:
    """The starting position of board `m`: Spring movement of its first year."""
    units = {pw: sorted(m.starting_units[pw]) for pw in m.powers}
    centers = {pw: sorted(m.home_centers[pw]) for pw in m.powers}
    return {
        "phase": f"S{m.first_year}M",
        "units": units,
        "centers": centers,
        "dislodged": {pw: {} for pw in m.powers},
        "contested": [],
    }


# ---------------------------------------------------------------------------------------------
# Position parsing (cached per map: unit strings and location names are looked up once).


def _unit_key(m: Map) -> dict[str, tuple[bool, int]]:
    cache = m.__dict__.get("_unit_cache")
    if cache is None:
        cache = {}
        for loc, i in m.loc_index.items():
            prov = m.loc_province[i]
            if i in m.fleet_locs[prov]:
                cache[f"F {loc}"] = (True, i)
            if loc == m.provinces[prov] and not m.is_sea[prov]:
                cache[f"A {loc}"] = (False, i)
        m.__dict__["_unit_cache"] = cache
    return cache


def _unit_str(m: Map, fleet: bool, loc: int) -> str:
    return ("F " if fleet else "A ") + m.locations[loc]


def _units(m: Map, position: Mapping[str, Any]) -> list[tuple[int, bool, int]]:
    """Units as (power index, is fleet, location index), in power then listing order."""
    keys = _unit_key(m)
    out = []
    units = position.get("units")
    if not isinstance(units, Mapping):
        raise ValueError(f"position 'units' must map power -> list of units, got {units!r}")
    for pw, lst in units.items():
        pi = m.power_index.get(pw)
        if pi is None:
            raise ValueError(f"position names unknown power {pw!r}; expected one of {m.powers}")
        for u in lst:
            k = keys.get(u)
            if k is None:
                raise ValueError(f"position: bad unit {u!r} of {pw} on map {m.name!r}")
            out.append((pi, k[0], k[1]))
    return out


def validate_position(m: Map, position: Mapping[str, Any]) -> None:
    """Checks that `position` is a well-formed position on `m`.

    Raises:
      ValueError: naming the bad entry (unknown power, unit, centre, two units in one province...).
    """
    if not isinstance(position, Mapping):
        raise ValueError(f"a position must be a dict, got {type(position).__name__}")
    for key in ("phase", "units", "centers", "dislodged"):
        if key not in position:
            raise ValueError(f"position is missing key {key!r}")
    phase_parts(position["phase"])
    seen: dict[int, str] = {}
    for _pi, fleet, loc in _units(m, position):
        p = m.loc_province[loc]
        if p in seen:
            raise ValueError(
                f"position: two units in {m.provinces[p]!r} ({seen[p]} and "
                f"{_unit_str(m, fleet, loc)})"
            )
        seen[p] = _unit_str(m, fleet, loc)
    owner: dict[str, str] = {}
    for pw, cs in position["centers"].items():
        if pw not in m.power_index:
            raise ValueError(f"position 'centers' names unknown power {pw!r}")
        for c in cs:
            if c not in m.supply_centers:
                raise ValueError(f"position: {c!r} owned by {pw} is not a supply centre")
            if c in owner:
                raise ValueError(f"position: centre {c!r} owned by both {owner[c]} and {pw}")
            owner[c] = pw
    keys = _unit_key(m)
    for pw, d in position["dislodged"].items():
        if pw not in m.power_index:
            raise ValueError(f"position 'dislodged' names unknown power {pw!r}")
        for u, src in d.items():
            if u not in keys:
                raise ValueError(f"position: bad dislodged unit {u!r} of {pw}")
            if src is not None and src not in m.provinces:
                raise ValueError(f"position: dislodged {u!r} attacker origin {src!r} unknown")


def _position(
    m: Map,
    phase: str,
    units: Iterable[tuple[int, bool, int]],
    centers: Mapping[str, Iterable[str]],
    dislodged: Mapping[str, Mapping[str, str | None]] | None = None,
    contested: Iterable[str] = (),
) -> Position:
    per: dict[str, list[str]] = {pw: [] for pw in m.powers}
    for pi, fleet, loc in units:
        per[m.powers[pi]].append(_unit_str(m, fleet, loc))
    for lst in per.values():
        lst.sort()
    return {
        "phase": phase,
        "units": per,
        "centers": {pw: sorted(centers.get(pw, ())) for pw in m.powers},
        "dislodged": {pw: dict(sorted((dislodged or {}).get(pw, {}).items())) for pw in m.powers},
        "contested": sorted(contested),
    }


# ---------------------------------------------------------------------------------------------
# Phase sequencing.


def _after_fall(m: Map, year: int, units, centers) -> Position:
    """Updates centre ownership after the Fall, then goes to Winter or the next Spring."""
    owner = {c: pw for pw, cs in centers.items() for c in cs}
    for pi, _, loc in units:
        p = m.loc_province[loc]
        if m.is_center[p]:
            owner[m.provinces[p]] = m.powers[pi]
    new_centers: dict[str, list[str]] = {pw: [] for pw in m.powers}
    for c, pw in owner.items():
        new_centers[pw].append(c)
    pos = _position(m, f"W{year}A", units, new_centers)
    if any(adjustment_counts(m, pos).values()):
        return pos
    pos["phase"] = f"S{year + 1}M"
    return pos


def adjustment_counts(m: Map, position: Mapping[str, Any]) -> dict[str, int]:
    """Builds (positive) or disbands (negative) each power may or must make this winter.

    Builds are capped by the vacant home centres the power owns, so a power that cannot build
    gets 0.
    """
    units = _units(m, position)
    occupied = {m.loc_province[loc] for _, _, loc in units}
    count = [0] * len(m.powers)
    for pi, _, _ in units:
        count[pi] += 1
    out = {}
    for pi, pw in enumerate(m.powers):
        n = len(position["centers"].get(pw, ())) - count[pi]
        if n > 0:
            free = sum(
                1
                for h in m.home_centers[pw]
                if h in position["centers"][pw] and m.loc_index[h] not in occupied
            )
            n = min(n, free)
        out[pw] = n
    return out


def adjudicate(
    m: Map, position: Mapping[str, Any], orders_by_power: Mapping[str, Iterable[str]]
) -> tuple[Position, dict[str, dict[str, str]]]:
    """Adjudicates one phase.

    Args:
      m: the board.
      position: the current position (see module docstring).
      orders_by_power: power -> orders in standard notation. Missing powers and units without
        orders hold (movement), disband (retreat) or waive/civil-disorder (adjustment).

    Returns:
      (next position, results): results map power -> canonical order text -> one of `RESULTS`.
      Units left without an order get their default order ("A PAR H", "A PAR D") in the results.

    Raises:
      ValueError: a malformed order text, an unknown power, or an order naming a location that does
        not exist on the board. Orders that are well formed but impossible are "void".
    """
    season, year, kind = phase_parts(position["phase"])
    for pw in orders_by_power:
        if pw not in m.power_index:
            raise ValueError(f"orders for unknown power {pw!r}; expected one of {m.powers}")
    if kind == "M":
        return _movement(m, position, orders_by_power, season, year)
    if kind == "R":
        return _retreats(m, position, orders_by_power, season, year)
    return _adjustments(m, position, orders_by_power, year)


def _loc(m: Map, name: str, text: str) -> int:
    i = m.loc_index.get(name)
    if i is None:
        raise ValueError(f"order {text!r} names unknown location {name!r} on map {m.name!r}")
    return i


def _fleet_dest(m: Map, from_loc: int, tloc: int) -> int:
    """Destination location of a fleet move, or -1 if the fleet cannot get there."""
    tprov = m.loc_province[tloc]
    adj = m.fleet_adj[from_loc]
    coasts = m.province_coasts[tprov]
    if coasts and tloc == tprov:
        cands = [c for c in coasts if c in adj]
        return cands[0] if len(cands) == 1 else -1
    return tloc if tloc in adj else -1


def _reaches(m: Map, fleet: bool, loc: int, prov: int) -> bool:
    """Whether a unit at `loc` could move into province `prov` (so may support into it)."""
    if fleet:
        adj = m.fleet_adj[loc]
        return any(x in adj for x in m.fleet_locs[prov])
    return prov in m.army_province_adj[m.loc_province[loc]]


def _movement(m, position, orders_by_power, season, year):
    units = _units(m, position)
    n = len(units)
    prov = [m.loc_province[u[2]] for u in units]
    unit_in = {p: i for i, p in enumerate(prov)}
    given: list[Order | None] = [None] * n
    texts: list[str] = [""] * n
    extra: dict[str, dict[str, str]] = {pw: {} for pw in m.powers}
    for pw, orders in orders_by_power.items():
        pi = m.power_index[pw]
        for text in orders:
            o, canon = _parse(text)
            if o.kind == "WAIVE":
                extra[pw][canon] = "void"
                continue
            i = unit_in.get(m.loc_province[_loc(m, o.loc, text)], -1)
            if i < 0 or units[i][0] != pi or given[i] is not None:
                extra[pw][canon] = "void"
                continue
            given[i] = o
            texts[i] = canon

    kind = [_adj.HOLD] * n
    dest = [-1] * n
    dest_loc = [-1] * n
    by_convoy = [False] * n
    aux = [-1] * n
    sup_dest = [-1] * n
    void = [False] * n
    sup_coast = [-1] * n
    groups = None
    seas: frozenset[int] | None = None
    for i in range(n):
        o = given[i]
        if o is None:
            continue
        pi, fleet, loc = units[i]
        k = _MOVE_KIND.get(o.kind)
        if k is None or (o.unit_type == "F") != fleet:
            void[i] = True
            continue
        if k == _adj.HOLD:
            continue
        if k == _adj.MOVE:
            tloc = _loc(m, o.target, texts[i])
            tprov = m.loc_province[tloc]
            if tprov == prov[i]:
                void[i] = True
            elif fleet:
                d = -1 if o.via else _fleet_dest(m, loc, tloc)
                if d < 0:
                    void[i] = True
                else:
                    kind[i], dest[i], dest_loc[i] = k, tprov, d
            elif m.is_sea[tprov]:
                void[i] = True
            else:
                adjacent = tprov in m.army_province_adj[prov[i]]
                if o.via or not adjacent:
                    # A convoy needs a chain of fleets at sea on the board (DATC 6.D.8, 6.D.32).
                    if groups is None:
                        groups = _convoy_groups(m, units)
                    if not any(prov[i] in sh and tprov in sh for _, sh in groups):
                        void[i] = True
                        continue
                    by_convoy[i] = True
                kind[i], dest[i], dest_loc[i] = k, tprov, tprov
            continue
        aprov = m.loc_province[_loc(m, o.aux_loc, texts[i])]
        j = unit_in.get(aprov, -1)
        if j < 0 or j == i:
            void[i] = True
            continue
        if k == _adj.SUPPORT:
            if o.aux_target:
                sd = m.loc_province[_loc(m, o.aux_target, texts[i])]
                if sd == aprov or not _reaches(m, fleet, loc, sd):
                    void[i] = True
                    continue
                sup_dest[i] = sd
                if "/" in o.aux_target:
                    sup_coast[i] = m.loc_index[o.aux_target]
            elif not _reaches(m, fleet, loc, aprov):
                void[i] = True
                continue
        else:  # convoy
            cd = m.loc_province[_loc(m, o.aux_target, texts[i])]
            if not fleet or not m.is_sea[prov[i]] or units[j][1]:
                void[i] = True
                continue
            # A fleet that no convoy route needs cannot convoy (2023 rules, DATC 6.G.19).
            if seas is None:
                seas = _fleets_at_sea(m, units)
            if not _on_minimal_route(m, seas, prov[j], cd, prov[i]):
                void[i] = True
                continue
            sup_dest[i] = cd
        kind[i], aux[i] = k, j

    # An army moving to an adjacent province goes by convoy if its own power convoys it.
    convoyers: list[list[int]] = [[] for _ in range(n)]
    for i in range(n):
        if kind[i] == _adj.CONVOY:
            j = aux[i]
            if kind[j] == _adj.MOVE and dest[j] == sup_dest[i] and not units[j][1]:
                if not by_convoy[j] and units[j][0] == units[i][0]:
                    # Intent (DATC 6.G): an own fleet that could carry the army makes it a convoy.
                    if groups is None:
                        groups = _convoy_groups(m, units)
                    if any(
                        prov[i] in comp and prov[j] in sh and dest[j] in sh for comp, sh in groups
                    ):
                        by_convoy[j] = True
    for i in range(n):
        if kind[i] == _adj.CONVOY:
            j = aux[i]
            if kind[j] == _adj.MOVE and by_convoy[j] and dest[j] == sup_dest[i]:
                convoyers[j].append(i)
            else:
                kind[i], void[i] = _adj.HOLD, True
    supports: list[list[int]] = [[] for _ in range(n)]
    for i in range(n):
        if kind[i] == _adj.SUPPORT:
            j = aux[i]
            if sup_dest[i] >= 0:
                ok = kind[j] == _adj.MOVE and dest[j] == sup_dest[i]
                # A support naming a coast must name the coast the move goes to (DATC 6.B.9).
                ok = ok and (sup_coast[i] < 0 or sup_coast[i] == dest_loc[j])
                if ok and by_convoy[j] and units[i][1] and m.is_sea[prov[i]]:
                    # A fleet cannot convoy and support at once: supporting a move whose every
                    # convoy route needs the supporter is impossible (DATC 6.D.31).
                    if seas is None:
                        seas = _fleets_at_sea(m, units)
                    ok = _has_route(m, seas - {prov[i]}, prov[j], dest[j])
            else:
                ok = kind[j] != _adj.MOVE
            if ok:
                supports[j].append(i)
            else:
                kind[i], void[i], sup_dest[i] = _adj.HOLD, True, -1
    for i in range(n):
        if kind[i] == _adj.HOLD:
            sup_dest[i] = -1

    orders = _adj.MovementOrders(
        [u[0] for u in units],
        prov,
        kind,
        dest,
        by_convoy,
        supports,
        sup_dest,
        convoyers,
        m.fleet_province_adj,
    )
    out = _adj.resolve(orders)

    results: dict[str, dict[str, str]] = {pw: {} for pw in m.powers}
    new_units = []
    dislodged: dict[str, dict[str, str | None]] = {}
    for i in range(n):
        pi, fleet, loc = units[i]
        pw = m.powers[pi]
        text = texts[i] or _unit_str(m, fleet, loc) + " H"
        by = out.dislodged_by[i]
        if by >= 0:
            r = "dislodged"
            origin = None if by_convoy[by] else m.provinces[prov[by]]
            dislodged.setdefault(pw, {})[_unit_str(m, fleet, loc)] = origin
        elif void[i]:
            r = "void"
        elif kind[i] == _adj.MOVE:
            r = "success" if out.success[i] else ("no convoy" if out.no_path[i] else "bounce")
        elif out.support_cut[i]:
            r = "cut"
        else:
            r = "success"
        results[pw][text] = r
        if by >= 0:
            continue
        if kind[i] == _adj.MOVE and out.success[i]:
            new_units.append((pi, fleet, dest_loc[i]))
        else:
            new_units.append((pi, fleet, loc))
    for pw in m.powers:
        for t, r in extra[pw].items():
            results[pw].setdefault(t, r)
    contested = [m.provinces[p] for p in out.contested]
    # A dislodged unit with nowhere to retreat is disbanded at once (no retreat phase for it).
    occupied = {m.loc_province[u[2]] for u in new_units}
    cont = set(out.contested)
    keys = _unit_key(m)
    for pw in list(dislodged):
        for unit, origin in list(dislodged[pw].items()):
            fleet, loc = keys[unit]
            if not _retreat_options(m, fleet, loc, origin, occupied, cont):
                del dislodged[pw][unit]
        if not dislodged[pw]:
            del dislodged[pw]
    if dislodged:
        nxt = _position(m, f"{season}{year}R", new_units, position["centers"], dislodged, contested)
    elif season == "S":
        nxt = _position(m, f"F{year}M", new_units, position["centers"])
    else:
        nxt = _after_fall(m, year, new_units, position["centers"])
    return nxt, results


def _retreat_dest(m: Map, fleet: bool, loc: int, tloc: int) -> int:
    if fleet:
        return _fleet_dest(m, loc, tloc)
    tprov = m.loc_province[tloc]
    return tprov if tprov in m.army_province_adj[m.loc_province[loc]] else -1


def _retreat_options(m: Map, fleet: bool, loc: int, origin, occupied, contested):
    """Locations a dislodged unit may retreat to."""
    adj = m.fleet_adj[loc] if fleet else m.army_adj[loc]
    out = []
    for t in adj:
        p = m.loc_province[t]
        if p in occupied or p in contested or m.provinces[p] == origin:
            continue
        out.append(t)
    return sorted(out)


def _retreats(m, position, orders_by_power, season, year):
    units = _units(m, position)
    occupied = {m.loc_province[u[2]] for u in units}
    contested = {m.loc_index[c] for c in position.get("contested", ())}
    keys = _unit_key(m)
    results: dict[str, dict[str, str]] = {pw: {} for pw in m.powers}
    wanted: list[tuple[int, bool, int, int, str]] = []  # power, fleet, from, to, text
    for pw, dis in position["dislodged"].items():
        pi = m.power_index[pw]
        orders = {}
        for text in orders_by_power.get(pw, ()):
            o, canon = _parse(text)
            if o.kind in ("R", "-", "D") and o.unit_type:
                key = m.locations[_loc(m, o.loc, text)]
                unit = f"{o.unit_type} {key}"
                if unit in dis and unit not in orders:
                    orders[unit] = (o, canon)
                    continue
            results[pw][canon] = "void"
        for unit, origin in dis.items():
            fleet, loc = keys[unit]
            o, canon = orders.get(unit, (None, f"{unit} D"))
            if o is None or o.kind == "D":
                results[pw][canon] = "disbanded" if o is None else "success"
                continue
            tloc = _loc(m, o.target, canon)
            d = _retreat_dest(m, fleet, loc, tloc)
            allowed = _retreat_options(m, fleet, loc, origin, occupied, contested)
            if d < 0 or d not in allowed:
                results[pw][canon] = "void"
                continue
            wanted.append((pi, fleet, loc, d, canon))
    count: dict[int, int] = {}
    for w in wanted:
        p = m.loc_province[w[3]]
        count[p] = count.get(p, 0) + 1
    new_units = list(units)
    for pi, fleet, _, d, canon in wanted:
        if count[m.loc_province[d]] > 1:
            results[m.powers[pi]][canon] = "bounce"
        else:
            results[m.powers[pi]][canon] = "success"
            new_units.append((pi, fleet, d))
    if season == "S":
        return _position(m, f"F{year}M", new_units, position["centers"]), results
    return _after_fall(m, year, new_units, position["centers"]), results


def _civil_disorder_key(m: Map, pi: int, fleet: bool, loc: int) -> tuple:
    homes = m.home_center_index[pi]
    dist = m.distances[m.loc_province[loc]]
    d = min((dist[h] for h in homes), default=0)
    return (-d, 0 if fleet else 1, m.province_names[m.provinces[m.loc_province[loc]]])


def _adjustments(m, position, orders_by_power, year):
    units = _units(m, position)
    counts = adjustment_counts(m, position)
    occupied = {m.loc_province[u[2]] for u in units}
    results: dict[str, dict[str, str]] = {pw: {} for pw in m.powers}
    new_units = list(units)
    for pi, pw in enumerate(m.powers):
        n = counts[pw]
        orders = list(orders_by_power.get(pw, ()))
        mine = [u for u in units if u[0] == pi]
        if n > 0:
            built = 0
            for text in orders:
                o, canon = _parse(text)
                if built >= n:
                    results[pw][canon] = "void"
                    continue
                if o.kind == "WAIVE":
                    built += 1
                    results[pw][canon] = "success"
                    continue
                if o.kind != "B":
                    results[pw][canon] = "void"
                    continue
                loc = _loc(m, o.loc, text)
                p = m.loc_province[loc]
                name = m.provinces[p]
                fleet = o.unit_type == "F"
                ok = (
                    name in m.home_centers[pw]
                    and name in position["centers"][pw]
                    and p not in occupied
                    and (loc in m.fleet_locs[p] if fleet else (loc == p and not m.is_sea[p]))
                )
                if not ok:
                    results[pw][canon] = "void"
                    continue
                occupied.add(p)
                new_units.append((pi, fleet, loc))
                built += 1
                results[pw][canon] = "success"
        elif n < 0:
            need = -n
            gone = set()
            for text in orders:
                o, canon = _parse(text)
                if o.kind != "D" or len(gone) >= need:
                    results[pw][canon] = "void"
                    continue
                loc = _loc(m, o.loc, text)
                match = [u for u in mine if u[2] == loc and u[1] == (o.unit_type == "F")]
                if not match or match[0] in gone:
                    results[pw][canon] = "void"
                    continue
                gone.add(match[0])
                results[pw][canon] = "success"
            rest = sorted(
                (u for u in mine if u not in gone),
                key=lambda u: _civil_disorder_key(m, pi, u[1], u[2]),
            )
            for u in rest[: need - len(gone)]:
                gone.add(u)
                results[pw][_unit_str(m, u[1], u[2]) + " D"] = "disbanded"
            new_units = [u for u in new_units if u not in gone]
        else:
            for text in orders:
                results[pw][_parse(text)[1]] = "void"
    return _position(m, f"S{year + 1}M", new_units, position["centers"]), results


# ---------------------------------------------------------------------------------------------
# Legal orders.


def legal_orders(m: Map, position: Mapping[str, Any], power: str) -> dict[str, list[str]]:
    """Orders `power` may give now, per location.

    Movement: per unit location, its hold, moves (by land/sea, and "VIA" by convoy where the fleets
    on the board could carry it), supports of units it could help, and convoys. Retreat: per
    dislodged unit, its retreats and disband. Adjustment: per vacant owned home centre, its builds
    and "WAIVE"; or per unit, its disband.

    Args:
      m: the board.
      position: the current position.
      power: the power to move.

    Returns:
      Location name -> list of orders in canonical notation (sorted). Empty if the power has nothing
      to order.

    Raises:
      ValueError: unknown power or malformed position.
    """
    if power not in m.power_index:
        raise ValueError(f"unknown power {power!r}; expected one of {m.powers}")
    _, _, kind = phase_parts(position["phase"])
    if kind == "M":
        return _legal_movement(m, position, power)
    if kind == "R":
        units = _units(m, position)
        occupied = {m.loc_province[u[2]] for u in units}
        contested = {m.loc_index[c] for c in position.get("contested", ())}
        keys = _unit_key(m)
        out = {}
        for unit, origin in position["dislodged"].get(power, {}).items():
            fleet, loc = keys[unit]
            opts = _retreat_options(m, fleet, loc, origin, occupied, contested)
            out[m.locations[loc]] = sorted(
                [f"{unit} R {m.locations[t]}" for t in opts] + [f"{unit} D"]
            )
        return out
    n = adjustment_counts(m, position)[power]
    pi = m.power_index[power]
    units = _units(m, position)
    out = {}
    if n < 0:
        for upi, fleet, loc in units:
            if upi == pi:
                out[m.locations[loc]] = [_unit_str(m, fleet, loc) + " D"]
    elif n > 0:
        occupied = {m.loc_province[u[2]] for u in units}
        for h in m.home_centers[power]:
            p = m.loc_index[h]
            if h not in position["centers"][power] or p in occupied:
                continue
            opts = ["WAIVE"]
            if not m.is_sea[p]:
                opts.append(f"A {h} B")
            opts.extend(f"F {m.locations[x]} B" for x in m.fleet_locs[p])
            out[h] = sorted(opts)
    return out


def _convoy_groups(m: Map, units) -> list[tuple[frozenset[int], frozenset[int]]]:
    """Groups of fleets at sea that touch each other: (sea provinces, coastal provinces touched)."""
    seas = _fleets_at_sea(m, units)
    groups = []
    seen: set[int] = set()
    fpa = m.fleet_province_adj
    for s in sorted(seas):
        if s in seen:
            continue
        comp = {s}
        stack = [s]
        while stack:
            p = stack.pop()
            for q in fpa[p]:
                if q in seas and q not in comp:
                    comp.add(q)
                    stack.append(q)
        seen |= comp
        shore = frozenset(q for p in comp for q in fpa[p] if m.is_coast[q])
        groups.append((frozenset(comp), shore))
    return groups


def _fleets_at_sea(m: Map, units) -> frozenset[int]:
    """Sea provinces holding a fleet: the only places a convoy route can pass."""
    return frozenset(
        m.loc_province[loc] for _, fleet, loc in units if fleet and m.is_sea[m.loc_province[loc]]
    )


def _has_route(m: Map, seas: frozenset[int], src: int, dst: int) -> bool:
    """Whether a chain of the fleets at `seas` links coastal province `src` to `dst`."""
    fpa = m.fleet_province_adj
    stack = [s for s in seas if src in fpa[s]]
    seen = set(stack)
    while stack:
        p = stack.pop()
        if dst in fpa[p]:
            return True
        for q in fpa[p]:
            if q in seas and q not in seen:
                seen.add(q)
                stack.append(q)
    return False


def _on_minimal_route(m: Map, seas: frozenset[int], src: int, dst: int, fleet: int) -> bool:
    """Whether the fleet at sea province `fleet` is on a minimal convoy route from `src` to `dst`.

    A route is a chain of fleets at sea from a neighbour of `src` to a neighbour of `dst`; it is
    minimal when no proper subset is a route, that is a chordless path whose first fleet alone
    touches `src` and whose last alone touches `dst`. A fleet on no minimal route is not needed
    by any convoy (DATC 6.G.19). Depth-first search over such paths; boards have few seas.
    """
    fpa = m.fleet_province_adj

    def extend(path: list[int]) -> bool:
        last = path[-1]
        if dst in fpa[last]:
            return fleet in path
        for q in fpa[last]:
            if q not in seas or q in path or src in fpa[q]:
                continue
            if any(q in fpa[p] for p in path[:-1]):  # a chord: a shorter route exists
                continue
            if extend(path + [q]):
                return True
        return False

    return any(extend([s]) for s in seas if src in fpa[s])


def _movement_reach(m: Map, position):
    """Per-position data shared by every power's legal orders (cached for the last position)."""
    key = (position["phase"], tuple(tuple(v) for v in position["units"].values()))
    cached = m.__dict__.get("_reach_cache")
    if cached is not None and cached[0] == key:
        return cached[1]
    units = _units(m, position)
    groups = _convoy_groups(m, units)
    ustr = [_unit_str(m, fleet, loc) for _, fleet, loc in units]
    reach: list[frozenset[int]] = []  # provinces each unit could move (or support) into
    targets: list[frozenset[int]] = []  # provinces each unit could be supported into
    convoy_dest: list[frozenset[int]] = []
    for _, fleet, loc in units:
        p = m.loc_province[loc]
        if fleet:
            r = frozenset(m.loc_province[t] for t in m.fleet_adj[loc])
            cd: set[int] = set()
        else:
            r = m.army_province_adj[p]
            cd = set()
            if m.is_coast[p]:
                for _, shore in groups:
                    if p in shore:
                        cd |= shore
                cd.discard(p)
        reach.append(r)
        convoy_dest.append(frozenset(cd))
        targets.append(r | cd)
    data = (units, groups, ustr, reach, targets, convoy_dest)
    m.__dict__["_reach_cache"] = (key, data)
    return data


def _legal_movement(m: Map, position, power):
    units, groups, ustr, reach, targets, convoy_dest = _movement_reach(m, position)
    pi = m.power_index[power]
    names = m.provinces
    out: dict[str, list[str]] = {}
    for i, (upi, fleet, loc) in enumerate(units):
        if upi != pi:
            continue
        me = ustr[i]
        p = m.loc_province[loc]
        orders = [me + " H"]
        if fleet:
            orders.extend(f"{me} - {m.locations[t]}" for t in m.fleet_adj[loc])
        else:
            orders.extend(f"{me} - {names[q]}" for q in reach[i])
            orders.extend(f"{me} - {names[q]} VIA" for q in convoy_dest[i])
        my_reach = reach[i]
        sup = me + " S "
        for j, (_, _, oloc) in enumerate(units):
            if j == i:
                continue
            other = sup + ustr[j]
            if m.loc_province[oloc] in my_reach:
                orders.append(other)
            for q in targets[j] & my_reach:
                if q != p:
                    orders.append(f"{other} - {names[q]}")
        if fleet and m.is_sea[p]:
            for comp, shore in groups:
                if p not in comp:
                    continue
                for j, (_, ofleet, oloc) in enumerate(units):
                    op = m.loc_province[oloc]
                    if ofleet or op not in shore:
                        continue
                    conv = f"{me} C {ustr[j]} - "
                    orders.extend(conv + names[q] for q in shore if q != op)
        out[m.locations[loc]] = sorted(orders)
    return out
