"""Action encoding of realpolitik: per-location order tables and K action slots per power.

A power's orders in one phase are combinatorial, so the environment contract gives it K action
slots (one per unit, or per build/disband) and an action indexes a per-location order table: for
every location (province or named coast) the list of every order a unit there could ever give in
any phase, on any position of the board. Entry 0 of every table is the no-op (no order). The
largest table, A, is the number of actions per slot. See docs/realpolitik_openspiel.md.

Slots of a power in a phase (canonical order: sorted by location index):
- movement: its units;
- retreat: its dislodged units;
- adjustment with builds: its vacant owned home centres (each slot builds there or waives);
- adjustment with disbands: its units (each slot disbands its unit or gives no order, index 0).
K bounds every one of these counts (`slot_count`): with solo victory on, the victory count
minus one (a power owning that many centres after a Fall has won, so at most one fewer centres,
hence units, builds and disbands, are ever in play; 17 on the classic board); without it
(welfare scoring), the number of supply centres. Never below a power's starting units or homes.

Dimension names: P players, K slots, A actions per slot, L locations.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from detente.games.realpolitik.engine import adjustment_counts, legal_orders, phase_parts
from detente.games.realpolitik.maps import Map

__all__ = [
    "NO_OP",
    "OrderTables",
    "PhaseSlots",
    "order_tables",
    "orders_from_actions",
    "phase_slots",
]

NO_OP = 0
_NO_OP_TEXT = "NO ORDER"


@dataclasses.dataclass(frozen=True, eq=False)
class OrderTables:
    """Per-location order tables of one board (build with `order_tables`; immutable).

    Attributes:
      map: the board.
      orders: per location, its table: entry 0 is the no-op, then order texts in canonical
        notation, sorted.
      index: per location, order text -> table index (the inverse of `orders`).
      num_actions: A, the longest table's length (tables are padded to it in masks).
      num_slots: K, action slots per power (`slot_count`).
    """

    map: Map
    orders: tuple[tuple[str, ...], ...]
    index: tuple[dict[str, int], ...]
    num_actions: int
    num_slots: int

    def order_text(self, location: int, action: int) -> str | None:
        """The order of table entry `action` at `location`; None for the no-op.

        Raises:
          ValueError: the action is outside that location's table.
        """
        table = self.orders[location]
        if not 0 <= action < len(table):
            raise ValueError(
                f"action {action} is outside the order table of {self.map.locations[location]} "
                f"(size {len(table)}) on map {self.map.name!r}"
            )
        return None if action == NO_OP else table[action]

    def action_of(self, location: int, order: str) -> int:
        """Table index of the canonical `order` text at `location`.

        Raises:
          ValueError: the order is not in that location's table.
        """
        action = self.index[location].get(order)
        if action is None:
            raise ValueError(
                f"order {order!r} is not in the order table of {self.map.locations[location]} "
                f"on map {self.map.name!r}"
            )
        return action

    def describe(self, location: int, action: int) -> str:
        """Readable text of an action (for errors and action strings); never raises."""
        table = self.orders[location]
        if 0 <= action < len(table):
            return table[action] if action else f"no order ({self.map.locations[location]})"
        return (
            f"action {action} (outside the {len(table)}-entry table of "
            f"{self.map.locations[location]})"
        )


def _sea_shores(m: Map) -> tuple[list[frozenset[int]], list[frozenset[int]]]:
    """Per province: coastal provinces an army there could reach through a chain of seas, and
    (for a sea) the coastal provinces touching its connected group of seas."""
    n = m.num_provinces
    comp_of = [-1] * n
    comps: list[set[int]] = []
    for s in range(n):
        if not m.is_sea[s] or comp_of[s] >= 0:
            continue
        comp, stack = {s}, [s]
        comp_of[s] = len(comps)
        while stack:
            p = stack.pop()
            for q in m.fleet_province_adj[p]:
                if m.is_sea[q] and comp_of[q] < 0:
                    comp_of[q] = len(comps)
                    comp.add(q)
                    stack.append(q)
        comps.append(comp)
    shores = [
        frozenset(q for p in c for q in m.fleet_province_adj[p] if m.is_coast[q]) for c in comps
    ]
    out = []
    for p in range(n):
        reach: set[int] = set()
        if m.is_coast[p]:
            for shore in shores:
                if p in shore:
                    reach |= shore
            reach.discard(p)
        out.append(frozenset(reach))
    # Per sea province, the shore of its component (for convoy orders).
    sea_shore = [shores[comp_of[p]] if comp_of[p] >= 0 else frozenset() for p in range(n)]
    return out, sea_shore


def _units_at(m: Map, loc: int) -> list[str]:
    """Unit strings that can stand at a location ("A PAR", "F STP/SC")."""
    p = m.loc_province[loc]
    out = []
    if loc == p and not m.is_sea[p]:
        out.append(f"A {m.locations[loc]}")
    if loc in m.fleet_locs[p]:
        out.append(f"F {m.locations[loc]}")
    return out


def _build_table(m: Map) -> list[list[str]]:
    convoy_reach, sea_shore = _sea_shores(m)
    names = m.provinces
    # Every (unit string, its province, provinces it could move into) on the board.
    movers: list[tuple[str, int, frozenset[int]]] = []
    for loc in range(m.num_locations):
        p = m.loc_province[loc]
        for unit in _units_at(m, loc):
            if unit[0] == "F":
                dests = frozenset(m.loc_province[t] for t in m.fleet_adj[loc])
            else:
                dests = m.army_province_adj[p] | convoy_reach[p]
            movers.append((unit, p, dests))
    all_homes = {h for hs in m.home_centers.values() for h in hs}
    tables = []
    for loc in range(m.num_locations):
        p = m.loc_province[loc]
        orders: set[str] = set()
        for unit in _units_at(m, loc):
            fleet = unit[0] == "F"
            adj = m.fleet_adj[loc] if fleet else m.army_adj[loc]
            orders.add(f"{unit} H")
            orders.add(f"{unit} D")
            for t in adj:
                orders.add(f"{unit} - {m.locations[t]}")
                orders.add(f"{unit} R {m.locations[t]}")
            if not fleet:
                orders.update(f"{unit} - {names[q]} VIA" for q in convoy_reach[p])
            reach = frozenset(m.loc_province[t] for t in adj)
            for other, op, dests in movers:
                if op == p:
                    continue
                if op in reach:
                    orders.add(f"{unit} S {other}")
                for q in dests & reach:
                    orders.add(f"{unit} S {other} - {names[q]}")
            if fleet and m.is_sea[p]:
                shore = sea_shore[p]
                for y in shore:
                    orders.update(f"{unit} C A {names[y]} - {names[q]}" for q in shore if q != y)
        if loc == p and names[p] in all_homes:
            orders.add("WAIVE")
            if not m.is_sea[p]:
                orders.add(f"A {names[p]} B")
            orders.update(f"F {m.locations[x]} B" for x in m.fleet_locs[p])
        tables.append([_NO_OP_TEXT, *sorted(orders)])
    return tables


def slot_count(m: Map, solo: bool = True) -> int:
    """K, the action slots per power that board `m` needs.

    Slots order units (movement), dislodged units (retreats), vacant owned home centres (builds)
    or units (disbands); a power's units never exceed the centres it owned at the last Winter,
    and with solo victory on a power owning `m.victory_centers` centres after a Fall has won, so
    a game still running never has more than `victory_centers - 1` of any of them (starting
    units and home centres, before any Winter, count too).

    Args:
      m: a board from `load_map`.
      solo: whether a solo victory ends the game (every scoring scheme but "welfare").

    Returns:
      K: `len(m.supply_centers)` without solo victory, else `max(victory_centers - 1,
      most starting units, most home centres)`, at most the number of centres.
    """
    num_centers = len(m.supply_centers)
    if not solo:
        return num_centers
    start = max(max(len(m.starting_units[pw]), len(m.home_centers[pw])) for pw in m.powers)
    return min(num_centers, max(m.victory_centers - 1, start, 1))


@functools.cache
def _tables_of(m: Map) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(t) for t in _build_table(m))


@functools.cache
def order_tables(m: Map, solo: bool = True) -> OrderTables:
    """The order tables of board `m` (computed once per map object and cached).

    Args:
      m: a board from `load_map`.
      solo: whether a solo victory ends the game; sets K (`slot_count`), not the tables.

    Returns:
      The board's `OrderTables`.
    """
    orders = _tables_of(m)
    index = tuple({text: i for i, text in enumerate(t) if i} for t in orders)
    return OrderTables(
        map=m,
        orders=orders,
        index=index,
        num_actions=max(len(t) for t in orders),
        num_slots=slot_count(m, solo),
    )


@dataclasses.dataclass(frozen=True)
class PhaseSlots:
    """The slots of every power in one phase, with their legal actions.

    Attributes:
      locations: per power, the location index of each used slot, in slot order.
      legal: per power, per used slot, the sorted legal table indices.
      disband: whether the phase is an adjustment with disbands for that power (index 0, "no
        disband", is then legal in its slots).
    """

    locations: tuple[tuple[int, ...], ...]
    legal: tuple[tuple[tuple[int, ...], ...], ...]
    disband: tuple[bool, ...]

    def mask(self, tables: OrderTables, out: np.ndarray | None = None) -> np.ndarray:
        """Legal-action mask of the phase: bool [P, K, A].

        Used slots allow their legal entries; unused slots of a power with slots allow only the
        no-op; a power with no slot at all (not acting) has an all-True mask (the contract's
        convention for players who do not act).
        """
        num_players = len(self.locations)
        if out is None:
            out = np.zeros((num_players, tables.num_slots, tables.num_actions), bool)
        else:
            out[...] = False
        for p, slots in enumerate(self.legal):
            if not slots:
                out[p] = True
                continue
            out[p, len(slots) :, NO_OP] = True
            for k, legal in enumerate(slots):
                out[p, k, list(legal)] = True
        return out


def too_many_slots(tables: OrderTables, power: str, count: int, phase: str) -> ValueError:
    """The error for a position where `power` has `count` > K things to order."""
    m = tables.map
    return ValueError(
        f"power {power} has {count} units or builds to order in phase {phase} but the encoding "
        f"has K = {tables.num_slots} slots (map {m.name!r}, solo victory at "
        f"{m.victory_centers} centres); no game with solo victory reaches such a position: "
        "use welfare scoring (no solo victory, K = the number of centres) for it"
    )


def phase_slots(tables: OrderTables, position: Mapping[str, Any]) -> PhaseSlots:
    """Slots and legal table indices of every power at `position`.

    Args:
      tables: the board's `OrderTables`.
      position: the current position.

    Returns:
      The `PhaseSlots`; slot k of a power refers to `locations[p][k]`.

    Raises:
      ValueError: a power has more slots than K (a position no game with the tables' solo
        setting reaches).
    """
    m = tables.map
    _, _, kind = phase_parts(position["phase"])
    counts = adjustment_counts(m, position) if kind == "A" else None
    locations, legal, disband = [], [], []
    for pw in m.powers:
        options = legal_orders(m, position, pw)
        locs = sorted(m.loc_index[name] for name in options)
        if len(locs) > tables.num_slots:
            raise too_many_slots(tables, pw, len(locs), position["phase"])
        is_disband = counts is not None and counts[pw] < 0
        rows = []
        for loc in locs:
            index = tables.index[loc]
            row = sorted(index[text] for text in options[m.locations[loc]])
            if is_disband:
                row.insert(0, NO_OP)
            rows.append(tuple(row))
        locations.append(tuple(locs))
        legal.append(tuple(rows))
        disband.append(is_disband)
    return PhaseSlots(tuple(locations), tuple(legal), tuple(disband))


def orders_from_actions(
    tables: OrderTables, slots: PhaseSlots, power: int, actions: Sequence[int]
) -> list[str]:
    """Order texts of one power's slot actions (no-ops dropped); legality is not checked here.

    Args:
      tables: the board's `OrderTables`.
      slots: the phase's slots.
      power: the power index.
      actions: the power's table indices, one per used slot (or more; extra ones are ignored).

    Returns:
      The orders in slot order.
    """
    out = []
    for loc, action in zip(slots.locations[power], actions, strict=False):
        if action != NO_OP:
            out.append(tables.orders[loc][action])
    return out
