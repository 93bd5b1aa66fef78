"""DATC (Diplomacy Adjudicator Test Cases, L. B. Kruijswijk) sections 6.A-6.J, as data.

Each file tests/games/realpolitik/datc/6X.txt holds the cases of one section in a small text format:

    === 6.A.1 Moving to an area that is not a neighbour
    phase S1901M                   optional (default S1901M)
    center GERMANY BER KIE MUN     optional centre ownership
    unit RUSSIA F STP/NC           a unit that gets no order (or whose owner gives none)
    ENGLAND F NTH - PIC = void     an order (its unit is placed for that power) and its result
    GERMANY F LON - NTH = void !   "!": order only; the unit was placed by a `unit` line
    next                           adjudicate; the following orders are for the next phase
    units GERMANY A BER, F KIE     expected units of a power after the last phase

Results are those of `detente.games.realpolitik.RESULTS`; where the DATC offers options, the cases
follow its preferred one (docs/realpolitik.md).
"""

import os

import pytest

from detente.games.realpolitik import adjudicate, format_order, load_map, parse_order

_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "datc")


def _cases():
    out = []
    for name in sorted(os.listdir(_DIR)):
        with open(os.path.join(_DIR, name), encoding="utf-8") as f:
            case = None
            for raw in f:
                line = raw.split("#", 1)[0].strip()
                if not line:
                    continue
                if line.startswith("==="):
                    case = {"id": line[3:].strip(), "lines": []}
                    out.append(case)
                else:
                    case["lines"].append(line)
    return out


_CASES = _cases()


def parse_case(lines, m):
    """(start position, stages of (power, order, expected result or None), expected units)."""
    phase = "S1901M"
    units = {pw: [] for pw in m.powers}
    centers = {pw: [] for pw in m.powers}
    stages = [[]]
    expect_units = {}
    for line in lines:
        word, _, rest = line.partition(" ")
        if word == "phase":
            phase = rest
        elif word == "center":
            pw, *cs = rest.split()
            centers[pw] = sorted(cs)
        elif word == "unit":
            pw, unit = rest.split(" ", 1)
            units[pw].append(unit)
        elif word == "next":
            stages.append([])
        elif word == "units":
            pw, _, lst = rest.partition(" ")
            expect_units[pw] = sorted(u.strip() for u in lst.split(",") if u.strip())
        else:
            order, _, result = line.partition("=")
            result = result.strip()
            only = result.endswith("!")
            result = result.rstrip("!").strip()
            pw, order = word, rest if not order else order.partition(" ")[2].strip()
            order = order.strip()
            if len(stages) == 1 and not only and phase.endswith("M"):
                w = order.split()
                units[pw].append(f"{w[0]} {w[1]}")
            elif len(stages) == 1 and not only and phase.endswith("A") and order.endswith(" D"):
                units[pw].append(order[:-2])
            stages[-1].append((pw, order, result or None))
    pos = {
        "phase": phase,
        "units": {pw: sorted(us) for pw, us in units.items()},
        "centers": centers,
        "dislodged": {pw: {} for pw in m.powers},
    }
    return pos, stages, expect_units


def _run(lines):
    m = load_map("classic")
    pos, stages, expect_units = parse_case(lines, m)
    for stage in stages:
        orders = {}
        for pw, order, _ in stage:
            orders.setdefault(pw, []).append(order)
        pos, results = adjudicate(m, pos, orders)
        for pw, order, expected in stage:
            if expected is None:
                continue
            canon = format_order(parse_order(order))
            assert results[pw].get(canon) == expected, (order, results[pw])
    for pw, us in expect_units.items():
        assert pos["units"][pw] == us, (pw, pos["units"][pw])
    return pos


@pytest.mark.parametrize("case", _CASES, ids=[c["id"].split()[0] for c in _CASES])
def test_datc(case):
    _run(case["lines"])


def test_datc_sections_present():
    sections = {c["id"].split()[0].rsplit(".", 1)[0] for c in _CASES}
    assert sections == {f"6.{s}" for s in "ABCDEFGHIJ"}
    assert len(_CASES) >= 120
