"""Pictures and text summaries of realpolitik positions, orders and replays.

`render_svg` writes a position (and optionally its orders and their results) as hand-written SVG
text with no dependency; `render_png` draws the same picture with matplotlib (Agg, imported only
when called); `render_text` gives a plain-text summary. All three draw one *scene* (a list of
circles, paths and texts in pixel coordinates) built by `_scene`, so the SVG and the PNG show the
same thing. The output is a pure function of the input: the same map, position and orders give a
byte-identical SVG.

Provinces are drawn at the map file's `xy` coordinates (x east, y south, so north is up; see
docs/map_format.md); a board without coordinates is laid out on a circle. Split coasts (STP/NC) get
a marker offset from the province centre towards the seas that coast touches. A replay
(`realpolitik-replay/1`, docs/rendering.md) is a map name plus a list of phases, each a position
and optionally the orders given in it; `make_random_replay` plays one at random and
`render_replay` draws every phase.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from detente.games.realpolitik.engine import (
    Position,
    adjudicate,
    adjustment_counts,
    initial_position,
    legal_orders,
    phase_parts,
    validate_position,
)
from detente.games.realpolitik.maps import Map, load_map
from detente.games.realpolitik.notation import Order, format_order, parse_order

__all__ = [
    "REPLAY_FORMAT",
    "make_random_replay",
    "power_colors",
    "render_png",
    "render_replay",
    "render_svg",
    "render_text",
    "validate_replay",
]

REPLAY_FORMAT = "realpolitik-replay/1"

# Conventional colours of the classic powers; other boards take `_PALETTE` in power order.
_CLASSIC_COLORS = {
    "AUSTRIA": "#c0392b",
    "ENGLAND": "#1f3a93",
    "FRANCE": "#3d9be0",
    "GERMANY": "#505050",
    "ITALY": "#27ae60",
    "RUSSIA": "#8e44ad",
    "TURKEY": "#e0b000",
}
_PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
)
_LAND, _LAND_EDGE = "#ece2c6", "#b3a47c"
_SEA, _SEA_EDGE = "#d6e8f5", "#9fc3e0"
_COAST_EDGE = "#6f9fc8"
_ADJ_ARMY, _ADJ_FLEET = "#b5b0a0", "#a7c7e4"
_FAIL = "#d00000"
_BUILD = "#1a9850"
_FONT = "DejaVu Sans, Verdana, Arial, sans-serif"

# Geometry in pixels.
_SPACING = 72.0  # median distance between a province and its nearest neighbour
_MAX_SPACING = 150.0  # small boards are spread out to at least _MIN_MAP, up to this spacing
_MIN_MAP = 480.0
_MARGIN = 42.0
_TITLE_H = 40.0
_LEGEND_W = 250.0
_R_LAND, _R_SEA = 15.0, 18.0
_R_UNIT = 9.5
_COAST_OFFSET = 21.0
_DISLODGED = (-15.0, -13.0)
_HEAD_LEN, _HEAD_W = 11.0, 5.5

_SEASONS = {"S": "Spring", "F": "Fall", "W": "Winter"}
_KINDS = {"M": "movement", "R": "retreats", "A": "adjustments"}


# ---------------------------------------------------------------------------------------------
# Scene: the drawing as data, shared by the SVG and PNG back ends.


class _Circle(NamedTuple):
    x: float
    y: float
    r: float
    fill: str
    stroke: str
    width: float
    dash: tuple[float, ...] = ()
    opacity: float = 1.0
    cls: str = ""
    title: str = ""


class _Path(NamedTuple):
    points: tuple[tuple[float, float], ...]
    stroke: str
    width: float
    dash: tuple[float, ...] = ()
    opacity: float = 1.0
    fill: str = "none"  # a filled path is closed (a polygon)
    cls: str = ""
    title: str = ""


class _Text(NamedTuple):
    x: float
    y: float
    text: str
    size: float
    fill: str = "#222222"
    anchor: str = "middle"  # start / middle / end
    bold: bool = False
    italic: bool = False
    cls: str = ""
    halo: bool = False  # a white outline, so the text reads over lines


_Shape = _Circle | _Path | _Text


class _Scene(NamedTuple):
    width: float
    height: float
    title: str
    shapes: tuple[_Shape, ...]


class _Layout(NamedTuple):
    loc_xy: dict[str, tuple[float, float]]  # every location (provinces and coasts), in pixels
    map_width: float
    map_height: float


def _as_map(m: Map | str) -> Map:
    if isinstance(m, Map):
        return m
    if isinstance(m, (str, os.PathLike)):
        return load_map(m)
    raise ValueError(f"expected a Map or a map name/path, got {type(m).__name__}")


def power_colors(m: Map) -> dict[str, str]:
    """The colour (`#rrggbb`) each power of `m` is drawn in.

    The classic powers keep their conventional colours; powers of other boards take a fixed
    palette in the order the map file lists them, so colours never depend on the position.
    """
    out: dict[str, str] = {}
    spare = [c for c in _PALETTE if c not in _CLASSIC_COLORS.values()]
    for i, pw in enumerate(m.powers):
        out[pw] = _CLASSIC_COLORS.get(pw) or spare[i % len(spare)]
    return out


def _layout(m: Map) -> _Layout:
    """Pixel coordinates of every location, scaled so neighbouring provinces sit _SPACING apart."""
    coords = m.coordinates
    if coords:
        missing = [p for p in m.provinces if p not in coords]
        if missing:
            raise ValueError(
                f"map {m.name!r} gives 'xy' for some provinces but not for {missing[:8]}: give "
                "every province coordinates, or none (a circle layout is used then)"
            )
        raw = {p: coords[p] for p in m.provinces}
    else:
        n = m.num_provinces
        raw = {
            p: (
                math.cos(2 * math.pi * i / n - math.pi / 2),
                math.sin(2 * math.pi * i / n - math.pi / 2),
            )
            for i, p in enumerate(m.provinces)
        }
    pts = np.array([raw[p] for p in m.provinces], dtype=np.float64)
    if len(pts) > 1:
        dist = np.sqrt(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(-1))
        np.fill_diagonal(dist, np.inf)
        nearest = float(np.median(dist.min(axis=1)))
    else:
        nearest = 1.0
    if nearest <= 0:
        raise ValueError(f"map {m.name!r}: provinces share the same 'xy'")
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = float(max(hi[0] - lo[0], hi[1] - lo[1], nearest))
    scale = _SPACING / nearest
    if span * scale < _MIN_MAP:
        scale = min(_MIN_MAP / span, _MAX_SPACING / nearest)
    loc_xy: dict[str, tuple[float, float]] = {}
    for p in m.provinces:
        x, y = raw[p]
        loc_xy[p] = (
            round(_MARGIN + (x - lo[0]) * scale, 2),
            round(_TITLE_H + _MARGIN + (y - lo[1]) * scale, 2),
        )
    for pi, p in enumerate(m.provinces):
        coasts = m.province_coasts[pi]
        if not coasts:
            continue
        cx, cy = loc_xy[p]
        angles = []
        for c in coasts:
            nbrs = [loc_xy[m.provinces[m.loc_province[q]]] for q in sorted(m.fleet_adj[c])]
            if nbrs:
                mx = sum(x for x, _ in nbrs) / len(nbrs) - cx
                my = sum(y for _, y in nbrs) / len(nbrs) - cy
            else:
                mx, my = 0.0, -1.0
            angles.append(math.atan2(my, mx) if (mx or my) else -math.pi / 2)
        if len(angles) == 2:  # push two coasts at least 100 degrees apart so markers do not touch
            a, b = angles
            gap = math.remainder(b - a, 2 * math.pi)
            if abs(gap) < math.radians(100):
                mid = a + gap / 2
                half = math.copysign(math.radians(50), gap if gap else 1.0)
                angles = [mid - half, mid + half]
        for c, ang in zip(coasts, angles, strict=True):
            loc_xy[m.locations[c]] = (
                round(cx + _COAST_OFFSET * math.cos(ang), 2),
                round(cy + _COAST_OFFSET * math.sin(ang), 2),
            )
    width = float(hi[0] - lo[0]) * scale + 2 * _MARGIN
    height = float(hi[1] - lo[1]) * scale + 2 * _MARGIN
    return _Layout(loc_xy, width, height)


def _mix(color: str, other: str, t: float) -> str:
    """`color` blended with `other`: t=1 gives `color`."""
    a = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(other[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(t * x + (1 - t) * y):02x}" for x, y in zip(a, b, strict=True))


def _ink(color: str) -> str:
    """Black or white, whichever reads better on `color`."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return "#111111" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#ffffff"


