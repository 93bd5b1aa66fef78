"""realpolitik: the reference rules engine of a Diplomacy-like game (the classic 1959 rules).

Boards are data files (`load_map`); positions are plain JSON-able dicts; orders are standard text
("A PAR - BUR", "F NTH C A LON - BEL", "A PAR S A MAR - BUR", "A MUN R BOH", "F STP/SC B").
`adjudicate` resolves one phase (movement, retreat or adjustment) DATC-compliantly and
`legal_orders` lists what a power may order. See docs/realpolitik.md and docs/map_format.md.
"""

from detente.games.realpolitik.actions import (
    NO_OP,
    OrderTables,
    PhaseSlots,
    order_tables,
    orders_from_actions,
    phase_slots,
)
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
from detente.games.realpolitik.env import RealpolitikEnv, RealpolitikRules
from detente.games.realpolitik.maps import Map, load_map, map_from_dict, shipped_maps
from detente.games.realpolitik.notation import ORDER_FORMS, Order, format_order, parse_order
from detente.games.realpolitik.observation import (
    ObservationLayout,
    encode_observations,
    observation_layout,
)
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
    # Action encoding, observations and the batched environment (docs/realpolitik_openspiel.md).
    "NO_OP",
    "ObservationLayout",
    "OrderTables",
    "PhaseSlots",
    "RealpolitikEnv",
    "RealpolitikRules",
    "encode_observations",
    "observation_layout",
    "order_tables",
    "orders_from_actions",
    "phase_slots",
]

# Rendering (pictures and text of positions and replays; PNG needs matplotlib, imported lazily).
from detente.games.realpolitik.render import (  # noqa: E402
    REPLAY_FORMAT,
    make_random_replay,
    power_colors,
    render_png,
    render_replay,
    render_svg,
    render_text,
    validate_replay,
)

__all__ += [
    "REPLAY_FORMAT",
    "make_random_replay",
    "power_colors",
    "render_png",
    "render_replay",
    "render_svg",
    "render_text",
    "validate_replay",
]
