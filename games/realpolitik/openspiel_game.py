"""The OpenSpiel game `realpolitik`: the reference engine as a simultaneous-move pyspiel game.

Importing this module registers the game with pyspiel (`detente.games.load` imports it lazily):

    game = detente.games.load("realpolitik(map=duel,scoring=sum_of_squares,max_years=1)")

OpenSpiel takes one action per player per simultaneous node, so a phase is played unit by unit:
it has K' sub-steps (K' = the most slots any power has in this phase) and at sub-step s every
power simultaneously gives the order of its slot s (its s-th unit in location order, or the s-th
build/disband), or the no-op (action 0) when it has no slot s. After the last sub-step the phase is
adjudicated. An action is a table index of the per-location order tables of
`detente.games.realpolitik.actions` (num_distinct_actions = A): the location is the one the
current sub-step refers to, so masks equal `RealpolitikEnv`'s slot masks entry by entry.

Parameters: map (shipped name or path), scoring ("draw_size", "sum_of_squares", "welfare"),
max_years (>= 1), random_end_prob and random_end_after (a chance node at each Spring from year
random_end_after + 1 on ends the game with that probability). Returns: the scores at the end;
under "welfare" the points banked each winter (rewards per year). The board is fully observable;
the information state (perfect recall) holds every completed phase's orders of all powers, and
the orders the player itself gave so far this phase, not the others'. Layouts and the rationale:
docs/realpolitik_openspiel.md.
"""

from __future__ import annotations

import numpy as np
import pyspiel

from detente.games.realpolitik.actions import NO_OP, PhaseSlots, phase_slots
from detente.games.realpolitik.engine import initial_position
from detente.games.realpolitik.env import RealpolitikRules
from detente.games.realpolitik.observation import encode_observations, observation_layout
from detente.games.realpolitik.scoring import game_status

__all__ = ["GAME_TYPE", "RealpolitikGame", "RealpolitikState"]

_DEFAULT_PARAMS = {
    "map": "classic",
    "scoring": "sum_of_squares",
    "max_years": 10,
    "random_end_prob": 0.0,
    "random_end_after": 1,
}
_MAX_PLAYERS = 10
_CONTINUE, _END = 0, 1

GAME_TYPE = pyspiel.GameType(
    short_name="realpolitik",
    long_name="realpolitik (Diplomacy-like, reference engine, unit-by-unit sub-steps)",
    dynamics=pyspiel.GameType.Dynamics.SIMULTANEOUS,
    chance_mode=pyspiel.GameType.ChanceMode.EXPLICIT_STOCHASTIC,
    information=pyspiel.GameType.Information.IMPERFECT_INFORMATION,
    utility=pyspiel.GameType.Utility.GENERAL_SUM,
    reward_model=pyspiel.GameType.RewardModel.REWARDS,
    max_num_players=_MAX_PLAYERS,
    min_num_players=2,
    provides_information_state_string=True,
    provides_information_state_tensor=False,
    provides_observation_string=True,
    provides_observation_tensor=True,
    provides_factored_observation_string=False,
    parameter_specification=_DEFAULT_PARAMS,
)