def _unit_glyph(
    shapes: list[_Shape],
    fleet: bool,
    x: float,
    y: float,
    color: str,
    title: str,
    cls: str,
    opacity: float = 1.0,
    stroke: str = "#222222",
    scale: float = 1.0,
) -> None:
    r = _R_UNIT * scale
    if fleet:  # a fleet is a square, an army a disc; each carries its letter
        pts = ((x - r, y - r), (x + r, y - r), (x + r, y + r), (x - r, y + r))
        shapes.append(_Path(pts, stroke, 1.3, (), opacity, color, cls, title))
    else:
        shapes.append(_Circle(x, y, r, color, stroke, 1.3, (), opacity, cls, title))
    shapes.append(
        _Text(x, y, "F" if fleet else "A", 11.0 * scale, _ink(color), bold=True, cls="unit-label")
    )


def _shorten(
    a: tuple[float, float], b: tuple[float, float], start: float, end: float
) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float]] | None:
    """The segment a->b trimmed by `start` and `end` pixels, with its unit direction."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = math.hypot(dx, dy)
    if length < 1e-6:
        return None
    ux, uy = dx / length, dy / length
    if start + end > length - 4:
        f = max(length - 4, 0.0) / (start + end)
        start, end = start * f, end * f
    return (a[0] + ux * start, a[1] + uy * start), (b[0] - ux * end, b[1] - uy * end), (ux, uy)


def _r2(p: tuple[float, float]) -> tuple[float, float]:
    return (round(p[0], 2), round(p[1], 2))


def _arrow(
    shapes: list[_Shape],
    a: tuple[float, float],
    b: tuple[float, float],
    color: str,
    *,
    cls: str,
    title: str,
    failed: bool,
    dash: tuple[float, ...] = (),
    width: float = 2.6,
    halo: str | None = "#ffffff",
    head: bool = True,
    start: float = _R_UNIT + 2,
    end: float = _R_UNIT + 3,
    side: float = 0.0,
) -> None:
    """An arrow a->b; `side` shifts it to its right so opposite moves do not overlap."""
    seg = _shorten(a, b, start, end)
    if seg is None:
        return
    (x1, y1), (x2, y2), (ux, uy) = seg
    nx, ny = -uy, ux
    x1, y1, x2, y2 = x1 + nx * side, y1 + ny * side, x2 + nx * side, y2 + ny * side
    opacity = 0.45 if failed else 1.0
    tail = (x2 - ux * _HEAD_LEN * 0.8, y2 - uy * _HEAD_LEN * 0.8) if head else (x2, y2)
    line = (_r2((x1, y1)), _r2(tail))
    if halo:
        shapes.append(_Path(line, halo, width + 2.4, (), 0.85 * opacity))
    shapes.append(_Path(line, color, width, dash, opacity, cls=cls, title=title))
    if head:
        bx, by = x2 - ux * _HEAD_LEN, y2 - uy * _HEAD_LEN
        tri = (
            _r2((x2, y2)),
            _r2((bx + nx * _HEAD_W, by + ny * _HEAD_W)),
            _r2((bx - nx * _HEAD_W, by - ny * _HEAD_W)),
        )
        shapes.append(_Path(tri, halo or color, 0.8, (), opacity, color))
    if failed:
        _cross(shapes, (x1 + x2) / 2, (y1 + y2) / 2, 4.5, 2.2)


def _cross(
    shapes: list[_Shape],
    x: float,
    y: float,
    s: float,
    width: float,
    cls: str = "fail",
    title: str = "",
) -> None:
    shapes.append(
        _Path(
            (_r2((x - s, y - s)), _r2((x + s, y + s))), _FAIL, width, (), 1.0, cls=cls, title=title
        )
    )
    shapes.append(_Path((_r2((x - s, y + s)), _r2((x + s, y - s))), _FAIL, width))


def _check_orders(
    m: Map,
    orders_by_power: Mapping[str, Iterable[str]] | None,
    results: Mapping[str, Mapping[str, str]] | None,
) -> list[tuple[str, str, Order, str | None]]:
    """(power, canonical text, order, result) for every order given or adjudicated, validated."""

    def check(pw: str, text: str, where: str) -> tuple[Order, str]:
        order = parse_order(text)
        for loc in (order.loc, order.target, order.aux_loc, order.aux_target):
            if loc and loc not in m.loc_index:
                raise ValueError(
                    f"{where}: order {text!r} of {pw} names unknown location {loc!r} on map "
                    f"{m.name!r}"
                )
        return order, format_order(order)

    out: dict[tuple[str, str], tuple[str, str, Order, str | None]] = {}
    for what, table in (("orders", orders_by_power), ("results", results)):
        if table is None:
            continue
        if not isinstance(table, Mapping):
            raise ValueError(f"{what} must map power -> orders, got {type(table).__name__}")
        for pw in table:
            if pw not in m.power_index:
                raise ValueError(f"{what} name unknown power {pw!r}; expected one of {m.powers}")
    for pw in m.powers:
        given = (orders_by_power or {}).get(pw, ())
        if isinstance(given, str):
            raise ValueError(f"orders of {pw} must be a list of order texts, got {given!r}")
        got = (results or {}).get(pw, {})
        for text in given:
            order, canon = check(pw, text, "orders")
            out.setdefault((pw, canon), (pw, canon, order, None))
        for text, res in got.items():
            order, canon = check(pw, text, "results")
            out[(pw, canon)] = (pw, canon, order, str(res))
    return list(out.values())


def _phase_title(m: Map, phase: str) -> str:
    season, year, kind = phase_parts(phase)
    return f"{m.name}: {_SEASONS[season]} {year} {_KINDS[kind]} ({phase})"


def _scene(
    m: Map,
    position: Mapping[str, Any],
    orders_by_power: Mapping[str, Iterable[str]] | None,
    results: Mapping[str, Mapping[str, str]] | None,
) -> _Scene:
    validate_position(m, position)
    orders = _check_orders(m, orders_by_power, results)
    layout = _layout(m)
    xy = layout.loc_xy
    colors = power_colors(m)
    _, _, kind = phase_parts(position["phase"])
    owner = {c: pw for pw, cs in position["centers"].items() for c in cs}
    shapes: list[_Shape] = []

    # Adjacency: one faint line per pair of neighbouring provinces (grey: armies can cross).
    for i, p in enumerate(m.provinces):
        for j in sorted(m.army_province_adj[i] | m.fleet_province_adj[i]):
            if j <= i:
                continue
            color = _ADJ_ARMY if j in m.army_province_adj[i] else _ADJ_FLEET
            shapes.append(_Path((xy[p], xy[m.provinces[j]]), color, 1.0, (), 0.7, cls="adjacency"))

    # Provinces: seas first, then land; owned centres tinted with their owner's colour.
    for sea_pass in (True, False):
        for i, p in enumerate(m.provinces):
            if m.is_sea[i] != sea_pass:
                continue
            x, y = xy[p]
            name = m.province_names[p]
            if m.is_sea[i]:
                shapes.append(_Circle(x, y, _R_SEA, _SEA, _SEA_EDGE, 1.2, (), 1.0, "sea", name))
                continue
            fill = _mix(colors[owner[p]], _LAND, 0.4) if p in owner else _LAND
            edge = _COAST_EDGE if m.is_coast[i] else _LAND_EDGE
            shapes.append(
                _Circle(x, y, _R_LAND, fill, edge, 1.6, (), 1.0, m.province_types[p], name)
            )
            for c in m.province_coasts[i]:
                cx, cy = xy[m.locations[c]]
                shapes.append(_Path((xy[p], (cx, cy)), _COAST_EDGE, 1.0, (2.0, 2.0)))
                shapes.append(
                    _Circle(cx, cy, 3.2, _SEA, _COAST_EDGE, 1.0, (), 1.0, "coast", m.locations[c])
                )
    # Supply centre markers, upper right of the disc.
    for i, p in enumerate(m.provinces):
        x, y = xy[p]
        if m.is_center[i]:
            who = owner.get(p)
            shapes.append(
                _Circle(
                    round(x + _R_LAND * 0.78, 2),
                    round(y - _R_LAND * 0.78, 2),
                    4.6,
                    colors[who] if who else "#ffffff",
                    "#222222",
                    1.2,
                    (),
                    1.0,
                    "center",
                    f"{p}: {who or 'unowned'}",
                )
            )

    # Units, then dislodged units offset up-left with a red ring.
    unit_xy: dict[tuple[str, int], tuple[float, float]] = {}  # (power, province) -> drawn at
    dislodged_xy: dict[tuple[str, int], tuple[float, float]] = {}
    for pw in m.powers:
        for u in sorted(position["units"].get(pw, ())):
            fleet, loc = u[0] == "F", u[2:]
            x, y = xy[loc] if fleet else xy[m.province_of(loc)]
            unit_xy[(pw, m.loc_province[m.loc_index[loc]])] = (x, y)
            _unit_glyph(shapes, fleet, x, y, colors[pw], f"{pw} {u}", "unit")
    for pw in m.powers:
        for u, origin in sorted(position["dislodged"].get(pw, {}).items()):
            fleet, loc = u[0] == "F", u[2:]
            bx, by = xy[loc] if fleet else xy[m.province_of(loc)]
            x, y = round(bx + _DISLODGED[0], 2), round(by + _DISLODGED[1], 2)
            dislodged_xy[(pw, m.loc_province[m.loc_index[loc]])] = (x, y)
            shapes.append(_Circle(x, y, _R_UNIT + 4, "#ffffff", _FAIL, 2.0, (), 0.9))
            attacker = f"from {origin}" if origin else "by convoy"
            _unit_glyph(
                shapes,
                fleet,
                x,
                y,
                colors[pw],
                f"{pw} {u} dislodged ({attacker})",
                "dislodged",
                scale=0.85,
            )

    # Orders.
    for pw, canon, order, res in orders:
        if order.kind == "WAIVE":
            continue
        color = colors[pw]
        failed = res is not None and res != "success"
        title = f"{pw}: {canon}" + (f" ({res})" if res else "")
        prov = m.loc_province[m.loc_index[order.loc]]
        here = xy[order.loc]
        if kind == "R" and (pw, prov) in dislodged_xy:
            here = dislodged_xy[(pw, prov)]
        elif (pw, prov) in unit_xy:
            here = unit_xy[(pw, prov)]
        if order.kind == "H":
            shapes.append(
                _Circle(
                    here[0],
                    here[1],
                    _R_UNIT + 4.5,
                    "none",
                    color,
                    2.4,
                    (),
                    0.45 if failed else 1.0,
                    "order hold",
                    title,
                )
            )
        elif order.kind == "-":
            _arrow(
                shapes,
                here,
                xy[order.target],
                color,
                cls="order move",
                title=title,
                failed=failed,
                side=3.0,
            )
        elif order.kind == "R":
            _arrow(
                shapes,
                here,
                xy[order.target],
                color,
                cls="order retreat",
                title=title,
                failed=failed,
                halo=_FAIL,
                side=3.0,
            )
        elif order.kind == "S":
            sup = xy[order.aux_loc]
            sprov = m.loc_province[m.loc_index[order.aux_loc]]
            for key in unit_xy:
                if key[1] == sprov:
                    sup = unit_xy[key]
            target = xy[order.aux_target] if order.aux_target else sup
            _arrow(
                shapes,
                here,
                target,
                color,
                cls="order support",
                title=title,
                failed=failed,
                dash=(6.0, 4.0),
                width=2.0,
                halo=None,
                head=False,
                end=_R_UNIT + 6 if order.aux_target else _R_UNIT + 3,
            )
            if order.aux_target:
                seg = _shorten(here, target, 0, _R_UNIT + 6)
                if seg is not None:
                    ex, ey = seg[1]
                    shapes.append(
                        _Circle(
                            round(ex, 2),
                            round(ey, 2),
                            3.0,
                            color,
                            color,
                            1.0,
                            (),
                            0.45 if failed else 1.0,
                        )
                    )
            else:
                shapes.append(
                    _Circle(
                        sup[0],
                        sup[1],
                        _R_UNIT + 4.5,
                        "none",
                        color,
                        2.0,
                        (4.0, 3.0),
                        0.45 if failed else 1.0,
                    )
                )
        elif order.kind == "C":
            army = xy[order.aux_loc]
            aprov = m.loc_province[m.loc_index[order.aux_loc]]
            for key in unit_xy:
                if key[1] == aprov:
                    army = unit_xy[key]
            _arrow(
                shapes,
                army,
                here,
                color,
                cls="order convoy",
                title=title,
                failed=failed,
                dash=(1.5, 3.5),
                width=2.4,
                halo=None,
                head=False,
                end=_R_UNIT + 2,
            )
            _arrow(
                shapes,
                here,
                xy[order.aux_target],
                color,
                cls="order convoy-leg",
                title=title,
                failed=False,
                dash=(1.5, 3.5),
                width=2.4,
                halo=None,
            )
        elif order.kind == "D":
            x, y = here
            _cross(shapes, x, y, _R_UNIT + 1.5, 3.2, "order disband", title)
        elif order.kind == "B":
            fleet = order.unit_type == "F"
            x, y = xy[order.loc] if fleet else xy[m.province_of(order.loc)]
            shapes.append(
                _Circle(
                    x,
                    y,
                    _R_UNIT + 5,
                    "none",
                    _BUILD,
                    2.6,
                    (),
                    0.45 if failed else 1.0,
                    "order build",
                    title,
                )
            )
            if not failed:
                _unit_glyph(shapes, fleet, x, y, color, title, "build", opacity=0.7, stroke=_BUILD)

    # Labels last (with a halo, so they read over arrows): names under the discs, coasts beyond
    # their markers.
    for i, p in enumerate(m.provinces):
        x, y = xy[p]
        r = _R_SEA if m.is_sea[i] else _R_LAND
        # Below the disc, unless a coast marker sits there: then above, right or left.
        spots = [
            (x, y + r + 7.5, "middle"),
            (x, y - r - 7.5, "middle"),
            (x + r + 3, y, "start"),
            (x - r - 3, y, "end"),
        ]
        marks = [xy[m.locations[c]] for c in m.province_coasts[i]]
        if marks:
            centres = [(sx + {"middle": 0, "start": 11, "end": -11}[a], sy) for sx, sy, a in spots]
            clear = [min(math.hypot(cx - mx, cy - my) for mx, my in marks) for cx, cy in centres]
            spots = [spots[clear.index(max(clear))]]
        lx, ly, anchor = spots[0]
        shapes.append(
            _Text(
                round(lx, 2),
                round(ly, 2),
                p,
                10.0,
                "#4a6f8f" if m.is_sea[i] else "#333333",
                anchor,
                bold=not m.is_sea[i],
                italic=m.is_sea[i],
                cls="label",
                halo=True,
            )
        )
        for c in m.province_coasts[i]:
            cx, cy = xy[m.locations[c]]
            dx, dy = cx - x, cy - y
            d = math.hypot(dx, dy) or 1.0
            shapes.append(
                _Text(
                    round(cx + dx / d * 15, 2),
                    round(cy + dy / d * 15, 2),
                    m.locations[c].split("/")[1].lower(),
                    8.5,
                    "#4a6f8f",
                    italic=True,
                    cls="coast-label",
                    halo=True,
                )
            )

    # Title and legend.
    title = _phase_title(m, position["phase"])
    shapes.append(
        _Text(_MARGIN, _TITLE_H / 2 + 8, title, 18.0, "#111111", "start", bold=True, cls="title")
    )
    lx = layout.map_width + 10
    ly = _TITLE_H + _MARGIN - 8
    shapes.append(
        _Text(
            lx,
            ly,
            f"Powers ({m.victory_centers} centres win)",
            13.0,
            "#111111",
            "start",
            bold=True,
            cls="legend",
        )
    )
    adjust = adjustment_counts(m, position) if kind == "A" else {}
    for pw in m.powers:
        ly += 34
        color = colors[pw]
        box = ((lx, ly - 7), (lx + 14, ly - 7), (lx + 14, ly + 7), (lx, ly + 7))
        shapes.append(_Path(box, "#222222", 1.0, (), 1.0, color, "legend-swatch", pw))
        shapes.append(
            _Text(
                lx + 22,
                ly - 5,
                m.power_names[pw],
                12.0,
                "#111111",
                "start",
                bold=True,
                cls="legend",
            )
        )
        n_c = len(position["centers"].get(pw, ()))
        n_u = len(position["units"].get(pw, ()))
        detail = f"{n_c} centre{'s' * (n_c != 1)}, {n_u} unit{'s' * (n_u != 1)}"
        n_d = len(position["dislodged"].get(pw, {}))
        if n_d:
            detail += f", {n_d} dislodged"
        if adjust.get(pw):
            n = adjust[pw]
            detail += f", {n:+d} " + ("build" if n > 0 else "disband") + "s" * (abs(n) != 1)
        shapes.append(_Text(lx + 22, ly + 9, detail, 10.5, "#333333", "start", cls="legend"))
    unowned = sorted(set(m.supply_centers) - set(owner))
    ly += 34
    shapes.append(
        _Text(lx, ly, f"{len(unowned)} unowned centres", 10.5, "#333333", "start", cls="legend")
    )
    if orders:
        ly += 30
        shapes.append(_Text(lx, ly, "Orders", 13.0, "#111111", "start", bold=True, cls="legend"))
        ink = "#444444"
        for label in ("move", "support", "convoy", "hold", "retreat", "build", "disband", "failed"):
            ly += 22
            a, b = (lx, ly), (lx + 42, ly)
            if label == "move":
                _arrow(shapes, a, b, ink, cls="", title="", failed=False, start=0, end=0)
            elif label == "support":
                _arrow(
                    shapes,
                    a,
                    b,
                    ink,
                    cls="",
                    title="",
                    failed=False,
                    dash=(6.0, 4.0),
                    width=2.0,
                    halo=None,
                    head=False,
                    start=0,
                    end=0,
                )
            elif label == "convoy":
                _arrow(
                    shapes,
                    a,
                    b,
                    ink,
                    cls="",
                    title="",
                    failed=False,
                    dash=(1.5, 3.5),
                    width=2.4,
                    halo=None,
                    start=0,
                    end=0,
                )
            elif label == "hold":
                shapes.append(_Circle(lx + 21, ly, 8.0, "none", ink, 2.4))
            elif label == "retreat":
                _arrow(
                    shapes, a, b, ink, cls="", title="", failed=False, halo=_FAIL, start=0, end=0
                )
            elif label == "build":
                shapes.append(_Circle(lx + 21, ly, 8.0, "none", _BUILD, 2.6))
            elif label == "disband":
                _cross(shapes, lx + 21, ly, 7.0, 3.0)
            else:
                _arrow(shapes, a, b, ink, cls="", title="", failed=True, start=0, end=0)
            shapes.append(_Text(lx + 54, ly, label, 11.0, "#333333", "start", cls="legend"))
    width = layout.map_width + _LEGEND_W
    height = max(_TITLE_H + layout.map_height, ly + _MARGIN)
    return _Scene(round(width), round(height), title, tuple(shapes))


# ---------------------------------------------------------------------------------------------
# Back ends.


def _num(v: float) -> str:
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _svg_style(stroke: str, width: float, dash: tuple[float, ...], opacity: float) -> str:
    out = f' stroke="{stroke}" stroke-width="{_num(width)}"'
    if dash:
        out += f' stroke-dasharray="{",".join(_num(d) for d in dash)}"'
    else:
        out += ' stroke-linecap="round" stroke-linejoin="round"'
    if opacity < 1:
        out += f' opacity="{_num(opacity)}"'
    return out


def _svg(scene: _Scene) -> str:
    w, h = _num(scene.width), _num(scene.height)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" font-family={quoteattr(_FONT)}>',
        f"<title>{escape(scene.title)}</title>",
        f'<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>',
    ]
    for s in scene.shapes:
        cls = f' class="{s.cls}"' if s.cls else ""
        if isinstance(s, _Text):
            style = ' font-weight="bold"' if s.bold else ""
            style += ' font-style="italic"' if s.italic else ""
            if s.halo:
                style += ' stroke="#ffffff" stroke-width="3" stroke-opacity="0.85"'
                style += ' stroke-linejoin="round" paint-order="stroke"'
            lines.append(
                f'<text{cls} x="{_num(s.x)}" y="{_num(s.y)}" font-size="{_num(s.size)}" '
                f'fill="{s.fill}" text-anchor="{s.anchor}" dominant-baseline="central"{style}>'
                f"{escape(s.text)}</text>"
            )
            continue
        title = f"<title>{escape(s.title)}</title>" if s.title else ""
        if isinstance(s, _Circle):
            head = (
                f'<circle{cls} cx="{_num(s.x)}" cy="{_num(s.y)}" r="{_num(s.r)}" fill="{s.fill}"'
                + _svg_style(s.stroke, s.width, s.dash, s.opacity)
            )
        else:
            pts = " ".join(f"{_num(x)},{_num(y)}" for x, y in s.points)
            tag = "polygon" if s.fill != "none" else "polyline"
            head = f'<{tag}{cls} points="{pts}" fill="{s.fill}"' + _svg_style(
                s.stroke, s.width, s.dash, s.opacity
            )
        lines.append(
            head + (f">{title}</{'circle' if isinstance(s, _Circle) else tag}>" if title else "/>")
        )
    lines.append("</svg>")
    return "\n".join(lines) + "\n"


def _png(scene: _Scene, path: str, dpi: float) -> None:
    try:
        from matplotlib import patheffects, rc_context
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
        from matplotlib.patches import Circle, Polygon
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "render_png needs matplotlib (pip install matplotlib); render_svg needs nothing"
        ) from e

    pt = 72.0 / 100.0  # one scene pixel in points (the figure is laid out at 100 dpi)

    def style(dash: tuple[float, ...]) -> Any:
        return (0, tuple(d * pt for d in dash)) if dash else "solid"

    def color(c: str) -> str:
        return "none" if c == "none" else c

    halo = [patheffects.withStroke(linewidth=3 * pt, foreground=(1.0, 1.0, 1.0, 0.85))]
    with rc_context({"lines.scale_dashes": False}):
        fig = Figure(figsize=(scene.width / 100.0, scene.height / 100.0), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_xlim(0, scene.width)
        ax.set_ylim(scene.height, 0)
        ax.set_axis_off()
        for z, s in enumerate(scene.shapes):
            if isinstance(s, _Text):
                ax.text(
                    s.x,
                    s.y,
                    s.text,
                    fontsize=s.size * pt,
                    color=s.fill,
                    ha={"start": "left", "middle": "center", "end": "right"}[s.anchor],
                    va="center",
                    fontweight="bold" if s.bold else "normal",
                    fontstyle="italic" if s.italic else "normal",
                    zorder=z,
                    path_effects=halo if s.halo else None,
                )
            elif isinstance(s, _Circle):
                ax.add_patch(
                    Circle(
                        (s.x, s.y),
                        s.r,
                        facecolor=color(s.fill),
                        edgecolor=color(s.stroke),
                        linewidth=s.width * pt,
                        linestyle=style(s.dash),
                        alpha=s.opacity,
                        zorder=z,
                    )
                )
            elif s.fill != "none":
                ax.add_patch(
                    Polygon(
                        s.points,
                        closed=True,
                        facecolor=s.fill,
                        edgecolor=color(s.stroke),
                        linewidth=s.width * pt,
                        alpha=s.opacity,
                        zorder=z,
                        joinstyle="round",
                    )
                )
            else:
                xs, ys = zip(*s.points, strict=True)
                ax.add_line(
                    Line2D(
                        xs,
                        ys,
                        color=s.stroke,
                        linewidth=s.width * pt,
                        linestyle=style(s.dash),
                        alpha=s.opacity,
                        solid_capstyle="round",
                        dash_capstyle="butt",
                        zorder=z,
                    )
                )
        fig.savefig(path, dpi=dpi, facecolor="#ffffff", format="png", metadata={"Software": None})


# ---------------------------------------------------------------------------------------------
# Public API.


def render_svg(
    m: Map | str,
    position: Mapping[str, Any],
    orders_by_power: Mapping[str, Iterable[str]] | None = None,
    results: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """Draws a position as SVG text (no dependency).

    Provinces sit at the map's coordinates: seas blue, land beige, coasts with a blue rim, supply
    centres marked by a small disc in their owner's colour (white when unowned) and owned centres
    tinted. Units are discs (armies) and squares (fleets) in their power's colour; dislodged units
    sit up-left of their province in a red ring. Orders: moves are solid arrows, supports dashed
    lines to the province they support into (or a dashed ring around the unit held), convoys
    dotted lines army -> fleet -> destination, holds a ring, retreats arrows with a red halo,
    builds a green ring, disbands a red cross; orders whose result is not "success" are faded and
    crossed. A legend lists the powers with their centre and unit counts.

    Args:
      m: the board, or a shipped map name / map file path.
      position: the position to draw (validated with `validate_position`).
      orders_by_power: optional power -> orders in standard notation.
      results: optional power -> canonical order -> result, as returned by `adjudicate`; its
        orders (including the default holds) are drawn too.

    Returns:
      The SVG document. The same input gives the same text, byte for byte.

    Raises:
      ValueError: the position is malformed on `m` (unknown power, unit or centre), an order is
        malformed or names an unknown power or location, or the map gives `xy` for only some
        provinces.
    """
    return _svg(_scene(_as_map(m), position, orders_by_power, results))


def render_png(
    m: Map | str,
    position: Mapping[str, Any],
    path: str | os.PathLike[str],
    orders_by_power: Mapping[str, Iterable[str]] | None = None,
    results: Mapping[str, Mapping[str, str]] | None = None,
    *,
    dpi: float = 150,
) -> None:
    """Draws a position to a PNG file with matplotlib (the picture `render_svg` describes).

    Args:
      m: the board, or a shipped map name / map file path.
      position: the position to draw.
      path: the PNG file to write.
      orders_by_power: optional power -> orders in standard notation.
      results: optional power -> canonical order -> result, as returned by `adjudicate`.
      dpi: resolution; 100 gives one PNG pixel per SVG pixel.

    Raises:
      ValueError: bad position or orders (see `render_svg`), or the folder of `path` is missing.
      ImportError: matplotlib is not installed.
    """
    scene = _scene(_as_map(m), position, orders_by_power, results)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"cannot write {path!r}: folder {folder!r} does not exist")
    _png(scene, path, dpi)


def render_text(
    m: Map | str,
    position: Mapping[str, Any],
    orders_by_power: Mapping[str, Iterable[str]] | None = None,
    results: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """A plain-text summary of a position, with its orders and their results if given.

    Lists the phase, then per power its centres (count and names), units and dislodged units
    (with where the attack came from), the unowned centres, contested provinces, builds and
    disbands due in an adjustment phase, and the orders grouped by power.

    Args:
      m: the board, or a shipped map name / map file path.
      position: the position to summarise.
      orders_by_power: optional power -> orders in standard notation.
      results: optional power -> canonical order -> result, as returned by `adjudicate`.

    Returns:
      The summary, lines joined by newlines, ending with a newline.

    Raises:
      ValueError: bad position or orders (see `render_svg`).
    """
    m = _as_map(m)
    validate_position(m, position)
    orders = _check_orders(m, orders_by_power, results)
    _, _, kind = phase_parts(position["phase"])
    lines = [_phase_title(m, position["phase"]) + f"; {m.victory_centers} centres win"]
    adjust = adjustment_counts(m, position) if kind == "A" else {}
    owned: set[str] = set()
    for pw in m.powers:
        centers = sorted(position["centers"].get(pw, ()))
        owned.update(centers)
        units = sorted(position["units"].get(pw, ()))
        lines.append(f"{pw} ({m.power_names[pw]}): {len(centers)} centres: {', '.join(centers)}")
        lines.append(f"  units ({len(units)}): {', '.join(units)}")
        dislodged = position["dislodged"].get(pw, {})
        if dislodged:
            items = [
                f"{u} (from {o})" if o else f"{u} (by convoy)" for u, o in sorted(dislodged.items())
            ]
            lines.append(f"  dislodged: {', '.join(items)}")
        if adjust.get(pw):
            n = adjust[pw]
            lines.append(f"  adjustment: {n:+d} ({'builds' if n > 0 else 'disbands'})")
    unowned = sorted(set(m.supply_centers) - owned)
    lines.append(f"unowned centres ({len(unowned)}): {', '.join(unowned)}")
    if position.get("contested"):
        lines.append(f"contested: {', '.join(sorted(position['contested']))}")
    if orders:
        lines.append("orders:")
        width = max(len(canon) for _, canon, _, _ in orders)
        for pw in m.powers:
            mine = [(canon, res) for p, canon, _, res in orders if p == pw]
            if not mine:
                continue
            lines.append(f"  {pw}")
            for canon, res in mine:
                lines.append(f"    {canon:<{width}}  {res}" if res else f"    {canon}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Replays.


def make_random_replay(m: Map | str, num_phases: int, seed: int) -> dict[str, Any]:
    """Plays `num_phases` phases with uniformly random legal orders, as a replay.

    Every phase but the last carries the orders that lead to the next one; the last is the
    position reached, without orders.

    Args:
      m: the board, or a shipped map name (the replay names the map by `m.name`).
      num_phases: positions in the replay (>= 1).
      seed: seeds the order choices (numpy `default_rng`), so the replay is reproducible.

    Returns:
      A `realpolitik-replay/1` dict: {"format", "map", "phases": [{"position", "orders"}, ...]}.
    """
    m = _as_map(m)
    if not isinstance(num_phases, int) or isinstance(num_phases, bool) or num_phases < 1:
        raise ValueError(f"num_phases must be a positive int, got {num_phases!r}")
    rng = np.random.default_rng(seed)
    position: Position = initial_position(m)
    phases: list[dict[str, Any]] = []
    for i in range(num_phases):
        if i == num_phases - 1:
            phases.append({"position": position})
            break
        orders = {}
        for pw in m.powers:
            options = legal_orders(m, position, pw)
            orders[pw] = [opts[int(rng.integers(len(opts)))] for _, opts in sorted(options.items())]
        phases.append({"position": position, "orders": orders})
        position, _ = adjudicate(m, position, orders)
    return {"format": REPLAY_FORMAT, "map": m.name, "phases": phases}


def validate_replay(
    replay: Mapping[str, Any], base_dir: str | None = None
) -> tuple[Map, list[tuple[Position, dict[str, list[str]] | None]]]:
    """Checks a replay dict and loads its map.

    Args:
      replay: a decoded `realpolitik-replay/1` object.
      base_dir: folder that a relative map file path is resolved against (the replay's folder).

    Returns:
      (map, [(position, orders or None), ...]) with every position validated.

    Raises:
      ValueError: naming the bad entry (wrong format, unknown map, bad position or orders).
    """
    if not isinstance(replay, Mapping):
        raise ValueError(f"a replay must be a JSON object, got {type(replay).__name__}")
    fmt = replay.get("format", REPLAY_FORMAT)
    if fmt != REPLAY_FORMAT:
        raise ValueError(f"replay: unsupported format {fmt!r}; expected {REPLAY_FORMAT!r}")
    bad = sorted(set(replay) - {"format", "map", "phases"})
    if bad:
        raise ValueError(f"replay: unknown keys {bad}; allowed: ['format', 'map', 'phases']")
    name = replay.get("map")
    if not isinstance(name, str) or not name:
        raise ValueError(f"replay: 'map' must be a map name or path, got {name!r}")
    if base_dir and ("/" in name or name.endswith(".json")) and not os.path.isabs(name):
        name = os.path.join(base_dir, name)
    m = load_map(name)
    phases = replay.get("phases")
    if not isinstance(phases, list) or not phases:
        raise ValueError("replay: 'phases' must be a non-empty list")
    out = []
    for i, phase in enumerate(phases):
        where = f"replay phase {i}"
        if not isinstance(phase, Mapping) or "position" not in phase:
            raise ValueError(f"{where}: must be an object with a 'position'")
        extra = sorted(set(phase) - {"position", "orders"})
        if extra:
            raise ValueError(f"{where}: unknown keys {extra}; allowed: ['orders', 'position']")
        try:
            validate_position(m, phase["position"])
            orders = phase.get("orders")
            if orders is not None:
                _check_orders(m, orders, None)
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
        out.append((phase["position"], orders))
    return m, out


def render_replay(
    replay: Mapping[str, Any],
    out_dir: str | os.PathLike[str],
    formats: Sequence[str] = ("svg", "png"),
    *,
    base_dir: str | None = None,
) -> list[str]:
    """Draws every phase of a replay to `out_dir/phase_000.svg` (and .png, .txt).

    Phases with orders are adjudicated so the pictures show each order's result.

    Args:
      replay: a `realpolitik-replay/1` dict (see `validate_replay`).
      out_dir: output folder, created if missing.
      formats: any of "svg", "png", "txt".
      base_dir: folder that a relative map path in the replay is resolved against.

    Returns:
      The paths written, in phase order.

    Raises:
      ValueError: a bad replay, an unknown format, or `out_dir` is a file.
    """
    bad = sorted(set(formats) - {"svg", "png", "txt"})
    if bad or not formats:
        raise ValueError(f"formats must be some of ['png', 'svg', 'txt'], got {list(formats)}")
    m, phases = validate_replay(replay, base_dir)
    out_dir = os.fspath(out_dir)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ValueError(f"output folder {out_dir!r} is a file")
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for i, (position, orders) in enumerate(phases):
        results = None
        if orders is not None:
            try:
                _, results = adjudicate(m, position, orders)
            except ValueError as e:
                raise ValueError(f"replay phase {i}: {e}") from None
        stem = os.path.join(out_dir, f"phase_{i:03d}")
        for fmt in ("svg", "png", "txt"):
            if fmt not in formats:
                continue
            path = f"{stem}.{fmt}"
            if fmt == "svg":
                with open(path, "w", encoding="utf-8") as f:
                    f.write(render_svg(m, position, orders, results))
            elif fmt == "png":
                render_png(m, position, path, orders, results)
            else:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(render_text(m, position, orders, results))
            written.append(path)
    return written
