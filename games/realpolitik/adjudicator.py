"""Movement-phase resolution: the decisions of the DATC, resolved by guess-and-check.

The orders arrive already validated and matched (see `detente.games.realpolitik.engine`): every unit
has exactly one of hold, move, support or convoy, void orders have become holds, supports and
convoys point at the unit they help and are only kept when that unit was ordered accordingly.

The resolution follows L. B. Kruijswijk, "The Math of Adjudication" (DATC companion article): each
order is one binary decision (a move succeeds; a support is given; a hold or convoy keeps its unit
in place), computed from the attack, hold, defend and prevent strengths. A decision that depends on
itself is resolved by trying both guesses; when a cycle has one consistent resolution it is taken,
otherwise the backup rule decides: a cycle holding a convoy is a convoy paradox, settled by the
Szykman rule (the convoys in the cycle fail, so the convoyed armies stay and cut nothing), and any
other cycle is circular movement (all its moves succeed).
"""

from __future__ import annotations

__all__ = ["HOLD", "MOVE", "SUPPORT", "CONVOY", "MovementOrders", "MovementOutcome", "resolve"]

HOLD, MOVE, SUPPORT, CONVOY = 0, 1, 2, 3
_UNRESOLVED, _GUESSING, _RESOLVED = 0, 1, 2


class MovementOrders:
    """Matched orders of one movement phase, as parallel per-unit lists (unit i = order i).

    Attributes:
      power: power index of each unit.
      prov: province index of each unit.
      kind: HOLD, MOVE, SUPPORT or CONVOY.
      dest: destination province of a move, else -1.
      by_convoy: whether a move goes by convoy.
      supports: per unit, the units giving it a valid support (hold or move as ordered).
      sup_dest: for a support to move, the province it is directed at, else -1.
      convoyers: per army moving by convoy, the fleets validly convoying it.
      fleet_prov_adj: per province, the provinces a fleet can cross to (convoy routes).
      unit_in: province -> unit index standing there.
    """

    __slots__ = (
        "power",
        "prov",
        "kind",
        "dest",
        "by_convoy",
        "supports",
        "sup_dest",
        "convoyers",
        "fleet_prov_adj",
        "unit_in",
    )

    def __init__(self, power, prov, kind, dest, by_convoy, supports, sup_dest, convoyers, fpa):
        self.power = power
        self.prov = prov
        self.kind = kind
        self.dest = dest
        self.by_convoy = by_convoy
        self.supports = supports
        self.sup_dest = sup_dest
        self.convoyers = convoyers
        self.fleet_prov_adj = fpa
        self.unit_in = {p: i for i, p in enumerate(prov)}


class MovementOutcome:
    """What happened: per-unit decisions and the consequences.

    Attributes:
      success: per unit, the resolved decision (move succeeded / support given / unit held).
      no_path: per unit, a move by convoy that found no convoy route.
      dislodged_by: per unit, the unit index that dislodged it, else -1.
      support_cut: per unit, a support that was cut (not given) without its unit being dislodged.
      contested: provinces left empty by a standoff (no retreat may go there).
    """

    __slots__ = ("success", "no_path", "dislodged_by", "support_cut", "contested")

    def __init__(self, success, no_path, dislodged_by, support_cut, contested):
        self.success = success
        self.no_path = no_path
        self.dislodged_by = dislodged_by
        self.support_cut = support_cut
        self.contested = contested


