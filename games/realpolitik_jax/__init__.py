"""realpolitik_jax: the JAX engine of realpolitik (same rules, fixed shapes, jit + vmap).

`RealpolitikJax(map, scoring=..., max_years=...)` gives pure `init(key) -> State` and
`step(state, actions int32 [P, K], key) -> State` implementing the environment contract with the
reference environment's action encoding, observations, masks and rewards; `BoardArrays` holds a
board's static arrays. `RealpolitikJax.adjudicate(state, actions) -> Position` is the rules
alone (no mask or observation). Unsupported adjudication situations are flagged in
`State.unsupported`. See docs/realpolitik_jax.md.
"""

from detente.games.realpolitik_jax._board import ENTRY_KINDS, BoardArrays, board_arrays
from detente.games.realpolitik_jax._engine import (
    ILLEGAL_REWARD,
    Position,
    RealpolitikJax,
    State,
    position_of,
)

__all__ = [
    "BoardArrays",
    "ENTRY_KINDS",
    "ILLEGAL_REWARD",
    "Position",
    "RealpolitikJax",
    "State",
    "board_arrays",
    "position_of",
]
