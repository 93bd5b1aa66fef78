"""realpolitik: the reference rules engine of a Diplomacy-like game (the classic 1959 rules).

Boards are data files (`load_map`); positions are plain JSON-able dicts; orders are standard text
("A PAR - BUR", "F NTH C A LON - BEL", "A PAR S A MAR - BUR", "A MUN R BOH", "F STP/SC B").
`adjudicate` resolves one phase (movement, retreat or adjustment) DATC-compliantly and
`legal_orders` lists what a power may order. See docs/realpolitik.md and docs/map_format.md.
"""

from detente.games.realpolitik.engine import (
    RESULTS,
    Position,
    adjudicate,
    adjustment_counts,
    initial_position,
    legal_orders,
    phase_parts,
    validate_position,
)
from detente.games.realpolitik.maps import Map, load_map, map_from_dict, shipped_maps
from detente.games.realpolitik.notation import ORDER_FORMS, Order, format_order, parse_order
from detente.games.realpolitik.scoring import (
    SCORING_SCHEMES,
    GameStatus,
    Horizon,
    game_status,
    scores,
    solo_winner,
    welfare_increment,
)

__all__ = [
    "GameStatus",
    "Horizon",
    "Map",
    "ORDER_FORMS",
    "Order",
    "Position",
    "RESULTS",
    "SCORING_SCHEMES",
    "adjudicate",
    "adjustment_counts",
    "format_order",
    "game_status",
    "initial_position",
    "legal_orders",
    "load_map",
    "map_from_dict",
    "parse_order",
    "phase_parts",
    "scores",
    "shipped_maps",
    "solo_winner",
    "validate_position",
    "welfare_increment",
]