class RealpolitikGame(pyspiel.Game):
    """The pyspiel game; see the module docstring.

    Args:
      params: game parameters (see `_DEFAULT_PARAMS`); missing ones take their defaults.

    Raises:
      ValueError: unknown map (lists the shipped maps), unknown scoring (lists the accepted
        ones), max_years < 1, bad random-end parameters, or a map with too many powers.
    """

    def __init__(self, params: dict | None = None):
        merged = {**_DEFAULT_PARAMS, **(params or {})}
        unknown = sorted(set(merged) - set(_DEFAULT_PARAMS))
        if unknown:
            raise ValueError(
                f"realpolitik has no parameters {unknown}; accepted: {sorted(_DEFAULT_PARAMS)}"
            )
        rules = RealpolitikRules.make(
            merged["map"],
            merged["scoring"],
            merged["max_years"],
            merged["random_end_prob"],
            merged["random_end_after"],
        )
        if rules.num_players > _MAX_PLAYERS:
            raise ValueError(
                f"map {rules.map.name!r} has {rules.num_players} powers; the OpenSpiel game "
                f"supports at most {_MAX_PLAYERS}"
            )
        num_centers = len(rules.map.supply_centers)
        welfare = rules.scoring == "welfare"
        super().__init__(
            GAME_TYPE,
            pyspiel.GameInfo(
                num_distinct_actions=rules.num_actions,
                max_chance_outcomes=2 if rules.random_end_prob > 0 else 0,
                num_players=rules.num_players,
                min_utility=0.0,
                max_utility=float(num_centers * rules.max_years) if welfare else 1.0,
                utility_sum=None,
                # Sub-steps: at most K per phase, 5 phases a year.
                max_game_length=rules.max_phases * rules.num_slots,
            ),
            merged,
        )
        self.rules = rules
        self.layout = observation_layout(rules.map, 1)
        self.initial_node = _Node(rules, initial_position(rules.map))

    def new_initial_state(self) -> RealpolitikState:
        """The Spring movement phase of the board's first year."""
        return RealpolitikState(self)

    def make_py_observer(self, iig_obs_type=None, params=None) -> RealpolitikObserver:
        """An observer for observation (default) or information-state (perfect recall) views."""
        if params:
            raise ValueError(f"realpolitik observers take no parameters, got {params}")
        perfect_recall = bool(iig_obs_type is not None and iig_obs_type.perfect_recall)
        return RealpolitikObserver(self, perfect_recall)


class _Node:
    """A position and what the game derives from it, computed once and shared by clones.

    pyspiel clones Python states with `copy.deepcopy`; positions are never modified in place, so
    clones share the node instead of copying the position dicts.
    """

    __slots__ = ("position", "finished", "chance", "slots", "num_substeps", "children")

    def __init__(self, rules: RealpolitikRules, position: dict):
        self.position = position
        status = game_status(rules.map, position, rules.deterministic_horizon)
        self.finished = status.over
        self.chance = not self.finished and rules.random_end_due(position)
        self.slots = phase_slots(rules.tables, position) if not self.finished else None
        self.num_substeps = (
            max(1, max(len(locs) for locs in self.slots.locations)) if self.slots else 0
        )
        # Chosen actions -> (next node, welfare banked, log line): tree walks (best responses)
        # replay the same phases many times; the engine then runs once per distinct phase.
        self.children: dict[tuple, tuple[_Node, np.ndarray, str]] = {}

    def __deepcopy__(self, memo):
        return self


