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
Rings are found once per phase by pointer doubling (ceil(log2 N) squarings of the successor map).

Units are indexed by province (one unit per province). Dimension names: N provinces, S seas.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from detente.games.realpolitik_jax._routes import on_minimal_route

HOLD, MOVE, SUPPORT, CONVOY = 0, 1, 2, 3


class MovementOrders(NamedTuple):
    """Orders of one movement phase by province (the unit standing there).

    Attributes:
      owner: int32 [N], power of the unit, -1 for an empty province.
      fleet: bool [N], the unit is a fleet.
      kind: int32 [N], HOLD/MOVE/SUPPORT/CONVOY as ordered (before matching).
      dest: int32 [N], destination province of a move, else -1.
      via: bool [N], a move ordered "VIA".
      aux: int32 [N], province of the supported/convoyed unit, else -1.
      aux_dest: int32 [N], destination of the supported move or convoy, -1 for a support to hold.
    """

    owner: jax.Array
    fleet: jax.Array
    kind: jax.Array
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
      iterations: int32 [], loop iterations used.
    """

    moved: jax.Array
    dislodged: jax.Array
    origin: jax.Array
    contested: jax.Array
    by_convoy: jax.Array
    unsupported: jax.Array
    iterations: jax.Array


def _gather(x: jax.Array, idx: jax.Array, fill) -> jax.Array:
    """`x[idx]` (rows of `x` [N, ...]), `fill` where `idx` < 0."""
    ok = (idx >= 0).reshape(idx.shape + (1,) * (x.ndim - 1))
    return jnp.where(ok, x[jnp.clip(idx, 0)], jnp.asarray(fill, x.dtype))


def _gather_all(xs, idx: jax.Array, fills) -> list[jax.Array]:
    """`[_gather(x, idx, fill) ...]` for [N] arrays `xs` as one gather of their int32 stack.

    XLA's CPU backend pays per gathered index, not per channel: one [N, C] gather costs about
    a third of C separate [N] gathers.
    """
    table = jnp.stack([x.astype(jnp.int32) for x in xs], -1)
    fill = jnp.asarray([int(f) for f in fills], jnp.int32)
    rows = jnp.where((idx >= 0)[:, None], table[jnp.clip(idx, 0)], fill)
    return [rows[:, c].astype(x.dtype) for c, x in enumerate(xs)]


def _seg_index(seg: jax.Array, n: int) -> jax.Array:
    return jnp.where(seg >= 0, seg, n)


def _seg_sum(x: jax.Array, seg: jax.Array, n: int) -> jax.Array:
    """int32 [n, ...]: sum of `x` [M, ...] over the entries of each segment (`seg` -1: none)."""
    return jnp.zeros((n + 1,) + x.shape[1:], jnp.int32).at[_seg_index(seg, n)].add(x)[:n]


def _seg_any(x: jax.Array, seg: jax.Array, n: int) -> jax.Array:
    """bool [n, ...]: some entry of each segment has `x` [M, ...] (`seg` -1: none)."""
    return _seg_sum(x.astype(jnp.int32), seg, n) > 0


def _seg_max(x: jax.Array, seg: jax.Array, n: int) -> jax.Array:
    """int32 [n, ...]: max of `x` >= 0 [M, ...] over each segment, 0 for an empty one."""
    return jnp.zeros((n + 1,) + x.shape[1:], jnp.int32).at[_seg_index(seg, n)].max(x)[:n]


def _others_max(x: jax.Array, seg: jax.Array, n: int) -> jax.Array:
    """int32 [M, ...]: max of `x` >= 0 over the *other* entries of each entry's segment (0 if
    none), per trailing channel.

    From the segment's maximum, how many entries reach it, and the largest value below it.
    """
    in_seg = (seg >= 0).reshape(seg.shape + (1,) * (x.ndim - 1))
    top = _gather(_seg_max(x, seg, n), seg, 0)
    at_top = (x == top) & in_seg
    ties = _gather(_seg_sum(at_top.astype(jnp.int32), seg, n), seg, 0)
    below = _gather(_seg_max(jnp.where(x < top, x, 0), seg, n), seg, 0)
    return jnp.where(in_seg, jnp.where(at_top & (ties == 1), below, top), 0)


def _flip(x: jax.Array) -> jax.Array:
    """[..., 2] interval (lo, hi) -> (hi, lo): the bound interval arithmetic pairs it with."""
    return x[..., ::-1]


def _lo_hi(lo: jax.Array, hi: jax.Array) -> jax.Array:
    return jnp.stack([lo, hi], -1)


def resolve(
    orders: MovementOrders,
    fleet_prov_adj: jax.Array,
    sea_province: jax.Array,
    sea_adj: jax.Array,
    convoy_routes: tuple[jax.Array, jax.Array, jax.Array] | None = None,
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
      convoy_routes: (route_seas bool [R + 1, S], pair_routes int32 [N, N, M], sea_index int32
        [N]), the board's minimal convoy routes (`_routes.route_tables`) and each province's sea
        index: a convoy order of a fleet on no minimal route of occupied seas is void (DATC
        6.G.19). None skips that check (only for callers whose convoys are all needed).

    Returns:
      The `MovementResult`.
    """
    n = orders.owner.shape[0]
    idx = jnp.arange(n)
    present = orders.owner >= 0
    kind = jnp.where(present, orders.kind, HOLD)
    is_move = kind == MOVE
    dest = jnp.where(is_move, orders.dest, -1)
    aux = orders.aux
    aux_dest = orders.aux_dest
    owner = orders.owner

    # Convoy intent (DATC 4.A.3): an own fleet ordered to convoy a move makes it a convoy.
    aux_move, aux_mdest, aux_fleet, aux_owner = _gather_all(
        (is_move, dest, orders.fleet, owner), aux, (False, -2, True, -2)
    )
    conv_match = (kind == CONVOY) & aux_move & (aux_mdest == aux_dest) & ~aux_fleet
    if convoy_routes is not None:
        # A fleet that no convoy route needs cannot convoy, nor express intent (DATC 6.G.19).
        route_seas, pair_routes, sea_index = convoy_routes
        at_sea = present[sea_province] & orders.fleet[sea_province]  # [S]
        conv_match &= on_minimal_route(route_seas, pair_routes, aux, aux_dest, sea_index, at_sea)
    intent_src = conv_match & (aux_owner == owner)
    intent = _seg_any(intent_src, jnp.where(intent_src, aux, -1), n)
    by_convoy = is_move & (orders.via | intent)
    aux_byc = _gather(by_convoy, aux, False)
    convoy_ok = conv_match & aux_byc
    # Void convoys become holds; a convoy is not a move, so `aux_move` still holds after it.
    kind = jnp.where((kind == CONVOY) & ~convoy_ok, HOLD, kind)
    sup_ok = (kind == SUPPORT) & jnp.where(
        aux_dest >= 0, aux_move & (aux_mdest == aux_dest), ~aux_move
    )
    kind = jnp.where((kind == SUPPORT) & ~sup_ok, HOLD, kind)
    is_sup = kind == SUPPORT
    is_conv = kind == CONVOY
    sup_dest = jnp.where(is_sup, aux_dest, -1)

    occupied_dest, dest_move, dest_dest, dest_byc, dest_owner, dest_sup, dest_sup_dest = (
        _gather_all(
            (present, is_move, dest, by_convoy, owner, is_sup, sup_dest),
            dest,
            (False, False, -2, True, -2, False, -1),
        )
    )
    h2h_ok = is_move & ~by_convoy & occupied_dest & dest_move & ~dest_byc & (dest_dest == idx)
    h2h = jnp.where(h2h_ok, dest, -1)
    has_h2h = h2h >= 0
    same_power_dest = occupied_dest & (dest_owner == owner)
    # A move into a province whose unit moves on (not head to head): its strength against a
    # unit of its own power depends on whether that unit leaves.
    moving_on = occupied_dest & dest_move & (h2h != dest)

    # Pairwise relations as per-unit segment indices (a supporter backs the unit `aux`, a mover
    # enters `dest`): sums and maxima over them are scatters over N units, not [N, N] work.
    sup_seg = jnp.where(is_sup, aux, -1)
    move_seg = jnp.where(is_move, dest, -1)
    # A support not counted against the supported move's target power (own-unit exception).
    sup_excl = is_sup & (owner != _gather(dest_owner, aux, -2))
    # Movers that would cut a support at their destination: another power's unit, not coming
    # from the province the support goes into.
    cutter = is_move & dest_sup & (dest_owner != owner) & (idx != dest_sup_dest)

    # Convoy routes: every fleet convoys one army, so all routes grow together over the seas.
    sea_army = jnp.where(is_conv[sea_province], aux[sea_province], -1)  # [S]
    same_army = (sea_army[:, None] == sea_army[None, :]) & (sea_army[:, None] >= 0) & sea_adj
    start = (sea_army >= 0) & fleet_prov_adj[sea_province, jnp.clip(sea_army, 0)]
    army_dest = _gather(dest, sea_army, -1)
    end = (sea_army >= 0) & jnp.take_along_axis(
        fleet_prov_adj[sea_province], jnp.clip(army_dest, 0)[:, None], axis=1
    )[:, 0]
    army_onehot = (sea_army[:, None] == idx[None, :]) & end[:, None]  # [S, N]
    num_seas = sea_province.shape[0]

    def paths(usable_sea: jax.Array) -> jax.Array:
        """Armies bool [N, C] with a convoy path over the usable seas [S, C] of each channel."""

        # Reached seas only grow, so the search stops at the first step that adds none (the
        # same result as `num_seas` steps; without convoys it stops after one step).
        def cond(carry):
            _, changed, i = carry
            return changed & (i < num_seas)

        def body(carry):
            reached, _, i = carry
            grow = jnp.any(same_army[:, :, None] & reached[None, :, :], axis=1)
            new = usable_sea & (start[:, None] | grow)
            return new, jnp.any(new != reached), i + 1

        reached0 = usable_sea & start[:, None]
        reached, _, _ = jax.lax.while_loop(cond, body, (reached0, jnp.ones((), bool), 0))
        return jnp.any(army_onehot[:, :, None] & reached[:, None, :], axis=0)

    # The decisions below are intervals stacked on a last axis of 2: [..., 0] the lower bound
    # (known True), [..., 1] the upper bound (not known False). A bound of a result pairs with
    # the same bound of increasing inputs and the other bound (`_flip`) of decreasing ones.
    col = (slice(None), None)  # [N] -> [N, 1], to broadcast per-unit facts over both bounds

    def sweep(d, p):
        """One sweep: d bool [N, 2] move success / unit stays, p bool [N, 2] convoy path."""
        s = (d & is_sup[col]).astype(jnp.int32)
        sums = _seg_sum(jnp.concatenate([s, s * sup_excl[col]], -1), sup_seg, n)
        sup, exc = sums[:, :2], sums[:, 2:]
        conv_sea = is_conv[sea_province][:, None] & d[sea_province]  # [S, 2]
        new_p = jnp.where(by_convoy[col], paths(conv_sea), True)
        p2 = _lo_hi(p[:, 0] | new_p[:, 0], p[:, 1] & new_p[:, 1])
        # Hold strength of each province (its unit), defend strength of a head-to-head partner.
        hold = jnp.where(is_move[col], (~_flip(d)).astype(jnp.int32), 1 + sup)
        hold = jnp.where(present[col], hold, 0)
        at_dest = _gather(jnp.concatenate([d.astype(jnp.int32), hold], -1), dest, 0)
        at_h2h = _gather(jnp.concatenate([1 + sup, d.astype(jnp.int32)], -1), h2h, 0)
        d_dest, hold_dest = at_dest[:, :2] > 0, at_dest[:, 2:]
        partner = at_h2h[:, 2:] > 0
        # Attack strength.
        om = moving_on[col] & d_dest
        full = 1 + sup
        excl = jnp.where(same_power_dest[col], 0, 1 + exc)
        mixed = _lo_hi(jnp.minimum(full[:, 0], excl[:, 0]), jnp.maximum(full[:, 1], excl[:, 1]))
        att = jnp.where(~occupied_dest[col] | om[:, :1], full, jnp.where(om[:, 1:], mixed, excl))
        att = jnp.where(p2, att, 0)
        opp = jnp.where(has_h2h[col], at_h2h[:, :2], hold_dest)
        # Prevent strength of each mover.
        prev = jnp.where(is_move[col] & p2 & ~_flip(partner), 1 + sup, 0)
        maxprev = _others_max(prev, move_seg, n)
        mv = p2 & (att > _flip(opp)) & (att > _flip(maxprev))
        # Units that stay: support given (not cut) and not dislodged.
        hit = _seg_any(jnp.concatenate([cutter[col] & p2, d], -1), move_seg, n)
        st = ~_flip(hit[:, :2]) & ~_flip(hit[:, 2:])
        new = jnp.where(is_move[col], mv, st) & present[col]
        return _lo_hi(d[:, 0] | new[:, 0], d[:, 1] & new[:, 1]), p2

    # Rings of moves for circular movement: i -> the moving unit in its destination.
    succ = jnp.where(moving_on & is_move, dest, -1)

    # Ring membership depends on the orders only: computed once per phase. `succ` is a function
    # graph on the provinces (-1 a sink), so after any m >= n steps every path that has not
    # fallen into a sink lies on a cycle, and every cycle node is reached so: the ring nodes are
    # the images of succ^m. Pointer doubling gets m = 2^k >= n in k = ceil(log2 n) squarings,
    # carrying the smallest province met (the ring's name, for nodes on a ring the smallest
    # member). The same sets as following `succ` n times, one step at a time. Each squaring is
    # materialised (a barrier): fused, XLA re-evaluates the chain of gathers per element.
    jump = succ
    ring_id = jnp.where(succ >= 0, jnp.minimum(idx, succ), idx)
    for _ in range(max(1, (n - 1).bit_length())):
        next_id, next_jump = _gather_all((ring_id, jump), jump, (n, -1))
        ring_id = jnp.where(jump >= 0, jnp.minimum(ring_id, next_id), ring_id)
        jump = next_jump
        ring_id, jump = jax.lax.optimization_barrier((ring_id, jump))
    on_ring = _seg_any(jump >= 0, jump, n)
    ring_seg = jnp.where(on_ring, ring_id, -1)

    def on_ring_of(start_ok):
        # A ring is accepted when every one of its units is `start_ok`.
        bad = _seg_any(~start_ok, ring_seg, n)
        return on_ring & ~_gather(bad, ring_seg, True)

    def backup(d, p):
        d_lo, d_hi = d[:, 0], d[:, 1]
        undecided = d_lo != d_hi
        ring_ok = undecided & is_move & (~by_convoy | p[:, 0])
        circular = on_ring_of(ring_ok)
        any_circ = jnp.any(circular)
        paradox = undecided & is_conv
        any_par = jnp.any(paradox)
        rest = undecided & ~any_circ & ~any_par
        d_lo = jnp.where(any_circ, d_lo | circular, d_lo)
        d_hi = jnp.where(any_circ, d_hi, jnp.where(any_par, d_hi & ~paradox, d_hi & ~rest))
        stuck = ~any_circ & ~any_par & jnp.any(undecided)
        return _lo_hi(d_lo, d_hi), stuck

    def decided(x):
        return jnp.all(x[:, 0] == x[:, 1])

    d0 = _lo_hi(jnp.zeros(n, bool), present)
    p0 = _lo_hi(~by_convoy, jnp.ones(n, bool))
    max_iter = 4 * n + 2

    def cond(carry):
        d, p, _, it = carry
        return ~(decided(d) & decided(p)) & (it < max_iter)

    def body(carry):
        d, p, flag, it = carry
        new_d, new_p = sweep(d, p)
        changed = jnp.any(new_d != d) | jnp.any(new_p != p)
        b_d, stuck = backup(new_d, new_p)
        return (
            jnp.where(changed, new_d, b_d),
            new_p,
            flag | (~changed & stuck),
            it + 1,
        )

    d, p, flag, iters = jax.lax.while_loop(
        cond, body, (d0, p0, jnp.zeros((), bool), jnp.zeros((), jnp.int32))
    )
    # Paths still undecided (a convoy decided only by now): one more sweep settles them.
    success = d[:, 0]
    _, p = sweep(_lo_hi(success, success), p)
    flag = flag | ~decided(d) | ~decided(p)
    path = p[:, 0]
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