class _Resolver:
    def __init__(self, o: MovementOrders):
        n = len(o.kind)
        self.o = o
        self.state = [_UNRESOLVED] * n
        self.res = [False] * n
        self.deps: list[int] = []
        self.moves_to: dict[int, list[int]] = {}
        for i in range(n):
            if o.kind[i] == MOVE:
                self.moves_to.setdefault(o.dest[i], []).append(i)
        # Head-to-head partner: two units moving into each other's province, neither by convoy.
        self.h2h = [-1] * n
        for i in range(n):
            if o.kind[i] == MOVE and not o.by_convoy[i]:
                j = o.unit_in.get(o.dest[i], -1)
                if j >= 0 and o.kind[j] == MOVE and not o.by_convoy[j] and o.dest[j] == o.prov[i]:
                    self.h2h[i] = j

    # --- guess-and-check core -------------------------------------------------------------
    def resolve(self, i: int) -> bool:
        state = self.state[i]
        if state == _RESOLVED:
            return self.res[i]
        deps = self.deps
        if state == _GUESSING:
            # Always record the dependency, even when `i` is listed already: the caller's result
            # rests on a guess and must not be taken as final (Pandin's paradox, DATC 6.F.16).
            deps.append(i)
            return self.res[i]
        old = len(deps)
        self.res[i] = False
        self.state[i] = _GUESSING
        first = self._adjudicate(i)
        if len(deps) == old:
            if self.state[i] != _RESOLVED:
                self.res[i] = first
                self.state[i] = _RESOLVED
            return first
        if deps[old] != i:
            deps.append(i)
            self.res[i] = first
            return first
        for j in deps[old:]:
            self.state[j] = _UNRESOLVED
        del deps[old:]
        self.res[i] = True
        self.state[i] = _GUESSING
        second = self._adjudicate(i)
        if first == second:
            for j in deps[old:]:
                self.state[j] = _UNRESOLVED
            del deps[old:]
            self.res[i] = first
            self.state[i] = _RESOLVED
            return first
        self._backup_rule(old)
        return self.resolve(i)

    def _backup_rule(self, old: int) -> None:
        cycle = self.deps[old:]
        kind = self.o.kind
        paradox = any(kind[j] == CONVOY for j in cycle)
        for j in cycle:
            if paradox and kind[j] == CONVOY:
                # Szykman rule: the convoy is treated as failing; the army stays and cuts nothing.
                self.res[j] = False
                self.state[j] = _RESOLVED
            elif not paradox and kind[j] == MOVE:
                # Circular movement: every move in the ring succeeds.
                self.res[j] = True
                self.state[j] = _RESOLVED
            else:
                self.state[j] = _UNRESOLVED
        del self.deps[old:]

    # --- decisions ---------------------------------------------------------------------------
    def _adjudicate(self, i: int) -> bool:
        o = self.o
        k = o.kind[i]
        if k == MOVE:
            if o.by_convoy[i] and not self.path(i):
                return False
            att = self.attack_strength(i)
            d = o.dest[i]
            j = self.h2h[i]
            if j >= 0:
                if att <= self.defend_strength(j):
                    return False
            elif att <= self.hold_strength(d):
                return False
            for j in self.moves_to[d]:
                if j != i and att <= self.prevent_strength(j):
                    return False
            return True
        p = o.prov[i]
        attackers = self.moves_to.get(p, ())
        if k == SUPPORT:
            me = o.power[i]
            exempt = o.sup_dest[i]
            for j in attackers:
                if o.power[j] == me or o.prov[j] == exempt:
                    continue
                if o.by_convoy[j] and not self.path(j):
                    continue
                return False
        for j in attackers:
            if self.resolve(j):
                return False
        return True

    def path(self, i: int) -> bool:
        """Whether army i, moving by convoy, has a route of fleets whose convoys hold."""
        o = self.o
        fleets = {o.prov[f]: f for f in o.convoyers[i]}
        if not fleets:
            return False
        fpa = o.fleet_prov_adj
        dst = o.dest[i]
        frontier = [p for p in fpa[o.prov[i]] if p in fleets]
        seen = set(frontier)
        while frontier:
            p = frontier.pop()
            if not self.resolve(fleets[p]):
                continue
            if dst in fpa[p]:
                return True
            for q in fpa[p]:
                if q in fleets and q not in seen:
                    seen.add(q)
                    frontier.append(q)
        return False

    def _support_count(self, i: int, exclude_power: int = -1) -> int:
        o = self.o
        n = 0
        for s in o.supports[i]:
            if o.power[s] != exclude_power and self.resolve(s):
                n += 1
        return n

    def attack_strength(self, i: int) -> int:
        o = self.o
        if o.by_convoy[i] and not self.path(i):
            return 0
        occ = o.unit_in.get(o.dest[i], -1)
        if occ < 0 or (o.kind[occ] == MOVE and self.h2h[i] != occ and self.resolve(occ)):
            return 1 + self._support_count(i)
        if o.power[occ] == o.power[i]:
            return 0  # a power never dislodges its own unit
        return 1 + self._support_count(i, o.power[occ])

    def hold_strength(self, p: int) -> int:
        occ = self.o.unit_in.get(p, -1)
        if occ < 0:
            return 0
        if self.o.kind[occ] == MOVE:
            return 0 if self.resolve(occ) else 1
        return 1 + self._support_count(occ)

    def defend_strength(self, j: int) -> int:
        return 1 + self._support_count(j)

    def prevent_strength(self, j: int) -> int:
        if self.o.by_convoy[j] and not self.path(j):
            return 0
        h = self.h2h[j]
        if h >= 0 and self.resolve(h):
            return 0
        return 1 + self._support_count(j)


def resolve(orders: MovementOrders) -> MovementOutcome:
    """Resolves one movement phase.

    Args:
      orders: the matched orders of every unit on the board.

    Returns:
      The `MovementOutcome`: decisions, dislodgements, cut supports and standoff provinces.
    """
    r = _Resolver(orders)
    n = len(orders.kind)
    for i in range(n):
        r.resolve(i)
    success = list(r.res)
    kind = orders.kind
    no_path = [kind[i] == MOVE and orders.by_convoy[i] and not r.path(i) for i in range(n)]
    dislodged_by = [-1] * n
    for i in range(n):
        if kind[i] == MOVE and success[i]:
            continue
        for j in r.moves_to.get(orders.prov[i], ()):
            if success[j]:
                dislodged_by[i] = j
                break
    support_cut = [kind[i] == SUPPORT and not success[i] and dislodged_by[i] < 0 for i in range(n)]
    occupied = {
        orders.dest[i] if kind[i] == MOVE and success[i] else orders.prov[i] for i in range(n)
    }
    # Units dislodged leave their province (the attacker is there now), so occupancy is complete.
    # A standoff needs a failed move that still had prevent strength: not one whose convoy failed
    # nor one that lost a head-to-head battle (DATC 6.H.9).
    contested = sorted(
        p
        for p, movers in r.moves_to.items()
        if p not in occupied and any(not success[j] and r.prevent_strength(j) > 0 for j in movers)
    )
    return MovementOutcome(success, no_path, dislodged_by, support_cut, contested)