class RealpolitikState(pyspiel.State):
    """One realpolitik game in progress (sub-step granularity)."""

    def __init__(self, game: RealpolitikGame):
        super().__init__(game)
        self.rules = game.rules
        self._node = game.initial_node
        self.welfare = np.zeros(self.rules.num_players, np.float64)
        self._returns = np.zeros(self.rules.num_players, np.float64)
        self._rewards = np.zeros(self.rules.num_players, np.float64)
        self._terminal = self._node.finished
        self._chance = self._node.chance
        self.log: tuple[str, ...] = ()
        self.substep = 0
        self.chosen: list[list[int]] = [[] for _ in range(self.rules.num_players)]

    @property
    def position(self) -> dict:
        """The current position (a JSON-able dict; do not modify)."""
        return self._node.position

    @property
    def slots(self) -> PhaseSlots | None:
        """The slots of the phase being ordered; None at terminal and chance nodes."""
        return None if self._terminal or self._chance else self._node.slots

    @property
    def num_substeps(self) -> int:
        """K', sub-steps of the phase being ordered (0 at terminal and chance nodes)."""
        return 0 if self._terminal or self._chance else self._node.num_substeps

    def _set_returns(self) -> None:
        new = self.rules.returns(self.position, self.welfare, self._terminal)
        self._rewards = new - self._returns
        self._returns = new

    def slot_location(self, player: int) -> int:
        """Location index of `player`'s order at this sub-step, or -1 (no slot: no-op only)."""
        if self.slots is None or self._terminal or self._chance:
            return -1
        locs = self.slots.locations[player]
        return locs[self.substep] if self.substep < len(locs) else -1

    def orders_given(self, player: int) -> list[str]:
        """Order texts `player` gave so far this phase (no-ops shown as "no order")."""
        tables = self.rules.tables
        locs = self.slots.locations[player] if self.slots is not None else ()
        return [
            tables.orders[loc][a] if a != NO_OP else f"no order {self.rules.map.locations[loc]}"
            for loc, a in zip(locs, self.chosen[player], strict=False)
        ]

    # -- OpenSpiel API -------------------------------------------------------------------------
    def current_player(self) -> int:
        """TERMINAL, CHANCE (random end) or SIMULTANEOUS."""
        if self._terminal:
            return pyspiel.PlayerId.TERMINAL
        if self._chance:
            return pyspiel.PlayerId.CHANCE
        return pyspiel.PlayerId.SIMULTANEOUS

    def _legal_actions(self, player: int) -> list[int]:
        if self._terminal or self._chance or player < 0:
            return []
        locs = self.slots.locations[player]
        if self.substep < len(locs):
            return list(self.slots.legal[player][self.substep])
        return [NO_OP]

    def chance_outcomes(self) -> list[tuple[int, float]]:
        """Random end: continue or end this year, with `random_end_prob`."""
        p = self.rules.random_end_prob
        return [(_CONTINUE, 1.0 - p), (_END, p)]

    def _apply_action(self, action: int) -> None:
        if not self._chance:
            raise ValueError("realpolitik: apply_action outside a chance node; use apply_actions")
        self._chance = False
        self.log += (f"{self.position['phase']} random end: {'end' if action else 'continue'}",)
        if action == _END:
            self._terminal = True
            self._set_returns()
        else:
            self._rewards = np.zeros_like(self._rewards)

    def _apply_actions(self, actions: list[int]) -> None:
        if self._terminal or self._chance:
            raise ValueError("realpolitik: apply_actions at a terminal or chance node")
        for p, action in enumerate(actions):
            legal = self._legal_actions(p)
            if action not in legal:
                loc = self.slot_location(p)
                what = self.rules.tables.describe(max(loc, 0), action) if loc >= 0 else "?"
                raise ValueError(
                    f"realpolitik: illegal action {action} ({what!r}) for player {p} "
                    f"({self.rules.map.powers[p]}) at sub-step {self.substep} of phase "
                    f"{self.position['phase']}; legal: {legal}"
                )
            if self.substep < len(self.slots.locations[p]):
                self.chosen[p].append(int(action))
        self.substep += 1
        if self.substep < self.num_substeps:
            self._rewards = np.zeros_like(self._rewards)
            return
        key = tuple(tuple(c) for c in self.chosen)
        child = self._node.children.get(key)
        if child is None:
            child = self._adjudicate()
            self._node.children[key] = child
        node, banked, line = child
        self.log += (line,)
        self.welfare = self.welfare + banked
        self._node = node
        self._terminal = node.finished
        self._chance = node.chance
        self.substep = 0
        self.chosen = [[] for _ in range(self.rules.num_players)]
        self._set_returns()

    def _adjudicate(self) -> tuple[_Node, np.ndarray, str]:
        rules = self.rules
        orders = {}
        texts = []
        for p, pw in enumerate(rules.map.powers):
            if not self.slots.locations[p]:
                continue
            given = [
                rules.tables.orders[loc][a]
                for loc, a in zip(self.slots.locations[p], self.chosen[p], strict=True)
                if a != NO_OP
            ]
            orders[pw] = given
            texts.append(f"{pw}: {', '.join(given) or '-'}")
        zero = np.zeros(rules.num_players, np.float64)
        position, banked = rules.advance(self.position, orders, zero)
        return _Node(rules, position), banked, f"{self.position['phase']} {'; '.join(texts)}"

    def _action_to_string(self, player: int, action: int) -> str:
        if player == pyspiel.PlayerId.CHANCE:
            return "random end" if action == _END else "continue"
        loc = self.slot_location(player) if player >= 0 else -1
        if loc < 0:
            return "no-op" if action == NO_OP else f"action {action}"
        return self.rules.tables.describe(loc, action)

    def is_terminal(self) -> bool:
        """Whether the game is over (solo, one power left, year limit or random end)."""
        return self._terminal

    def rewards(self) -> np.ndarray:
        """Rewards of the last transition, float64 [P]."""
        return self._rewards

    def returns(self) -> np.ndarray:
        """Scores at the end (0 before) or, under "welfare", the points banked so far."""
        return self._returns

    def __str__(self) -> str:
        pos = self.position
        units = "; ".join(f"{pw}: {', '.join(u)}" for pw, u in pos["units"].items() if u)
        text = f"{pos['phase']} units [{units}]"
        if self.slots is not None and not self._terminal:
            text += f" sub-step {self.substep + 1}/{self.num_substeps}"
        return text

    def board_string(self) -> str:
        """The position as text: phase, units, centres, dislodged units, standoffs."""
        pos = self.position
        lines = [f"phase {pos['phase']}"]
        for pw in self.rules.map.powers:
            dis = ", ".join(f"{u} (from {o or 'convoy'})" for u, o in pos["dislodged"][pw].items())
            lines.append(
                f"{pw}: units [{', '.join(pos['units'][pw])}] centres "
                f"[{', '.join(pos['centers'][pw])}]" + (f" dislodged [{dis}]" if dis else "")
            )
        if pos.get("contested"):
            lines.append(f"standoffs [{', '.join(pos['contested'])}]")
        if self.rules.scoring == "welfare":
            lines.append(f"welfare {self.welfare.tolist()}")
        return "\n".join(lines)


