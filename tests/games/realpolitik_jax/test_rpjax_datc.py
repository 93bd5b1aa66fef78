"""DATC cases (tests/games/realpolitik/datc/6A-6J.txt) through the JAX adjudicator.

A case is representable in the JAX engine's action encoding when every order of every stage is a
legal order (`legal_orders`) of its unit, at most one per unit, and giving the orders in slot order
with the slots left empty filled by the default order (hold, disband, waive, no disband) does not
change the reference result. Void orders such as moves to non-adjacent provinces or orders for
units of another power cannot be expressed as legal actions, so those cases are skipped. For a
representable case, the JAX engine's position after every stage must equal the reference
engine's (which passes all 157 cases), and the expected units of the case must hold.
"""

from __future__ import annotations

import importlib.util
import os

import jax
import numpy as np

from detente.games.realpolitik import adjudicate, format_order, legal_orders, parse_order
from detente.games.realpolitik.actions import order_tables
from detente.games.realpolitik_jax._check import shared_engine

_HERE = os.path.dirname(os.path.abspath(__file__))
_DATC_TEST = os.path.join(_HERE, "..", "realpolitik", "test_realpolitik_datc.py")
_BATCH = 20  # the batch the equivalence tests compile for, so the classic step compiles once


def _datc_module():
    spec = importlib.util.spec_from_file_location("_rp_datc", _DATC_TEST)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _stages(datc, lines, m):
    """The case's start position, its stages of (power, canonical order), the expected units."""
    pos, stages, expect = datc.parse_case(lines, m)
    stages = [[(pw, format_order(parse_order(order))) for pw, order, _ in st] for st in stages]
    return {**pos, "contested": []}, stages, expect


def _actions(engine, tables, state, pos, stage):
    """Slot actions [P, K] of a stage, or None when it is not representable."""
    m = engine.board.map
    slots = np.asarray(state.slot_location)
    acts = np.zeros(slots.shape, np.int32)
    given: dict[tuple[int, int], int] = {}
    for pw, text in stage:
        p = m.power_index[pw]
        legal = legal_orders(m, pos, pw)
        where = [name for name, opts in legal.items() if text in opts]
        if len(where) != 1 and text != "WAIVE":
            return None
        if text == "WAIVE":
            free = [k for k in range(slots.shape[1]) if slots[p, k] >= 0 and (p, k) not in given]
            if not free:
                return None
            k = free[0]
        else:
            loc = m.loc_index[where[0]]
            ks = np.flatnonzero(slots[p] == loc)
            if len(ks) != 1 or (p, int(ks[0])) in given:
                return None
            k = int(ks[0])
        given[(p, k)] = tables.index[slots[p, k]][text]
    kind = pos["phase"][-1]
    for p in range(slots.shape[0]):
        for k in range(slots.shape[1]):
            loc = slots[p, k]
            if loc < 0:
                continue
            if (p, k) in given:
                acts[p, k] = given[(p, k)]
                continue
            options = legal_orders(m, pos, m.powers[p])[m.locations[loc]]
            default = {"M": " H", "R": " D"}.get(kind)
            if default is not None:
                unit = next(o for o in options if o.endswith(default))
                acts[p, k] = tables.index[loc][unit]
            elif "WAIVE" in options:
                acts[p, k] = tables.index[loc]["WAIVE"]
            else:
                acts[p, k] = 0  # no disband: civil disorder decides
    return acts


def _orders_of(engine, tables, state, acts):
    m = engine.board.map
    slots = np.asarray(state.slot_location)
    out = {}
    for p in range(slots.shape[0]):
        for k in range(slots.shape[1]):
            if slots[p, k] >= 0 and acts[p, k]:
                out.setdefault(m.powers[p], []).append(tables.orders[slots[p, k]][acts[p, k]])
    return out


def run_datc_through_jax():
    """Returns (cases, representable ids, passed ids, flagged ids, failures)."""
    mod = _datc_module()
    engine, step, _ = shared_engine("classic")
    m = engine.board.map
    tables = order_tables(m)
    cases = mod._cases()
    represented, passed, flagged, failures = [], [], [], []
    key = jax.random.split(jax.random.key(0), _BATCH)
    for case in cases:
        cid = case["id"].split()[0]
        pos, stages, expect = _stages(mod, case["lines"], m)
        ok, representable, unsupported = True, True, False
        for stage in stages:
            state = engine.from_position(pos, check_end=False)
            acts = _actions(engine, tables, state, pos, stage)
            if acts is None:
                representable = False
                break
            orders = {}
            for pw, text in stage:
                orders.setdefault(pw, []).append(text)
            ref_pos, _ = adjudicate(m, pos, orders)
            padded_pos, _ = adjudicate(m, pos, _orders_of(engine, tables, state, acts))
            if padded_pos != ref_pos:
                representable = False
                break
            batch = jax.tree.map(lambda x: np.repeat(np.asarray(x)[None], _BATCH, 0), state)
            out = step(batch, np.repeat(acts[None], _BATCH, 0), key)
            one = jax.tree.map(lambda x: x[0], out)
            unsupported |= bool(one.unsupported) or bool(one.illegal.any())
            if engine.to_position(one) != ref_pos:
                ok = False
                failures.append((cid, pos, stage, ref_pos, engine.to_position(one)))
                break
            pos = ref_pos
        if not representable:
            continue
        represented.append(cid)
        for pw, us in expect.items():
            ok &= pos["units"][pw] == us
        if unsupported:
            flagged.append(cid)
        elif ok:
            passed.append(cid)
    return cases, represented, passed, flagged, failures


def test_datc_through_jax():
    cases, represented, passed, flagged, failures = run_datc_through_jax()
    assert not failures, failures[:2]
    assert len(represented) >= 60, len(represented)
    assert sorted(passed + flagged) == sorted(represented)
