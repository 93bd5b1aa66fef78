"""Per-player observation tensors of realpolitik (layout in docs/realpolitik_openspiel.md).

The board is fully observable, so every power sees the same facts; the observation is written
from the observer's point of view: power axes are rotated so that the observer comes first and
the others follow in map order (observer o, then o+1, ..., wrapping), which lets one network play
every seat. The flat float32 vector is, in order:

1. locations [L, F_LOC] with F_LOC = 6P + 7, per location (province or named coast): army of
   relative power r (P), fleet (P), dislodged army (P), dislodged fleet (P), owner of the
   province's supply centre (P), home centre of (P), then: is a supply centre, unowned centre,
   standoff province (contested), land, coast, sea, named-coast location. Province facts are
   repeated on the province's coast locations.
2. globals [7 + 4P]: season S/F/W one-hot (3), phase movement/retreat/adjustment one-hot (3),
   years played / max_years (1), then per relative power: centres / C, units / C, builds (+) or
   disbands (-) due this winter / C, welfare banked / C (C = number of supply centres).
3. slots [K, L]: row k is the one-hot of the location that slot k of the observer orders now (all
   zeros for an unused slot), so a network can tell its slots apart.

Dimension names: P players, K slots, L locations.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from detente.games.realpolitik.engine import adjustment_counts, phase_parts
from detente.games.realpolitik.maps import Map

__all__ = ["ObservationLayout", "observation_layout", "encode_observations"]

_LOC_EXTRA = 7
_GLOBAL_FIXED = 7


@dataclasses.dataclass(frozen=True)
class ObservationLayout:
    """Sizes and offsets of the flat observation of one board.

    Attributes:
      num_players: P.
      num_locations: L.
      num_slots: K (slot rows in the observation).
      loc_features: F_LOC = 6P + 7 features per location.
      global_features: 7 + 4P.
      size: total length: L * F_LOC + globals + K * L.
    """

    num_players: int
    num_locations: int
    num_slots: int
    loc_features: int
    global_features: int
    size: int

    @property
    def globals_offset(self) -> int:
        """Offset of the globals block."""
        return self.num_locations * self.loc_features

    @property
    def slots_offset(self) -> int:
        """Offset of the slots block."""
        return self.globals_offset + self.global_features


def observation_layout(m: Map, num_slots: int) -> ObservationLayout:
    """The observation layout of board `m` with `num_slots` slot rows."""
    p, loc = len(m.powers), m.num_locations
    f_loc = 6 * p + _LOC_EXTRA
    f_glob = _GLOBAL_FIXED + 4 * p
    return ObservationLayout(
        p, loc, num_slots, f_loc, f_glob, loc * f_loc + f_glob + num_slots * loc
    )


@functools.cache
def _static(m: Map) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Static location facts: home owner [L, P], extra flags [L, 7] (dynamic ones left 0)."""
    num_p, num_l = len(m.powers), m.num_locations
    home = np.zeros((num_l, num_p), np.float32)
    extra = np.zeros((num_l, _LOC_EXTRA), np.float32)
    for loc in range(num_l):
        prov = m.loc_province[loc]
        for pi in range(num_p):
            if prov in m.home_center_index[pi]:
                home[loc, pi] = 1.0
        extra[loc, 0] = m.is_center[prov]
        extra[loc, 3] = m.is_land[prov]
        extra[loc, 4] = m.is_coast[prov]
        extra[loc, 5] = m.is_sea[prov]
        extra[loc, 6] = loc != prov
    # Locations of each province (the province itself and its coasts).
    prov_locs = np.array(m.loc_province)
    return home, extra, prov_locs


def _unit_index(m: Map) -> dict[str, tuple[int, int]]:
    out = {}
    for name, loc in m.loc_index.items():
        out[f"A {name}"] = (0, loc)
        out[f"F {name}"] = (1, loc)
    return out


def encode_observations(
    m: Map,
    position: Mapping[str, Any],
    slot_locations: Sequence[Sequence[int]],
    num_slots: int,
    *,
    welfare: Sequence[float] | None = None,
    years_fraction: float = 0.0,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Every power's observation of `position`.

    Args:
      m: the board.
      position: the position.
      slot_locations: per power, the location index of each of its used slots (the rest unused).
      num_slots: K, slot rows in the layout.
      welfare: per power, welfare points banked so far (absolute power order); None: zeros.
      years_fraction: years played / year limit (0 without a limit).
      out: optional float32 [P, size] to write into.

    Returns:
      float32 [P, size] (see `observation_layout`); row o is power o's view.
    """
    lay = observation_layout(m, num_slots)
    num_p, num_l = lay.num_players, lay.num_locations
    home, extra_static, prov_locs = _static(m)
    units = np.zeros((num_l, 4, num_p), np.float32)  # army, fleet, dislodged army/fleet
    index = m.__dict__.get("_obs_unit_index")
    if index is None:
        index = _unit_index(m)
        m.__dict__["_obs_unit_index"] = index
    unit_count = np.zeros(num_p, np.float32)
    for pi, pw in enumerate(m.powers):
        for u in position["units"].get(pw, ()):
            t, loc = index[u]
            units[loc, t, pi] = 1.0
            unit_count[pi] += 1
        for u in position["dislodged"].get(pw, {}):
            t, loc = index[u]
            units[loc, 2 + t, pi] = 1.0
    owner = np.zeros((m.num_provinces, num_p), np.float32)
    center_count = np.zeros(num_p, np.float32)
    for pi, pw in enumerate(m.powers):
        for c in position["centers"].get(pw, ()):
            owner[m.loc_index[c], pi] = 1.0
            center_count[pi] += 1
    owner_loc = owner[prov_locs]  # [L, P]
    extra = extra_static.copy()
    extra[:, 1] = extra[:, 0] * (owner_loc.sum(-1) == 0)
    for c in position.get("contested", ()):
        extra[prov_locs == m.loc_index[c], 2] = 1.0
    absolute = np.concatenate([units, owner_loc[:, None], home[:, None]], axis=1)  # [L, 6, P]

    season, year, kind = phase_parts(position["phase"])
    glob_fixed = np.zeros(_GLOBAL_FIXED, np.float32)
    glob_fixed["SFW".index(season)] = 1.0
    glob_fixed[3 + "MRA".index(kind)] = 1.0
    glob_fixed[6] = years_fraction
    scale = 1.0 / len(m.supply_centers)
    adjust = np.zeros(num_p, np.float32)
    if kind == "A":
        counts = adjustment_counts(m, position)
        adjust[:] = [counts[pw] for pw in m.powers]
    bank = np.zeros(num_p, np.float32) if welfare is None else np.asarray(welfare, np.float32)
    per_power = np.stack([center_count, unit_count, adjust, bank]) * scale  # [4, P]

    if out is None:
        out = np.zeros((num_p, lay.size), np.float32)
    g0, s0 = lay.globals_offset, lay.slots_offset
    for o in range(num_p):
        order = [(o + r) % num_p for r in range(num_p)]
        row = out[o]
        loc_block = row[:g0].reshape(num_l, lay.loc_features)
        loc_block[:, : 6 * num_p] = absolute[:, :, order].reshape(num_l, 6 * num_p)
        loc_block[:, 6 * num_p :] = extra
        row[g0 : g0 + _GLOBAL_FIXED] = glob_fixed
        row[g0 + _GLOBAL_FIXED : s0] = per_power[:, order].reshape(-1)
        slots = row[s0:].reshape(num_slots, num_l)
        slots[...] = 0.0
        for k, loc in enumerate(slot_locations[o][:num_slots]):
            slots[k, loc] = 1.0
    return out