class RealpolitikObserver:
    """Observation (tensor and string) and information-state (string) views of a state.

    The tensor is the layout of `detente.games.realpolitik.observation` with one slot row (the
    location this sub-step orders for the observer), followed by L flags marking the observer's
    slots already ordered this phase: size L * F_LOC + globals + 2L.
    """

    def __init__(self, game: RealpolitikGame, perfect_recall: bool):
        self.rules = game.rules
        self.perfect_recall = perfect_recall
        self.layout = game.layout
        num_l = self.rules.map.num_locations
        self.tensor = np.zeros(self.layout.size + num_l, np.float32)
        self.dict = {"observation": self.tensor}

    def set_from(self, state: RealpolitikState, player: int) -> None:
        """Writes `player`'s view of `state` into `tensor`."""
        rules = self.rules
        num_p = rules.num_players
        slot = [() for _ in range(num_p)]
        loc = state.slot_location(player)
        if loc >= 0:
            slot[player] = (loc,)
        rows = encode_observations(
            rules.map,
            state.position,
            slot,
            1,
            welfare=state.welfare,
            years_fraction=rules.years_fraction(state.position),
        )
        self.tensor[: self.layout.size] = rows[player]
        flags = self.tensor[self.layout.size :]
        flags[:] = 0.0
        if state.slots is not None:
            for done_loc in state.slots.locations[player][: len(state.chosen[player])]:
                flags[done_loc] = 1.0

    def string_from(self, state: RealpolitikState, player: int) -> str:
        """The observation string, or the perfect-recall information-state string."""
        power = self.rules.map.powers[player]
        loc = state.slot_location(player)
        if state.is_terminal():
            now = "game over"
        elif state.current_player() == pyspiel.PlayerId.CHANCE:
            now = "random end draw"
        else:
            ordering = self.rules.map.locations[loc] if loc >= 0 else "nothing (no-op)"
            now = f"sub-step {state.substep + 1}/{state.num_substeps}: ordering {ordering}"
        own = "; ".join(state.orders_given(player)) or "-"
        current = f"{power} to play\n{now}\nown orders this phase: {own}"
        if self.perfect_recall:
            return "\n".join([f"{power} history:", *state.log, state.position["phase"], current])
        return f"{state.board_string()}\n{current}"


pyspiel.register_game(GAME_TYPE, RealpolitikGame)
