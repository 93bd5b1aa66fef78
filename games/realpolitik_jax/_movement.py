"""Movement adjudication in fixed shapes: the DATC decisions as interval fixed-point iteration.

The reference resolver (`detente.games.realpolitik.adjudicator`) evaluates the DATC decisions
(move succeeds / support given / unit keeps its place, and convoy path) by recursive
guess-and-check (Kruijswijk, "The Math of Adjudication"). Recursion is not expressible with fixed
shapes, so here every decision carries an interval [lo, hi] of booleans (known True: lo; known
False: not hi) and every strength an integer interval; one sweep recomputes every decision from
the current intervals with interval arithmetic and intersects the result with the old interval.
Sweeps are sound (a decided value is the value the guess-and-check would find whenever that
resolution is unique) and monotone (intervals only shrink), so at most 2 * (2N) sweeps change
anything: the loop stops when a sweep changes nothing. What remains undecided then lies on a
dependency cycle, settled by the backup rules of the reference engine:

* circular movement: a ring of moves (each into the province of the next, no head-to-head pair)
  whose members are all undecided and whose convoy paths are known: every move of the ring
  succeeds;
* otherwise, undecided convoys (a convoy paradox): Szykman rule, the convoys fail (the convoyed
  armies stay and cut nothing);
* anything else is not supported: the undecided decisions are set to False and the `unsupported`
  flag is raised, never silently.

Each backup step decides at least one decision, so sweeps plus backup steps are bounded by
4N + 2 iterations of one `lax.while_loop` (N provinces); docs/realpolitik_jax.md gives the argument.
Rings are found by pointer doubling (ceil(log2 N) squarings of the successor map): once per phase,
or, given the batch's `vmap` axis name, in the backup step, which then runs only in the iterations
where some game needs a backup rule. Given the axis name, the games still undecided after
`RESOLVE_FIRST_SWEEPS` sweeps also continue in smaller sub-chunks of their own, so that the batch
does not sweep until its slowest game has settled.

Units are indexed by province (one unit per province). Dimension names: N provinces, S seas.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from detente.games.realpolitik_jax import _bits
from detente.games.realpolitik_jax._chunks import (
    any_in_batch,
    broadcast_unbatched,
    write_chunks,
)
from detente.games.realpolitik_jax._routes import on_minimal_route


class MovementOrders(NamedTuple):
    """Orders of one movement phase by province (the unit standing there).

    Attributes:
      owner: int32 [N], power of the unit, -1 for an empty province.
      fleet: bool [N], the unit is a fleet.
      move, support, convoy: bool [N], the unit's order as given (before matching), at most
        one of the three; none: a hold. Masks rather than a kind code: XLA's CPU fuses each
        consumer with its own copy of a decoding chain, so the cheaper the chain, the cheaper
        (and the less often split across threads) every kernel that reads it.
      dest: int32 [N], destination province of a move, else -1.
      via: bool [N], a move ordered "VIA".
      aux: int32 [N], province of the supported/convoyed unit, else -1.
      aux_dest: int32 [N], destination of the supported move or convoy, -1 for a support to hold.
    """

    owner: jax.Array
    fleet: jax.Array
    move: jax.Array
    support: jax.Array
    convoy: jax.Array
    dest: jax.Array
    via: jax.Array
    aux: jax.Array
    aux_dest: jax.Array


class MovementResult(NamedTuple):
    """Outcome of a movement phase by province.

    Attributes:
      moved: bool [N], the unit here moved successfully to its `dest`.
      dislodged: bool [N], the unit here was dislodged.
      origin: int32 [N], province the dislodging unit came from; -1 when it came by convoy.
      contested: bool [N], standoff provinces (empty after the phase, some failed move with
        prevent strength).
      by_convoy: bool [N], the move went by convoy.
      unsupported: bool [], an undecided cycle that no backup rule covers was met.
      iterations: int32 [], loop iterations run (under a batch's axis name, those of the
        game's chunk or sub-chunk: a game that settled earlier sweeps on unchanged).
    """

    moved: jax.Array
    dislodged: jax.Array
    origin: jax.Array
    contested: jax.Array
    by_convoy: jax.Array
    unsupported: jax.Array
    iterations: jax.Array


def _gather(x: jax.Array, idx: jax.Array, fill) -> jax.Array:
    return jnp.where(idx >= 0, x[jnp.clip(idx, 0)], fill)


def _seg_cols(x: jax.Array, seg: jax.Array, n: int, op: str) -> jax.Array:
    """int32 [n, C]: sum ("add") or max ("max", of `x` >= 0) of the rows of `x` [M, C] over the
    entries of each segment (`seg` [M], -1: none); 0 for an empty segment. One scatter."""
    at = jnp.zeros((n + 1, x.shape[1]), jnp.int32).at[jnp.where(seg >= 0, seg, n)]
    return (at.add(x) if op == "add" else at.max(x))[:n]


def _gather_cols(x: jax.Array, idx: jax.Array) -> jax.Array:
    """int32 [M, C]: rows `idx` [M] of `x` [n, C], 0 where `idx` is -1. One gather."""
    return jnp.where((idx >= 0)[:, None], x[jnp.clip(idx, 0)], 0)


def _seg_any(x: jax.Array, seg: jax.Array, n: int) -> jax.Array:
    """bool [n]: some entry of each segment has `x` [M] (`seg` -1: none)."""
    return jnp.zeros(n + 1, bool).at[jnp.where(x & (seg >= 0), seg, n)].set(True)[:n]


# The CPU's chunks (`axis_name` given) sweep every game RESOLVE_FIRST_SWEEPS times, then continue
# only the games still undecided, gathered into sub-chunks of a chunk's 1 / RESOLVE_STRAGGLERS (at
# least RESOLVE_STRAGGLERS_MIN games): in random play half the phases settle in one sweep and
# 96% in two, but a batched loop runs until its slowest game settles (3.4 sweeps on average in a
# chunk of 256). docs/realpolitik_jax.md has the measurements.
RESOLVE_FIRST_SWEEPS = 2
RESOLVE_STRAGGLERS = 8
RESOLVE_STRAGGLERS_MIN = 4
_STRAGGLER_AXIS = "resolve_games"


class _Relations(NamedTuple):
    """The per-game arrays the sweeps read, all fixed by the orders; [N] unless noted."""

    present: jax.Array  # bool, a unit stands here
    is_move: jax.Array  # bool, a move (after matching)
    is_sup: jax.Array  # bool, a matched support
    is_conv: jax.Array  # bool, a matched convoy
    by_convoy: jax.Array  # bool, a move by convoy
    dest: jax.Array  # int32, a move's destination, else -1
    h2h: jax.Array  # int32, the head-to-head partner's province, else -1
    occupied_dest: jax.Array  # bool, a unit stands at the destination
    dest_move: jax.Array  # bool, the unit at the destination moves
    same_power_dest: jax.Array  # bool, the unit at the destination is of the mover's power
    sup_seg: jax.Array  # int32, the supported unit's province, else -1
    move_seg: jax.Array  # int32, a move's destination, else -1
    sup_excl: jax.Array  # bool, a support not counted against the target's power
    cutter: jax.Array  # bool, a move that cuts a support at its destination unless it fails
    succ: jax.Array  # int32, the next unit of a ring of moves, else -1
    # Sets of seas as uint32 bit words [..., W] (`_bits`):
    same_army: jax.Array  # [S, W], per sea the adjacent seas convoying the same army
    start: jax.Array  # [W], the convoying seas next to their army
    army_end: jax.Array  # [N, W], per army the convoying seas next to its destination


class _Carry(NamedTuple):
    """The resolution loop's state: decision and path bounds [N], the flag, the iterations."""

    d_lo: jax.Array
    d_hi: jax.Array
    p_lo: jax.Array
    p_hi: jax.Array
    flag: jax.Array
    it: jax.Array


def _paths(rel: _Relations, usable_sea: jax.Array) -> jax.Array:
    """bool [2, N] armies with a convoy path, from bool [2, S] usable seas (lower, upper bound).

    Reached seas only grow, so the search stops at the first step that adds none (the same
    result as S steps; without convoys it stops after one step). The sets of seas are bit
    words: a step touches [2, S, W] words, not [2, S, S] booleans.
    """
    num_seas = usable_sea.shape[1]
    usable = _bits.pack(usable_sea)  # [2, W]

    def cond(carry):
        _, changed, i = carry
        return changed & (i < num_seas)

    def body(carry):
        reached, _, i = carry
        grow = _bits.pack(_bits.intersects(rel.same_army[None], reached[:, None, :]))  # [2, W]
        new = usable & (rel.start[None] | grow)
        return new, jnp.any(new != reached), i + 1

    reached0 = usable & rel.start[None]
    reached, _, _ = jax.lax.while_loop(cond, body, (reached0, jnp.ones((), bool), 0))
    return _bits.intersects(rel.army_end[None], reached[:, None, :])


def _sweep(rel: _Relations, sea_province: jax.Array, d_lo, d_hi, p_lo, p_hi):
    """One sweep: every decision and path recomputed from the bounds, intersected with them."""
    n = rel.present.shape[0]
    is_move, is_sup, present = rel.is_move, rel.is_sup, rel.present
    occupied_dest, dest_move, h2h = rel.occupied_dest, rel.dest_move, rel.h2h
    move_seg = rel.move_seg
    idx = jnp.arange(n)
    # Each sweep reduces over three relations: supporters -> the supported unit (`sup_seg`),
    # movers -> their destination (`move_seg`) and the gathers back. The bounds' columns are
    # stacked so that each reduction is one scatter or gather of a few columns: on XLA's CPU
    # one of 4 columns costs about half of 4 of one (14 scatters and 14 gathers a sweep
    # became 3 and 4).
    excl = rel.sup_excl.astype(jnp.int32)
    unit_code = idx + 1  # > 0: an encoded maximum carries the unit holding it
    code_bits = n.bit_length()  # unit codes fit below bit `code_bits` (shifts, not divisions)
    s_lo = (d_lo & is_sup).astype(jnp.int32)
    s_hi = (d_hi & is_sup).astype(jnp.int32)
    sup = _seg_cols(jnp.stack([s_lo, s_hi, s_lo * excl, s_hi * excl], 1), rel.sup_seg, n, "add")
    sup_lo, sup_hi, exc_lo, exc_hi = (sup[:, c] for c in range(4))
    conv_sea = rel.is_conv[sea_province] & jnp.stack([d_lo, d_hi])[:, sea_province]  # [2, S]
    np_lh = jnp.where(rel.by_convoy, _paths(rel, conv_sea), True)
    p_lo2 = p_lo | np_lh[0]
    p_hi2 = p_hi & np_lh[1]
    # Hold strength of each province (its unit).
    hold_lo = jnp.where(is_move, (~d_hi).astype(jnp.int32), 1 + sup_lo)
    hold_hi = jnp.where(is_move, (~d_lo).astype(jnp.int32), 1 + sup_hi)
    hold_lo = jnp.where(present, hold_lo, 0)
    hold_hi = jnp.where(present, hold_hi, 0)
    d_int = jnp.stack([d_lo, d_hi], 1).astype(jnp.int32)
    at_dest = _gather_cols(jnp.concatenate([d_int, jnp.stack([hold_lo, hold_hi], 1)], 1), rel.dest)
    at_h2h = _gather_cols(jnp.concatenate([1 + sup[:, :2], d_int], 1), h2h)
    # Attack strength.
    om_lo = occupied_dest & dest_move & (h2h != rel.dest) & (at_dest[:, 0] > 0)
    om_hi = occupied_dest & dest_move & (h2h != rel.dest) & (at_dest[:, 1] > 0)
    full_lo, full_hi = 1 + sup_lo, 1 + sup_hi
    excl_lo = jnp.where(rel.same_power_dest, 0, 1 + exc_lo)
    excl_hi = jnp.where(rel.same_power_dest, 0, 1 + exc_hi)
    free = ~occupied_dest
    att_lo = jnp.where(
        free | om_lo, full_lo, jnp.where(om_hi, jnp.minimum(full_lo, excl_lo), excl_lo)
    )
    att_hi = jnp.where(
        free | om_lo, full_hi, jnp.where(om_hi, jnp.maximum(full_hi, excl_hi), excl_hi)
    )
    att_lo = jnp.where(p_lo2, att_lo, 0)
    att_hi = jnp.where(p_hi2, att_hi, 0)
    # Defend strength of a head-to-head partner, else the hold strength of the destination.
    has_h2h = h2h >= 0
    opp_lo = jnp.where(has_h2h, at_h2h[:, 0], at_dest[:, 2])
    opp_hi = jnp.where(has_h2h, at_h2h[:, 1], at_dest[:, 3])
    # Prevent strength of each mover, and the largest of the other movers into its
    # destination: the destination's maximum, encoded with the unit holding it, for every
    # mover but that unit; for that unit the maximum over the others (a second scatter).
    partner_lo = at_h2h[:, 2] > 0
    partner_hi = at_h2h[:, 3] > 0
    prev = jnp.stack(
        [
            jnp.where(is_move & p_lo2 & ~partner_hi, 1 + sup_lo, 0),
            jnp.where(is_move & p_hi2 & ~partner_lo, 1 + sup_hi, 0),
        ],
        1,
    )  # [N, 2]
    into = _seg_cols(
        jnp.concatenate(
            [
                (prev << code_bits) + unit_code[:, None],
                jnp.stack([rel.cutter & p_lo2, rel.cutter & p_hi2], 1).astype(jnp.int32),
            ],
            1,
        ),
        move_seg,
        n,
        "max",
    )  # [N, 4]: per destination, encoded maximum (lo, hi), cut (certain, possible)
    top_code = _gather_cols(into[:, :2], move_seg)
    holder = (top_code & ((1 << code_bits) - 1)) - 1
    is_holder = holder == idx[:, None]
    second = _gather_cols(_seg_cols(jnp.where(is_holder, 0, prev), move_seg, n, "max"), move_seg)
    others = jnp.where(is_holder, second, top_code >> code_bits)  # [N, 2]
    mv_lo = d_lo | (p_lo2 & (att_lo > opp_hi) & (att_lo > others[:, 1]))
    mv_hi = d_hi & p_hi2 & (att_hi > opp_lo) & (att_hi > others[:, 0])
    # Units that stay: support given / not dislodged, from the moves' bounds of this sweep
    # (a dislodgement cuts the support in the same sweep: fewer sweeps, same fixed point).
    dislodge = _seg_cols(jnp.stack([mv_lo, mv_hi], 1).astype(jnp.int32), move_seg, n, "max")
    st_lo = (into[:, 3] == 0) & (dislodge[:, 1] == 0)
    st_hi = (into[:, 2] == 0) & (dislodge[:, 0] == 0)
    new_lo = jnp.where(is_move, mv_lo, st_lo) & present
    new_hi = jnp.where(is_move, mv_hi, st_hi) & present
    return d_lo | new_lo, d_hi & new_hi, p_lo2, p_hi2


def _rings(succ: jax.Array) -> jax.Array:
    """int32 [N]: each province's ring of moves (its smallest member), -1 off every ring.

    Ring membership depends on the orders only. `succ` is a function graph on the provinces (-1 a
    sink), so after any m >= n steps every path that has not fallen into a sink lies on a cycle,
    and every cycle node is reached so: the ring nodes are the images of succ^m. Pointer doubling
    gets m = 2^k >= n in k = ceil(log2 n) squarings, carrying the smallest province met (the
    ring's name, for nodes on a ring the smallest member). The same sets as following `succ` n
    times, one step at a time.
    """
    n = succ.shape[0]
    idx = jnp.arange(n)
    jump = succ
    ring_id = jnp.where(succ >= 0, jnp.minimum(idx, succ), idx)
    for _ in range(max(1, (n - 1).bit_length())):
        ring_id = jnp.where(jump >= 0, jnp.minimum(ring_id, _gather(ring_id, jump, n)), ring_id)
        jump = _gather(jump, jump, -1)
    on_ring = _seg_any(jump >= 0, jump, n)
    return jnp.where(on_ring, ring_id, -1)


def _backup(rel: _Relations, bounds, ring_seg: jax.Array | None):
    """The backup rules at a fixed point with decisions left (`ring_seg` None: search the rings)."""
    n = rel.present.shape[0]
    d_lo, d_hi, p_lo, p_hi = bounds
    undecided = d_lo != d_hi
    # Circular movement: a ring is accepted when every one of its units is an undecided move
    # with a known path.
    if ring_seg is None:
        ring_seg = _rings(rel.succ)
    ring_ok = undecided & rel.is_move & (~rel.by_convoy | p_lo)
    bad = _seg_any(~ring_ok, ring_seg, n)
    circular = (ring_seg >= 0) & ~_gather(bad, ring_seg, True)
    any_circ = jnp.any(circular)
    paradox = undecided & rel.is_conv
    any_par = jnp.any(paradox)
    rest = undecided & ~any_circ & ~any_par
    d_lo = jnp.where(any_circ, d_lo | circular, d_lo)
    d_hi = jnp.where(any_circ, d_hi, jnp.where(any_par, d_hi & ~paradox, d_hi & ~rest))
    stuck = ~any_circ & ~any_par & jnp.any(undecided)
    return d_lo, d_hi, p_lo, p_hi, stuck


def _decided(carry: _Carry) -> jax.Array:
    # One reduction of one fused element-wise pass: XLA's CPU runs each reduction as a library
    # call of its own, its element-wise input as another kernel.
    return ~jnp.any((carry.d_lo ^ carry.d_hi) | (carry.p_lo ^ carry.p_hi))


def _iterate(
    rel: _Relations, carry: _Carry, sea_province: jax.Array, cap: int, axis_name: str | None
) -> _Carry:
    """Sweeps (a backup step at a fixed point) until every decision and path is decided or the
    loop has run `cap` iterations in all (`carry.it` counts them).

    The rings (the backup's costliest part) are searched once per phase without `axis_name`;
    with it, the backup step runs as a whole under a `lax.cond` on a predicate reduced over
    that `vmap` axis, which `vmap` keeps a real branch: only in the iterations where some game
    of the batch needs a backup rule. Under `vmap` without it a per-game `lax.cond` would be a
    select that ran the backup in every iteration anyway.
    """
    ring_seg = _rings(rel.succ) if axis_name is None else None

    def settle(bounds, changed):
        """The sweep's bounds where it changed something, else the backup rules' (and whether
        no rule applied)."""
        *backed, stuck = _backup(rel, bounds, ring_seg)
        kept = (jnp.where(changed, x, y) for x, y in zip(bounds, backed, strict=True))
        return (*kept, ~changed & stuck)

    def settle_if_needed(bounds, changed, needed):
        if axis_name is None:
            return settle(bounds, changed)
        # Without a game that needs a backup rule the backup leaves the bounds as they are: the
        # false branch skips it and the selects.
        return jax.lax.cond(
            any_in_batch(needed, axis_name),
            settle,
            lambda b, _: (*b, jnp.zeros((), bool)),
            bounds,
            changed,
        )

    def cond(c: _Carry):
        go = ~_decided(c) & (c.it < cap)
        # With the batch's axis, one predicate for the whole batch: a sweep of a decided game
        # changes nothing (sweeps are sound and its bounds are points), so games that have
        # settled may sweep on, and `vmap`'s loop needs no per-game selects of its carry. The
        # games of one loop share their iteration count, so none passes `cap`.
        return any_in_batch(go, axis_name)

    def body(c: _Carry):
        n_lo, n_hi, np_lo, np_hi = _sweep(rel, sea_province, c.d_lo, c.d_hi, c.p_lo, c.p_hi)
        changed = jnp.any((n_lo ^ c.d_lo) | (n_hi ^ c.d_hi) | (np_lo ^ c.p_lo) | (np_hi ^ c.p_hi))
        needed = ~changed & jnp.any((n_lo ^ n_hi) | (np_lo ^ np_hi))
        *bounds, stuck = settle_if_needed((n_lo, n_hi, np_lo, np_hi), changed, needed)
        return _Carry(*bounds, c.flag | stuck, c.it + 1)

    return jax.lax.while_loop(cond, body, carry)


def _iterate_with_stragglers(sea_province: jax.Array, max_iter: int):
    """`_iterate` to the end, whose batched form continues only the games left undecided.

    One game: `_iterate`. Under `vmap` (the games of one chunk of the CPU's phase dispatch):
    every game runs RESOLVE_FIRST_SWEEPS iterations (fewer when all have settled), then the
    games still undecided are gathered into sub-chunks (a `fori_loop` over as many as they
    fill) that run to the end and are written back. Each game's decisions, paths and flag
    evolve as its own loop alone would (once settled it sweeps on unchanged), so the result
    is `_iterate`'s game by game, its iteration count aside.
    """
    one_game = functools.partial(_iterate, sea_province=sea_province, cap=max_iter, axis_name=None)
    iterate = jax.custom_batching.custom_vmap(one_game)

    @iterate.def_vmap
    def _(axis_size, in_batched, rel, carry):
        rel, carry = broadcast_unbatched((rel, carry), in_batched, axis_size)

        def run(cap):
            step = functools.partial(
                _iterate, sea_province=sea_province, cap=cap, axis_name=_STRAGGLER_AXIS
            )
            return jax.vmap(step, axis_name=_STRAGGLER_AXIS)

        sub = max(axis_size // RESOLVE_STRAGGLERS, RESOLVE_STRAGGLERS_MIN)
        if sub >= axis_size:
            out = run(max_iter)(rel, carry)
            return out, jax.tree.map(lambda _: True, out)
        out = run(RESOLVE_FIRST_SWEEPS)(rel, carry)
        left = ~jax.vmap(_decided)(out) & (out.it < max_iter)  # [C]
        order = jnp.argsort(~left, stable=True)
        order = jnp.concatenate([order, jnp.zeros(sub, order.dtype)])  # room for the last one
        # Each straggler's rows of the first stage's state are its own loop state so far.
        out = write_chunks(run(max_iter), (rel, out), out, order, 0, jnp.sum(left), sub)
        return out, jax.tree.map(lambda _: True, out)

    return iterate


def resolve(
    orders: MovementOrders,
    fleet_prov_adj: jax.Array,
    sea_province: jax.Array,
    sea_adj: jax.Array,
    convoy_routes: tuple[jax.Array, jax.Array, jax.Array] | None = None,
    axis_name: str | None = None,
) -> MovementResult:
    """Resolves one movement phase (one game; vmap for a batch).

    Orders must be the board's legal orders (every order in `legal_orders`); matching (supports
    of moves not ordered, convoys of armies not moving by convoy, convoys by fleets that no
    minimal route needs) is done here as in the reference engine.

    Args:
      orders: the `MovementOrders`, arrays [N].
      fleet_prov_adj: bool [N, N], static.
      sea_province: int32 [S], static.
      sea_adj: bool [S, S], static.
      convoy_routes: (pair_seas uint32 [N, N, M, W], sea_index int32 [N]), the seas of the
        board's minimal convoy routes as bit sets (`_routes.RouteTables.pair_seas`) and each
        province's sea index: a convoy order of a fleet on no minimal route of occupied seas is
        void (DATC 6.G.19). None skips that check (only for callers whose convoys are all
        needed).
      axis_name: the `vmap` axis name of a batch of games (the CPU dispatch's chunk), or None.
        With it, the backup step (the rings of circular movement included) runs only in the
        loop iterations where some game of the batch needs a backup rule (a `lax.cond` on a
        predicate reduced over the batch, which `vmap` keeps a real branch), and the games
        left undecided after `RESOLVE_FIRST_SWEEPS` sweeps continue in sub-chunks
        (`_iterate_with_stragglers`); without it, the rings are searched once per phase and
        the whole batch sweeps until its slowest game settles. The result is the same.

    Returns:
      The `MovementResult`.
    """
    n = orders.owner.shape[0]
    idx = jnp.arange(n)
    present = orders.owner >= 0
    is_move = present & orders.move
    dest = jnp.where(is_move, orders.dest, -1)
    aux = orders.aux
    aux_dest = orders.aux_dest
    owner = orders.owner

    # Convoy intent (DATC 4.A.3): an own fleet ordered to convoy a move makes it a convoy.
    aux_move = _gather(is_move, aux, False)
    aux_mdest = _gather(dest, aux, -2)
    conv_match = present & orders.convoy & aux_move & (aux_mdest == aux_dest)
    conv_match &= ~_gather(orders.fleet, aux, True)
    if convoy_routes is not None:
        # A fleet that no convoy route needs cannot convoy, nor express intent (DATC 6.G.19).
        # Only fleets at sea convoy, so the check runs over the S seas, not the N provinces.
        pair_seas, sea_index = convoy_routes
        at_sea = present[sea_province] & orders.fleet[sea_province]  # [S]
        on_route = on_minimal_route(
            pair_seas,
            aux[sea_province],
            aux_dest[sea_province],
            sea_index[sea_province],
            _bits.pack(at_sea),
        )  # [S]
        conv_match &= jnp.zeros(n, bool).at[sea_province].set(on_route)
    intent_src = conv_match & (_gather(owner, aux, -2) == owner)
    intent = jnp.zeros(n, bool).at[jnp.where(intent_src, aux, n)].max(True, mode="drop")
    by_convoy = is_move & (orders.via | intent)
    aux_byc = _gather(by_convoy, aux, False)
    # A convoy or support that matches no order holds (moves stand as ordered, so does
    # `aux_move`).
    is_conv = conv_match & aux_byc
    is_sup = (
        present
        & orders.support
        & jnp.where(aux_dest >= 0, aux_move & (aux_mdest == aux_dest), ~aux_move)
    )
    sup_dest = jnp.where(is_sup, aux_dest, -1)

    occupied_dest = _gather(present, dest, False)
    dest_move = _gather(is_move, dest, False)
    dest_dest = _gather(dest, dest, -2)
    h2h_ok = is_move & ~by_convoy & occupied_dest & dest_move & ~_gather(by_convoy, dest, True)
    h2h_ok &= dest_dest == idx
    h2h = jnp.where(h2h_ok, dest, -1)
    same_power_dest = occupied_dest & (_gather(owner, dest, -2) == owner)

    # Pairwise relations as per-unit segment indices (a supporter backs the unit `aux`, a mover
    # enters `dest`): sums and maxima over them are scatters over N units, not [N, N] work.
    sup_seg = jnp.where(is_sup, aux, -1)
    move_seg = jnp.where(is_move, dest, -1)
    dest_owner = _gather(owner, dest, -2)
    # A support not counted against the supported move's target power (own-unit exception).
    sup_excl = is_sup & (owner != _gather(dest_owner, aux, -2))
    # Movers that would cut a support at their destination: another power's unit, not coming
    # from the province the support goes into.
    cutter = is_move & _gather(is_sup, dest, False) & (dest_owner != owner)
    cutter &= idx != _gather(sup_dest, dest, -1)

    # Convoy routes: every fleet convoys one army, so all routes grow together over the seas.
    sea_army = jnp.where(is_conv[sea_province], aux[sea_province], -1)  # [S]
    # Sets of seas as bit words [.., W]: per sea, the adjacent seas convoying the same army.
    same_army = jnp.where(
        (sea_army >= 0)[:, None],
        _bits.group(sea_army, n)[jnp.clip(sea_army, 0)] & _bits.pack(sea_adj),
        0,
    )  # [S, W]
    start = (sea_army >= 0) & fleet_prov_adj[sea_province, jnp.clip(sea_army, 0)]
    army_dest = _gather(dest, sea_army, -1)
    end = (sea_army >= 0) & jnp.take_along_axis(
        fleet_prov_adj[sea_province], jnp.clip(army_dest, 0)[:, None], axis=1
    )[:, 0]
    army_end = _bits.group(jnp.where(end, sea_army, -1), n)  # [N, W]
    # Rings of moves for circular movement: i -> the moving unit in its destination.
    succ = jnp.where(is_move & occupied_dest & dest_move & (h2h != dest), dest, -1)
    rel = _Relations(
        present=present,
        is_move=is_move,
        is_sup=is_sup,
        is_conv=is_conv,
        by_convoy=by_convoy,
        dest=dest,
        h2h=h2h,
        occupied_dest=occupied_dest,
        dest_move=dest_move,
        same_power_dest=same_power_dest,
        sup_seg=sup_seg,
        move_seg=move_seg,
        sup_excl=sup_excl,
        cutter=cutter,
        succ=succ,
        same_army=same_army,
        start=_bits.pack(start),
        army_end=army_end,
    )
    carry = _Carry(
        d_lo=jnp.zeros(n, bool),
        d_hi=present,
        p_lo=~by_convoy,
        p_hi=jnp.ones(n, bool),
        flag=jnp.zeros((), bool),
        it=jnp.zeros((), jnp.int32),
    )
    max_iter = 4 * n + 2
    if axis_name is None:
        carry = _iterate(rel, carry, sea_province, max_iter, None)
    else:
        carry = _iterate_with_stragglers(sea_province, max_iter)(rel, carry)
    d_lo, d_hi, p_lo, p_hi, flag, iters = carry
    # The loop ends with every decision and path decided (a path is decided one sweep after
    # the convoys it needs), or at the iteration bound, which is flagged.
    flag = flag | jnp.any(d_lo != d_hi) | jnp.any(p_lo != p_hi)
    success = d_lo
    path = p_lo
    moved = is_move & success
    entered = _seg_any(moved, move_seg, n)
    dislodged = present & ~moved & entered
    # At most one move into a province succeeds: its origin is the attacker.
    attacker = jnp.zeros(n + 1, jnp.int32).at[jnp.where(moved, dest, n)].set(idx)[:n]
    origin = jnp.where(dislodged & ~by_convoy[attacker], attacker, -1)
    occupied_after = (present & ~moved & ~dislodged) | entered
    partner_ok = _gather(success, h2h, False)
    prevents = is_move & ~success & path & ~partner_ok
    contested = ~occupied_after & _seg_any(prevents, move_seg, n)
    return MovementResult(moved, dislodged, origin, contested, by_convoy, flag, iters)
