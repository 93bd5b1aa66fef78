"""Orders in standard Diplomacy text notation: parsing and formatting.

Grammar (case-insensitive on input, upper-case on output; LOC is a province abbreviation with an
optional coast, "STP/SC"):

    A PAR H                     hold
    A PAR - BUR                 move            (A LON - BEL VIA: move by convoy only)
    A PAR S F BRE               support to hold (a trailing " H" is accepted)
    A PAR S A MAR - BUR         support to move
    F NTH C A LON - BEL         convoy
    A MUN R BOH                 retreat
    A PAR D                     disband (retreat or adjustment phase)
    A PAR B / F STP/SC B        build
    WAIVE                       give up one build

`parse_order` is syntax only (map-independent); whether an order can be carried out is decided by
the engine against a map and a position. `format_order(parse_order(t)) == t` for every canonical t.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["Order", "parse_order", "format_order", "ORDER_FORMS"]

ORDER_FORMS = (
    "'A PAR H', 'A PAR - BUR', 'A LON - BEL VIA', 'A PAR S F BRE', 'A PAR S A MAR - BUR', "
    "'F NTH C A LON - BEL', 'A MUN R BOH', 'A PAR D', 'F STP/SC B', 'A PAR B' or 'WAIVE'"
)

_LOC = r"([A-Z][A-Z0-9]{1,5}(?:/[A-Z]{2})?)"
_UNIT = r"([AF]) " + _LOC
_PATTERNS = (
    ("H", re.compile(rf"^{_UNIT} H$")),
    ("-", re.compile(rf"^{_UNIT} - {_LOC}( VIA)?$")),
    ("S", re.compile(rf"^{_UNIT} S ([AF]) {_LOC}(?: - {_LOC}| H)?$")),
    ("C", re.compile(rf"^{_UNIT} C A {_LOC} - {_LOC}$")),
    ("R", re.compile(rf"^{_UNIT} R {_LOC}$")),
    ("D", re.compile(rf"^{_UNIT} D$")),
    ("B", re.compile(rf"^{_UNIT} B$")),
)


class Order(NamedTuple):
    """One order, as text fields (map-independent).

    Attributes:
      kind: "H" hold, "-" move, "S" support, "C" convoy, "R" retreat, "D" disband, "B" build,
        "WAIVE" waived build.
      unit_type: "A" or "F" ("" for WAIVE).
      loc: location of the ordered unit ("" for WAIVE).
      target: destination of a move or retreat, else "".
      via: the move is ordered by convoy only ("VIA").
      aux_type: unit type of the supported or convoyed unit, else "".
      aux_loc: location of the supported or convoyed unit, else "".
      aux_target: destination of the supported move or convoy ("" for a support to hold).
    """

    kind: str
    unit_type: str = ""
    loc: str = ""
    target: str = ""
    via: bool = False
    aux_type: str = ""
    aux_loc: str = ""
    aux_target: str = ""

    @property
    def unit(self) -> str:
        """The ordered unit, "A PAR" ("" for WAIVE)."""
        return f"{self.unit_type} {self.loc}" if self.unit_type else ""

    def __str__(self) -> str:
        return format_order(self)


def parse_order(text: str) -> Order:
    """Parses one order in standard notation.

    Args:
      text: e.g. "A PAR - BUR", "F NTH C A LON - BEL", "A PAR S A MAR - BUR", "WAIVE".
        Case and runs of spaces are normalised; "->" is accepted for "-".

    Returns:
      The `Order`.

    Raises:
      ValueError: the text is not a well-formed order; the message names it and the forms
        accepted.
    """
    if not isinstance(text, str):
        raise ValueError(f"order must be a string, got {text!r}; expected one of {ORDER_FORMS}")
    norm = " ".join(text.upper().replace("->", " - ").replace("-", " - ").split())
    if norm == "WAIVE":
        return Order("WAIVE")
    for kind, pat in _PATTERNS:
        m = pat.match(norm)
        if m is None:
            continue
        g = m.groups()
        if kind == "-":
            return Order("-", g[0], g[1], g[2], g[3] is not None)
        if kind == "S":
            return Order("S", g[0], g[1], "", False, g[2], g[3], g[4] or "")
        if kind == "C":
            return Order("C", g[0], g[1], "", False, "A", g[2], g[3])
        if kind == "R":
            return Order("R", g[0], g[1], g[2])
        return Order(kind, g[0], g[1])
    raise ValueError(f"malformed order {text!r}: expected one of {ORDER_FORMS}")


def format_order(order: Order) -> str:
    """Formats an `Order` in canonical standard notation (the inverse of `parse_order`)."""
    k = order.kind
    u = f"{order.unit_type} {order.loc}"
    if k == "WAIVE":
        return "WAIVE"
    if k == "H":
        return f"{u} H"
    if k == "-":
        return f"{u} - {order.target}" + (" VIA" if order.via else "")
    if k == "S":
        sup = f"{u} S {order.aux_type} {order.aux_loc}"
        return sup + (f" - {order.aux_target}" if order.aux_target else "")
    if k == "C":
        return f"{u} C A {order.aux_loc} - {order.aux_target}"
    if k == "R":
        return f"{u} R {order.target}"
    if k in ("D", "B"):
        return f"{u} {k}"
    raise ValueError(f"unknown order kind {k!r} in {order!r}")
