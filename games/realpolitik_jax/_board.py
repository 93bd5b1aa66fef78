"""Static arrays of one realpolitik board for the JAX engine (built once, in numpy).

`board_arrays(map)` compiles a `detente.games.realpolitik.Map` and its order tables
(`detente.games.realpolitik.actions.order_tables`) into fixed-shape numpy arrays: adjacency,
province facts, supply and home centres, the civil-disorder priority and, for every (location,
table entry), the decoded order (kind, unit type, target, the supported or convoyed unit). The JAX
engine closes over them as constants.

Dimension names: P players, N provinces, L locations (provinces first, then named coasts),
C supply centres, S sea provinces, K slots, A actions per slot.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from detente.games.realpolitik.actions import order_tables
from detente.games.realpolitik.maps import Map
from detente.games.realpolitik.notation import parse_order
from detente.games.realpolitik.observation import observation_layout

__all__ = ["BoardArrays", "board_arrays", "ENTRY_KINDS"]

# Order kinds of table entries (BoardArrays.e_kind); -1 pads tables shorter than A.
(
    E_NOOP,
    E_HOLD,
    E_MOVE,
    E_VIA,
    E_SUP_HOLD,
    E_SUP_MOVE,
    E_CONVOY,
    E_RETREAT,
    E_DISBAND,
    E_BUILD_A,
    E_BUILD_F,
    E_WAIVE,
) = range(12)
ENTRY_KINDS = (
    "noop",
    "hold",
    "move",
    "move_via",
    "support_hold",
    "support_move",
    "convoy",
    "retreat",
    "disband",
    "build_army",
    "build_fleet",
    "waive",
)
_KIND_OF = {"H": E_HOLD, "S": E_SUP_HOLD, "C": E_CONVOY, "R": E_RETREAT, "D": E_DISBAND}


@dataclasses.dataclass(frozen=True, eq=False)
class BoardArrays:
    """Fixed-shape numpy arrays of one board (immutable; build with `board_arrays`).

    Unit type codes: 0 no unit, 1 army, 2 fleet.

    Attributes:
      map: the board.
      num_players, num_provinces, num_locations, num_centers, num_seas, num_slots,
        num_actions: P, N, L, C, S, K, A.
      first_year: year of the first Spring.
      victory_centers: centres that win outright.
      obs_size: length of one player's observation vector.
      loc_province: int32 [L], province of each location.
      is_sea, is_coast, is_land, is_center: bool [N].
      center_province: int32 [C], province of each centre (sorted by name, the map's order).
      center_of: int32 [N], centre index of a province, -1 if not a centre.
      home_owner: int32 [N], the power whose home centre a province is, -1 if none.
      home_count: int32 [P], home centres per power.
      army_loc_adj, fleet_loc_adj: bool [L, L], location adjacency per unit type.
      fleet_prov_adj: bool [N, N], a fleet can cross between two provinces.
      sea_province: int32 [S], the sea provinces; sea_index: int32 [N], their index or -1.
      sea_adj: bool [S, S], fleet adjacency between seas; sea_shore: bool [S, N], coastal
        provinces fleet-adjacent to each sea.
      can_stand: int32 [L, 2] bool-like: an army (col 0) or a fleet (col 1) may stand there.
      disorder_rank: int32 [P, L, 2], civil-disorder order (lower disbands first) of an army
        (0) or fleet (1) of each power at each location.
      start_owner, start_type, start_loc: int32 [N], the starting units by province.
      start_centers: int32 [C], the starting owner of each centre (-1 neutral).
      e_kind: int32 [L, A], entry kind (see ENTRY_KINDS), -1 beyond the table.
      e_type: int32 [L, A], the ordered unit's type code (0 for WAIVE/no-op).
      e_tgt_loc: int32 [L, A], target location of a move/retreat/build, else 0.
      e_tgt_prov: int32 [L, A], its province (also the destination of supports/convoys).
      e_aux_loc: int32 [L, A], location of the supported/convoyed unit, else 0.
      e_aux_type: int32 [L, A], its type code, else 0.
      e_aux_prov: int32 [L, A], its province, else 0.
      e_adjacent: bool [L, A], a supported move is possible without a convoy (always True
        for fleets; for armies: the destination borders the army).
      obs_home: float32 [L, P], home centre owner per location; obs_static: float32 [L, 7],
        the static location flags of the observation (dynamic columns 1-2 left 0).
    """

    map: Map
    num_players: int
    num_provinces: int
    num_locations: int
    num_centers: int
    num_seas: int
    num_slots: int
    num_actions: int
    first_year: int
    victory_centers: int
    obs_size: int
    loc_province: np.ndarray
    is_sea: np.ndarray
    is_coast: np.ndarray
    is_land: np.ndarray
    is_center: np.ndarray
    center_province: np.ndarray
    center_of: np.ndarray
    home_owner: np.ndarray
    home_count: np.ndarray
    army_loc_adj: np.ndarray
    fleet_loc_adj: np.ndarray
    fleet_prov_adj: np.ndarray
    sea_province: np.ndarray
    sea_index: np.ndarray
    sea_adj: np.ndarray
    sea_shore: np.ndarray
    can_stand: np.ndarray
    disorder_rank: np.ndarray
    start_owner: np.ndarray
    start_type: np.ndarray
    start_loc: np.ndarray
    start_centers: np.ndarray
    e_kind: np.ndarray
    e_type: np.ndarray
    e_tgt_loc: np.ndarray
    e_tgt_prov: np.ndarray
    e_aux_loc: np.ndarray
    e_aux_type: np.ndarray
    e_aux_prov: np.ndarray
    e_adjacent: np.ndarray
    obs_home: np.ndarray
    obs_static: np.ndarray


def _type_code(letter: str) -> int:
    return {"A": 1, "F": 2}.get(letter, 0)


@functools.cache
def board_arrays(m: Map, solo: bool = True) -> BoardArrays:
    """Compiles board `m` into `BoardArrays` (cached per map object and `solo`).

    Args:
      m: a board from `detente.games.realpolitik.load_map`.
      solo: whether a solo victory ends the game; sets K (`actions.slot_count`).

    Returns:
      The board's `BoardArrays`.

    Raises:
      ValueError: a province is a home centre of two powers (not representable here).
    """
    tables = order_tables(m, solo)
    num_p, num_n, num_l = len(m.powers), m.num_provinces, m.num_locations
    num_a, num_k = tables.num_actions, tables.num_slots
    loc_province = np.array(m.loc_province, np.int32)
    is_sea = np.array(m.is_sea, bool)
    centers = [m.loc_index[c] for c in m.supply_centers]
    center_of = np.full(num_n, -1, np.int32)
    center_of[centers] = np.arange(len(centers))
    home_owner = np.full(num_n, -1, np.int32)
    for pi, homes in enumerate(m.home_center_index):
        for h in homes:
            if home_owner[h] >= 0:
                raise ValueError(
                    f"map {m.name!r}: province {m.provinces[h]} is a home centre of two powers"
                )
            home_owner[h] = pi
    army_loc_adj = np.zeros((num_l, num_l), bool)
    fleet_loc_adj = np.zeros((num_l, num_l), bool)
    for loc in range(num_l):
        army_loc_adj[loc, list(m.army_adj[loc])] = True
        fleet_loc_adj[loc, list(m.fleet_adj[loc])] = True
    fleet_prov_adj = np.zeros((num_n, num_n), bool)
    army_prov_adj = np.zeros((num_n, num_n), bool)
    for p in range(num_n):
        fleet_prov_adj[p, list(m.fleet_province_adj[p])] = True
        army_prov_adj[p, list(m.army_province_adj[p])] = True
    seas = np.flatnonzero(is_sea).astype(np.int32)
    sea_index = np.full(num_n, -1, np.int32)
    sea_index[seas] = np.arange(len(seas))
    sea_adj = fleet_prov_adj[np.ix_(seas, seas)]
    sea_shore = fleet_prov_adj[seas] & np.array(m.is_coast, bool)[None, :]
    can_stand = np.zeros((num_l, 2), np.int32)
    for loc in range(num_l):
        p = m.loc_province[loc]
        can_stand[loc, 0] = loc == p and not m.is_sea[p]
        can_stand[loc, 1] = loc in m.fleet_locs[p]
    # Civil disorder (engine._civil_disorder_key): farthest from home first, fleets before
    # armies, then by the province's full name.
    disorder_rank = np.zeros((num_p, num_l, 2), np.int32)
    for pi in range(num_p):
        keys = []
        for loc in range(num_l):
            p = m.loc_province[loc]
            dist = m.distances[p]
            d = min((dist[h] for h in m.home_center_index[pi]), default=0)
            for t in (0, 1):
                keys.append(((-d, 0 if t == 1 else 1, m.province_names[m.provinces[p]]), loc, t))
        for rank, (_, loc, t) in enumerate(sorted(keys)):
            disorder_rank[pi, loc, t] = rank
    start_owner = np.full(num_n, -1, np.int32)
    start_type = np.zeros(num_n, np.int32)
    start_loc = np.zeros(num_n, np.int32)
    for pi, pw in enumerate(m.powers):
        for u in m.starting_units[pw]:
            t, name = u.split(" ")
            loc = m.loc_index[name]
            p = m.loc_province[loc]
            start_owner[p], start_type[p], start_loc[p] = pi, _type_code(t), loc
    start_centers = np.full(len(centers), -1, np.int32)
    for pi, pw in enumerate(m.powers):
        for h in m.home_centers[pw]:
            start_centers[center_of[m.loc_index[h]]] = pi

    shape = (num_l, num_a)
    e_kind = np.full(shape, -1, np.int32)
    e_type, e_tgt_loc, e_tgt_prov = (np.zeros(shape, np.int32) for _ in range(3))
    e_aux_loc, e_aux_type, e_aux_prov = (np.zeros(shape, np.int32) for _ in range(3))
    e_adjacent = np.ones(shape, bool)
    for loc, table in enumerate(tables.orders):
        e_kind[loc, 0] = E_NOOP
        for a, text in enumerate(table[1:], start=1):
            o = parse_order(text)
            if o.kind == "WAIVE":
                e_kind[loc, a] = E_WAIVE
                continue
            e_type[loc, a] = _type_code(o.unit_type)
            if o.kind == "-":
                e_kind[loc, a] = E_VIA if o.via else E_MOVE
            elif o.kind == "B":
                e_kind[loc, a] = E_BUILD_A if o.unit_type == "A" else E_BUILD_F
            elif o.kind == "S" and o.aux_target:
                e_kind[loc, a] = E_SUP_MOVE
            else:
                e_kind[loc, a] = _KIND_OF[o.kind]
            target = o.target or o.aux_target or (o.loc if o.kind == "B" else "")
            if target:
                e_tgt_loc[loc, a] = m.loc_index[target]
                e_tgt_prov[loc, a] = m.loc_province[m.loc_index[target]]
            if o.aux_loc:
                aloc = m.loc_index[o.aux_loc]
                e_aux_loc[loc, a] = aloc
                e_aux_type[loc, a] = _type_code(o.aux_type)
                e_aux_prov[loc, a] = m.loc_province[aloc]
                if o.kind == "S" and o.aux_target and o.aux_type == "A":
                    e_adjacent[loc, a] = army_prov_adj[m.loc_province[aloc], e_tgt_prov[loc, a]]
    obs_home = np.zeros((num_l, num_p), np.float32)
    obs_static = np.zeros((num_l, 7), np.float32)
    for loc in range(num_l):
        p = m.loc_province[loc]
        if home_owner[p] >= 0:
            obs_home[loc, home_owner[p]] = 1.0
        obs_static[loc, 0] = m.is_center[p]
        obs_static[loc, 3] = m.is_land[p]
        obs_static[loc, 4] = m.is_coast[p]
        obs_static[loc, 5] = m.is_sea[p]
        obs_static[loc, 6] = loc != p
    return BoardArrays(
        map=m,
        num_players=num_p,
        num_provinces=num_n,
        num_locations=num_l,
        num_centers=len(centers),
        num_seas=len(seas),
        num_slots=num_k,
        num_actions=num_a,
        first_year=m.first_year,
        victory_centers=m.victory_centers,
        obs_size=observation_layout(m, num_k).size,
        loc_province=loc_province,
        is_sea=is_sea,
        is_coast=np.array(m.is_coast, bool),
        is_land=np.array(m.is_land, bool),
        is_center=np.array(m.is_center, bool),
        center_province=np.array(centers, np.int32),
        center_of=center_of,
        home_owner=home_owner,
        home_count=np.array([len(m.home_centers[pw]) for pw in m.powers], np.int32),
        army_loc_adj=army_loc_adj,
        fleet_loc_adj=fleet_loc_adj,
        fleet_prov_adj=fleet_prov_adj,
        sea_province=seas,
        sea_index=sea_index,
        sea_adj=sea_adj,
        sea_shore=sea_shore,
        can_stand=can_stand,
        disorder_rank=disorder_rank,
        start_owner=start_owner,
        start_type=start_type,
        start_loc=start_loc,
        start_centers=start_centers,
        e_kind=e_kind,
        e_type=e_type,
        e_tgt_loc=e_tgt_loc,
        e_tgt_prov=e_tgt_prov,
        e_aux_loc=e_aux_loc,
        e_aux_type=e_aux_type,
        e_aux_prov=e_aux_prov,
        e_adjacent=e_adjacent,
        obs_home=obs_home,
        obs_static=obs_static,
    )
