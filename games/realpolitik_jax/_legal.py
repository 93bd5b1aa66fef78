"""Legal-action masks of the JAX engine from a ragged list of the board's order-table entries.

Only the real entries of the per-location order tables matter (E = 32,357 on the classic board,
against L * A = 117,126 table cells, most of them padding). Their legality this phase is computed
once per game as one bool vector `values` [E + 2A] in row-major (location, entry) order, followed
by two constant rows (a no-op-only row and an all-True row). The mask row of a slot is then a
contiguous slice `values[start : start + A]` cut to the row's legal window [lo, hi): one row
gather writes the whole [P, K, A] mask. (Before, legality was spread over [L, A] with per-cell
gathers and several [L, A] constant tables, then gathered again into [P, K, A].)

How `values` is computed with few gathers (XLA's CPU gathers cost about 1 ns per element, a
broadcast comparison a fraction of that):
* unit type: a location's table lists the army orders, then the fleet orders (sorted text,
  checked when the tables are built), so "the order is for the unit standing there" (movement)
  or "for the dislodged unit there" (retreats) is the window [lo, hi) of that type's block;
* convoys (56% of the classic entries): a sea fleet's table holds "C A y - q" for every ordered
  pair y != q of its sea's static shore, in order; legal iff an army stands at y and y and q lie
  on the shore of the fleet's group of occupied seas. That is an outer product per sea, written
  without gathers (the off-diagonal cells of an [n, n] grid, row-major);
* every other entry e takes `V[index[e]]`, V = [False, True, movement phase, via ok..., support
  hold ok..., support move ok..., retreat ok..., adjustment ok...]: the position-dependent checks
  evaluated on compact per-kind entry lists, each gated by the phase kind it belongs to (so the
  index is static).

Dimension names: P players, N provinces, L locations, K slots, A actions per slot, E entries.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from detente.games.realpolitik_jax import _board as B

__all__ = ["LegalTables", "legal_tables", "entry_values", "mask_rows"]

MOVEMENT, RETREAT, ADJUSTMENT = 0, 1, 2


class LegalTables(NamedTuple):
    """Static (numpy) tables of the legality computation of one board.

    Attributes:
      num_entries: E, real entries of all order tables (entry 0, the no-op, included).
      row_start: int32 [L], offset of each location's first entry in the entry list.
      row_len: int32 [L], entries of each location's table.
      type_lo, type_hi: int32 [L, 3], the window [lo, hi) of each unit type's orders in a
        location's table (type 0: empty).
      rest_index: int32 [E - Ec], index into V of each entry that is not a convoy, in entry
        order.
      conv_rest_offset: tuple of int, per convoy table: how many non-convoy entries precede it.
      conv_loc: int32 [R], location of each convoy table (R sea locations).
      conv_size: tuple of int, n per convoy table (its n * (n - 1) entries).
      conv_select: float32 [R, N, n_max], one-hot of the shore provinces of each convoy table
        (in table order; zero columns pad tables shorter than n_max).
      via_pair: int32 [Ev], flat [N, N] index (province of the army, target) of via moves.
      sh_aux_loc, sh_aux_type: int32 [Eh], the unit supported to hold.
      sm_aux_loc, sm_aux_type: int32 [Em], the unit whose move is supported.
      sm_adjacent: bool [Em], the supported move needs no convoy.
      sm_pair: int32 [Em], flat [N, N] index (supported province, target).
      rt_loc_prov, rt_tgt_prov: int32 [Er], province of the retreating unit and its target.
      adj_loc: int32 [Ea], location of the adjustment entries (no-op, disband, build, waive).
      adj_type: int32 [Ea], unit type the location must hold in an adjustment phase: the
        disband's type, 0 for a build or waive (an empty location), -1 for the no-op (any unit).
      adj_disband: bool [Ea], a disband (also legal in a retreat phase, inside the window of
        the dislodged unit's type).
    """

    num_entries: int
    row_start: np.ndarray
    row_len: np.ndarray
    type_lo: np.ndarray
    type_hi: np.ndarray
    rest_index: np.ndarray
    conv_rest_offset: tuple
    conv_loc: np.ndarray
    conv_size: tuple
    conv_select: np.ndarray
    via_pair: np.ndarray
    sh_aux_loc: np.ndarray
    sh_aux_type: np.ndarray
    sm_aux_loc: np.ndarray
    sm_aux_type: np.ndarray
    sm_adjacent: np.ndarray
    sm_pair: np.ndarray
    rt_loc_prov: np.ndarray
    rt_tgt_prov: np.ndarray
    adj_loc: np.ndarray
    adj_type: np.ndarray
    adj_disband: np.ndarray


def _type_windows(b: B.BoardArrays, row_len: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo = np.zeros((b.num_locations, 3), np.int32)
    hi = np.zeros((b.num_locations, 3), np.int32)
    for loc in range(b.num_locations):
        types = b.e_type[loc, : row_len[loc]]
        for t in (1, 2):
            at = np.flatnonzero(types == t)
            if at.size and at[-1] - at[0] + 1 != at.size:
                raise ValueError(f"location {loc}: the orders of unit type {t} are not contiguous")
            if at.size:
                lo[loc, t], hi[loc, t] = at[0], at[-1] + 1
    return lo, hi


def _convoy_grids(b: B.BoardArrays, row_start: np.ndarray, row_len: np.ndarray):
    """Per sea table with convoys: (location, first entry, shore provinces), checked."""
    grids = []
    for loc in range(b.num_locations):
        at = np.flatnonzero(b.e_kind[loc, : row_len[loc]] == B.E_CONVOY)
        if not at.size:
            continue
        aux, tgt = b.e_aux_prov[loc, at], b.e_tgt_prov[loc, at]
        shore = list(dict.fromkeys(aux.tolist()))
        pairs = [(y, q) for y in shore for q in shore if q != y]
        contiguous = at[-1] - at[0] + 1 == at.size
        armies = (b.e_aux_type[loc, at] == 1).all() and (b.e_aux_loc[loc, at] == aux).all()
        if not (
            contiguous and armies and list(zip(aux.tolist(), tgt.tolist(), strict=True)) == pairs
        ):
            raise ValueError(f"location {loc}: convoy orders are not a full shore grid")
        grids.append((loc, int(row_start[loc] + at[0]), shore))
    return grids


def legal_tables(b: B.BoardArrays) -> LegalTables:
    """Builds the `LegalTables` of a board (numpy, once per engine).

    Args:
      b: the board's `BoardArrays`.

    Returns:
      The `LegalTables`.

    Raises:
      ValueError: the order tables lack a structure used here (tables contiguous from entry 0,
        each unit type's orders contiguous, a sea fleet's convoys a full grid over its shore);
        `detente.games.realpolitik.actions` builds them so.
    """
    n = b.num_provinces
    kind = b.e_kind
    real = kind >= 0
    row_len = real.sum(axis=1).astype(np.int32)
    if not all(real[loc, : row_len[loc]].all() for loc in range(b.num_locations)):
        raise ValueError("order tables must be contiguous from entry 0")
    row_start = np.concatenate([[0], np.cumsum(row_len)[:-1]]).astype(np.int32)
    type_lo, type_hi = _type_windows(b, row_len)
    grids = _convoy_grids(b, row_start, row_len)
    loc = np.broadcast_to(np.arange(b.num_locations)[:, None], kind.shape)
    loc_prov = b.loc_province[loc]
    # Index into V of every (location, entry) cell; V's segments are gated by the phase kind.
    index = np.zeros(kind.shape, np.int64)
    index[(kind == B.E_HOLD) | (kind == B.E_MOVE)] = 2  # V[2]: a movement phase
    builds = (kind == B.E_WAIVE) | (kind == B.E_BUILD_A) | (kind == B.E_BUILD_F)
    start = 3
    picked = {}
    for name, sel in (
        ("via", kind == B.E_VIA),
        ("sh", kind == B.E_SUP_HOLD),
        ("sm", kind == B.E_SUP_MOVE),
        ("rt", kind == B.E_RETREAT),
        ("adj", (kind == B.E_NOOP) | (kind == B.E_DISBAND) | builds),
    ):
        count = int(sel.sum())
        index[sel] = start + np.arange(count)  # row-major order, as `x[sel]` below
        picked[name] = sel
        start += count
    convoy = kind == B.E_CONVOY
    rest = real & ~convoy
    rest_index = index[rest]  # [E - Ec], row-major order of the real non-convoy cells
    # Non-convoy entries before each convoy block (entries are in row-major order).
    before = np.cumsum(rest[real])  # non-convoy entries up to and including each entry
    conv_rest_offset = tuple(int(before[s - 1]) if s > 0 else 0 for _, s, _ in grids)
    n_max = max((len(s) for _, _, s in grids), default=1)
    conv_select = np.zeros((len(grids), n, n_max), np.float32)
    for r, (_, _, shore) in enumerate(grids):
        conv_select[r, shore, np.arange(len(shore))] = 1.0
    adj_type = np.where(kind == B.E_DISBAND, b.e_type, 0)
    adj_type = np.where(kind == B.E_NOOP, -1, adj_type)
    adj_disband = kind == B.E_DISBAND
    i32 = np.int32
    v, h, m, r, a = (picked[k] for k in ("via", "sh", "sm", "rt", "adj"))
    return LegalTables(
        num_entries=int(row_len.sum()),
        row_start=row_start,
        row_len=row_len,
        type_lo=type_lo,
        type_hi=type_hi,
        rest_index=rest_index.astype(i32),
        conv_rest_offset=conv_rest_offset,
        conv_loc=np.array([g[0] for g in grids], i32),
        conv_size=tuple(len(g[2]) for g in grids),
        conv_select=conv_select,
        via_pair=(loc_prov[v] * n + b.e_tgt_prov[v]).astype(i32),
        sh_aux_loc=b.e_aux_loc[h].astype(i32),
        sh_aux_type=b.e_aux_type[h].astype(i32),
        sm_aux_loc=b.e_aux_loc[m].astype(i32),
        sm_aux_type=b.e_aux_type[m].astype(i32),
        sm_adjacent=b.e_adjacent[m].astype(bool),
        sm_pair=(b.e_aux_prov[m] * n + b.e_tgt_prov[m]).astype(i32),
        rt_loc_prov=loc_prov[r].astype(i32),
        rt_tgt_prov=b.e_tgt_prov[r].astype(i32),
        adj_loc=loc[a].astype(i32),
        adj_type=adj_type[a].astype(i32),
        adj_disband=adj_disband[a],
    )


def _off_diagonal_outer(a: jax.Array, b: jax.Array) -> jax.Array:
    """bool [n * (n - 1)]: a[i] & b[j] for the pairs j != i, row-major (i, then j).

    Row i of the result holds b without b[i]: b[j] for j < i, b[j + 1] for j >= i, a select
    between two shifted copies of b (no index arithmetic per cell beyond a comparison).
    """
    n = a.shape[0]
    i = jnp.arange(n)[:, None]
    j = jnp.arange(n - 1)[None, :]
    return (a[:, None] & jnp.where(j < i, b[None, :-1], b[None, 1:])).reshape(-1)


def _convoy_blocks(t: LegalTables, unit_type_at: jax.Array, convoy_shore: jax.Array):
    """Legality of each sea table's convoys, a list of bool [n * (n - 1)] (one per table)."""
    n_prov = convoy_shore.shape[1]
    shore = convoy_shore[jnp.asarray(t.conv_loc)]  # [R, N]: the fleet group's shore
    army = shore & (unit_type_at[:n_prov] == 1)  # an army stands there (provinces come first)
    # The table's provinces, picked by a 0/1 matrix product: exact, and its output is a small
    # materialised array (the blocks below would otherwise redo these gathers per cell).
    both = jnp.stack([army, shore], axis=1).astype(jnp.float32)  # [R, 2, N]
    picked = jnp.einsum("rkn,rni->rki", both, jnp.asarray(t.conv_select)) > 0.5
    return [
        _off_diagonal_outer(picked[r, 0, :n], picked[r, 1, :n]) for r, n in enumerate(t.conv_size)
    ]


def entry_values(
    t: LegalTables,
    num_actions: int,
    phase_kind: jax.Array,
    unit_type_at: jax.Array,
    convoy_pair: jax.Array,
    convoy_shore: jax.Array,
    occupied: jax.Array,
    contested: jax.Array,
    dislodged_origin: jax.Array,
) -> jax.Array:
    """Legality of every order-table entry in this phase (inside its row's type window).

    Args:
      t: the board's `LegalTables`.
      num_actions: A.
      phase_kind: int32 [], 0 movement, 1 retreat, 2 adjustment.
      unit_type_at: int32 [L], type of the unit at each location (0 none).
      convoy_pair: bool [N, N], an army can be convoyed between the two provinces.
      convoy_shore: bool [L, N], coastal provinces of the fleet group of each location.
      occupied: bool [N], provinces holding a unit.
      contested: bool [N], standoff provinces.
      dislodged_origin: int32 [N], province of the attacker of each dislodged unit.

    Returns:
      bool [E + 2A]: the entries' legality, then a no-op-only row and an all-True row.
    """
    pair = convoy_pair.reshape(-1)
    ut = unit_type_at
    via_ok = pair[t.via_pair]
    sh_ok = ut[t.sh_aux_loc] == t.sh_aux_type
    sm_ok = (ut[t.sm_aux_loc] == t.sm_aux_type) & (t.sm_adjacent | pair[t.sm_pair])
    rt_ok = ~occupied[t.rt_tgt_prov] & ~contested[t.rt_tgt_prov]
    rt_ok &= t.rt_tgt_prov != dislodged_origin[t.rt_loc_prov]
    movement = phase_kind == MOVEMENT
    retreat = phase_kind == RETREAT
    adjust = phase_kind == ADJUSTMENT
    at = ut[t.adj_loc]
    adj_ok = adjust & jnp.where(t.adj_type < 0, at > 0, at == t.adj_type)
    adj_ok |= retreat & t.adj_disband
    v = jnp.concatenate(
        [
            jnp.array([False, True]),
            movement[None],
            movement & via_ok,
            movement & sh_ok,
            movement & sm_ok,
            retreat & rt_ok,
            adj_ok,
        ]
    )
    # A fusion boundary: V is materialised once, not re-evaluated (with its own gathers) for
    # every entry gathered from it.
    rest = jax.lax.optimization_barrier(v)[t.rest_index]
    pieces, done = [], 0
    for offset, block in zip(
        t.conv_rest_offset, _convoy_blocks(t, unit_type_at, convoy_shore), strict=True
    ):
        pieces += [rest[done:offset], block & movement]
        done = offset
    pieces.append(rest[done:])
    noop_row = jnp.arange(num_actions) == 0
    return jnp.concatenate([*pieces, noop_row, jnp.ones(num_actions, bool)])


def row_windows(
    t: LegalTables, phase_kind: jax.Array, row_type: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Per location, the window [lo, hi) of its table that may be legal, int32 [L] each.

    Args:
      t: the board's `LegalTables`.
      phase_kind: int32 [].
      row_type: int32 [L], type of the unit ordered at each location (the dislodged unit in a
        retreat phase).

    Returns:
      (lo, hi): the orders of that unit type; the whole table in an adjustment phase.
    """
    rows = jnp.arange(t.row_len.shape[0])
    lo = jnp.asarray(t.type_lo)[rows, row_type]
    hi = jnp.asarray(t.type_hi)[rows, row_type]
    adjust = phase_kind == ADJUSTMENT
    return jnp.where(adjust, 0, lo), jnp.where(adjust, jnp.asarray(t.row_len), hi)


def mask_rows(
    t: LegalTables,
    values: jax.Array,
    windows: tuple[jax.Array, jax.Array],
    slot: jax.Array,
    acting: jax.Array,
    all_true: jax.Array,
) -> jax.Array:
    """The legal-action mask of one game, one row slice of `values` per slot.

    Args:
      t: the board's `LegalTables`.
      values: bool [E + 2A] from `entry_values`.
      windows: (lo, hi) int32 [L] from `row_windows`.
      slot: int32 [P, K], location each slot orders, -1 unused.
      acting: bool [P], powers acting this phase.
      all_true: bool [], every entry legal (a finished game).

    Returns:
      bool [P, K, A]: a used slot's legal entries; for an unused slot only the no-op when the
      power acts, everything otherwise; everything when `all_true`.
    """
    e = t.num_entries
    a = (values.shape[0] - e) // 2
    loc = jnp.clip(slot, 0)
    used = (slot >= 0) & ~all_true
    spare = jnp.where(acting[:, None] & ~all_true, e, e + a)  # no-op row or all-True row
    start = jnp.where(used, jnp.asarray(t.row_start)[loc], spare)
    lo = jnp.where(used, windows[0][loc], 0)
    hi = jnp.where(used, windows[1][loc], a)

    def row(s):
        return jax.lax.dynamic_slice(values, (s,), (a,))

    rows = jax.vmap(row)(start.reshape(-1)).reshape(*slot.shape, a)
    entry = jnp.arange(a)
    return rows & (entry >= lo[..., None]) & (entry < hi[..., None])
