"""The batched K-slot environment of realpolitik, directly on the reference engine.

`RealpolitikEnv` presents B games behind the environment contract (`detente.lib.spec`) with the
interface of `detente.lib.OpenSpielEnv`, but one environment step is a whole phase: every power
gives all its orders at once, one per action slot (K slots, A actions per slot; the encoding of
`detente.games.realpolitik.actions`). This is the environment learners use; the OpenSpiel game
`realpolitik` (`openspiel_game.py`) plays the same rules unit by unit for OpenSpiel's algorithms,
and a test checks that both give the same positions and returns.

Edge cases (the same as `OpenSpielEnv`, docs/realpolitik_openspiel.md):
* A power with nothing to order in a phase is not acting; its mask is all True and its actions
  are ignored. An acting power's unused slots allow only the no-op (index 0).
* An illegal action (of an acting power, in any of its K slots) raises `IllegalActionError`
  naming the game, the batch index, the player, the slot, its location and the order; the batch
  is left unchanged.
* Stepping a finished game leaves it unchanged with zero rewards, unless `auto_reset`: then the
  final timestep is returned as is and the next step resets that game (its actions ignored).
* Every end of a game is an end by its rules, so `terminated` is set: solo victory, one power
  left, the year limit and a random end (the final scores are paid there, and the OpenSpiel game
  is terminal there too). `truncated`, a cut by an outside limit after which learners bootstrap
  from the final observation's value, is never set: realpolitik takes no `max_steps`
  (docs/decisions.md). Rewards are the changes of the returns: the final scores at the end, plus
  the welfare banked each winter under "welfare" scoring.

Dimension names: B batch, P players, K slots, A actions per slot.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from detente.games.realpolitik.actions import (
    NO_OP,
    OrderTables,
    PhaseSlots,
    order_tables,
    orders_from_actions,
    phase_slots,
)
from detente.games.realpolitik.engine import adjudicate, initial_position, phase_parts
from detente.games.realpolitik.maps import Map, load_map
from detente.games.realpolitik.observation import encode_observations, observation_layout
from detente.games.realpolitik.scoring import (
    SCORING_SCHEMES,
    Horizon,
    game_status,
    scores,
    welfare_increment,
)
from detente.lib.openspiel_env import IllegalActionError
from detente.lib.spec import EnvSpec, TimeStep

__all__ = ["RealpolitikEnv", "RealpolitikRules"]


@dataclasses.dataclass(frozen=True, eq=False)
class RealpolitikRules:
    """One game's rules: board, scoring, horizon and encoding (shared, never copied).

    Build it with `RealpolitikRules.make`.

    Attributes:
      map: the board.
      tables: its order tables (K slots, A actions).
      scoring: one of `SCORING_SCHEMES`.
      max_years: years played at most.
      random_end_prob: probability that a year is not played, from `random_end_after` on.
      random_end_after: years always played before random ends can happen.
      horizon: the engine's `Horizon` (year limit, random end, solo or not).
    """

    map: Map
    tables: OrderTables
    scoring: str
    max_years: int
    random_end_prob: float
    random_end_after: int
    horizon: Horizon

    def __deepcopy__(self, memo):
        # pyspiel clones Python states with deepcopy; the rules are immutable and shared.
        return self

    @classmethod
    def make(
        cls,
        map: str | os.PathLike[str] | Map = "classic",  # noqa: A002
        scoring: str = "sum_of_squares",
        max_years: int = 10,
        random_end_prob: float = 0.0,
        random_end_after: int = 1,
    ) -> RealpolitikRules:
        """Validates the parameters and builds the rules.

        Args:
          map: a shipped board name (see `shipped_maps`), a path to a map file, or a `Map`.
          scoring: "draw_size", "sum_of_squares" or "welfare".
          max_years: the year limit (>= 1); the game ends after that many winters.
          random_end_prob: in [0, 1]; each Spring after `random_end_after` years, the game ends
            with this probability.
          random_end_after: years always played before a random end (>= 1).

        Raises:
          ValueError: unknown map (the message lists the shipped maps), unknown scoring (lists
            the accepted ones), max_years < 1, or a bad random-end parameter.
        """
        board = map if isinstance(map, Map) else load_map(map)
        if scoring not in SCORING_SCHEMES:
            raise ValueError(
                f"unknown scoring {scoring!r}; expected one of {list(SCORING_SCHEMES)}"
            )
        if isinstance(max_years, bool) or not isinstance(max_years, (int, np.integer)):
            raise ValueError(f"max_years must be an integer >= 1, got {max_years!r}")
        if max_years < 1:
            raise ValueError(f"max_years must be >= 1, got {max_years}")
        if not 0.0 <= float(random_end_prob) <= 1.0:
            raise ValueError(f"random_end_prob must be in [0, 1], got {random_end_prob!r}")
        if not isinstance(random_end_after, (int, np.integer)) or random_end_after < 1:
            raise ValueError(f"random_end_after must be an integer >= 1, got {random_end_after!r}")
        horizon = Horizon(
            max_year=board.first_year + int(max_years) - 1,
            random_end_from=board.first_year + int(random_end_after)
            if random_end_prob > 0
            else None,
            random_end_prob=float(random_end_prob),
            solo=scoring != "welfare",
        )
        return cls(
            board,
            order_tables(board, solo=horizon.solo),
            scoring,
            int(max_years),
            float(random_end_prob),
            int(random_end_after),
            horizon,
        )

    @property
    def num_players(self) -> int:
        """P."""
        return len(self.map.powers)

    @property
    def num_slots(self) -> int:
        """K."""
        return self.tables.num_slots

    @property
    def num_actions(self) -> int:
        """A."""
        return self.tables.num_actions

    @property
    def max_phases(self) -> int:
        """Upper bound on phases of one game (5 per year)."""
        return 5 * self.max_years

    @property
    def deterministic_horizon(self) -> Horizon:
        """The horizon without its random end (the OpenSpiel game draws that as chance)."""
        return dataclasses.replace(self.horizon, random_end_from=None, random_end_prob=0.0)

    def years_fraction(self, position: Mapping[str, Any]) -> float:
        """Years completed / max_years."""
        _, year, _ = phase_parts(position["phase"])
        return (year - self.map.first_year) / self.max_years

    def random_end_due(self, position: Mapping[str, Any]) -> bool:
        """Whether a random end is drawn at `position` (a Spring movement of a late year)."""
        season, year, kind = phase_parts(position["phase"])
        return (
            self.random_end_prob > 0
            and season == "S"
            and kind == "M"
            and year >= self.horizon.random_end_from
        )

    def advance(
        self, position: Mapping[str, Any], orders: Mapping[str, Sequence[str]], welfare: np.ndarray
    ) -> tuple[dict, np.ndarray]:
        """Adjudicates one phase and banks welfare when a year ends.

        Returns:
          (next position, welfare banked so far float64 [P]).
        """
        nxt, _ = adjudicate(self.map, position, orders)
        if phase_parts(nxt["phase"])[1] > phase_parts(position["phase"])[1]:
            inc = welfare_increment(self.map, nxt)
            welfare = welfare + np.array([inc[pw] for pw in self.map.powers], np.float64)
        return nxt, welfare

    def returns(self, position: Mapping[str, Any], welfare: np.ndarray, done: bool) -> np.ndarray:
        """Returns so far: the welfare bank under "welfare", else the final scores once done.

        Returns:
          float64 [P].
        """
        if self.scoring == "welfare":
            return np.asarray(welfare, np.float64).copy()
        if not done:
            return np.zeros(self.num_players, np.float64)
        s = scores(self.map, position, self.scoring)
        return np.array([s[pw] for pw in self.map.powers], np.float64)

    def game_string(self) -> str:
        """The OpenSpiel game string of these rules."""
        text = f"realpolitik(map={self.map.name},scoring={self.scoring},max_years={self.max_years}"
        if self.random_end_prob > 0:
            text += (
                f",random_end_prob={self.random_end_prob},random_end_after={self.random_end_after}"
            )
        return text + ")"


class RealpolitikEnv:
    """B realpolitik games behind the environment contract, one phase per step.

    Example:
      env = RealpolitikEnv("classic", batch_size=16, scoring="sum_of_squares", max_years=5)
      ts = env.reset(seed=0)
      ts = env.step(actions)  # int [B, P, K]: table indices, see `actions.py`

    Args:
      map: a shipped board name, a path to a map file, or a `Map`.
      batch_size: B.
      scoring, max_years, random_end_prob, random_end_after: see `RealpolitikRules.make`.
      auto_reset: reset finished games on the following step.
    """

    def __init__(
        self,
        map: str | os.PathLike[str] | Map,  # noqa: A002
        batch_size: int,
        *,
        scoring: str = "sum_of_squares",
        max_years: int = 10,
        random_end_prob: float = 0.0,
        random_end_after: int = 1,
        auto_reset: bool = False,
    ):
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.rules = RealpolitikRules.make(
            map, scoring, max_years, random_end_prob, random_end_after
        )
        rules = self.rules
        self.batch_size = int(batch_size)
        self.auto_reset = bool(auto_reset)
        self._layout = observation_layout(rules.map, rules.num_slots)
        self.spec = EnvSpec(
            name=rules.game_string(),
            num_players=rules.num_players,
            obs_shape=(self._layout.size,),
            num_slots=rules.num_slots,
            num_actions=rules.num_actions,
            max_steps=rules.max_phases,
            symmetric=False,
            utility="general_sum" if scoring == "welfare" else "constant_sum",
            dynamics="simultaneous",
            chance=rules.random_end_prob > 0,
        )
        self._positions: list[dict] = []
        self._welfare: list[np.ndarray] = []
        self._returns: list[np.ndarray] = []
        self._slots: list[PhaseSlots | None] = []
        self._terminated: list[bool] = []
        self._rngs: list[np.random.Generator] = []
        self._last: TimeStep | None = None

    # ----------------------------------------------------------------------------------------
    @property
    def positions(self) -> list[dict]:
        """The current position of each game (JSON-able dicts; do not modify)."""
        return list(self._positions)

    def reset(self, seed: int) -> TimeStep:
        """Starts B new games; game b draws its random ends from `(seed, b)`.

        Returns:
          The initial `TimeStep` with zero rewards.
        """
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        batch = self.batch_size
        self._rngs = [np.random.default_rng([int(seed), b]) for b in range(batch)]
        self._positions = [None] * batch
        self._welfare = [None] * batch
        self._returns = [None] * batch
        self._slots = [None] * batch
        self._terminated = [False] * batch
        for b in range(batch):
            self._new_game(b)
        self._last = self._observe(np.zeros((batch, self.rules.num_players), np.float32))
        return self._last

    def step(self, actions: np.ndarray | Sequence) -> TimeStep:
        """Plays one phase in every game.

        Args:
          actions: int [B, P, K], table indices; entries of powers that are not acting are
            ignored.

        Returns:
          The next `TimeStep`; `rewards` float32 [B, P] are those earned by this phase.

        Raises:
          IllegalActionError: a malformed or illegal action; no game is stepped then.
        """
        if self._last is None:
            raise RuntimeError("call reset(seed) before step(actions)")
        table = self._validate(actions)
        rules = self.rules
        powers = rules.map.powers
        rewards = np.zeros((self.batch_size, rules.num_players), np.float32)
        for b in range(self.batch_size):
            if self._done(b):
                if self.auto_reset:
                    self._new_game(b)
                continue
            slots = self._slots[b]
            orders = {
                pw: orders_from_actions(rules.tables, slots, p, table[b][p])
                for p, pw in enumerate(powers)
                if slots.locations[p]
            }
            position, self._welfare[b] = rules.advance(self._positions[b], orders, self._welfare[b])
            self._positions[b] = position
            self._update_status(b)
            returns = rules.returns(position, self._welfare[b], self._done(b))
            rewards[b] = returns - self._returns[b]
            self._returns[b] = returns
        self._last = self._observe(rewards)
        return self._last

    # ----------------------------------------------------------------------------------------
    def _done(self, b: int) -> bool:
        return self._terminated[b]

    def _new_game(self, b: int) -> None:
        rules = self.rules
        self._positions[b] = initial_position(rules.map)
        self._welfare[b] = np.zeros(rules.num_players, np.float64)
        self._update_status(b)
        self._returns[b] = rules.returns(self._positions[b], self._welfare[b], self._done(b))

    def _update_status(self, b: int) -> None:
        status = game_status(self.rules.map, self._positions[b], self.rules.horizon, self._rngs[b])
        # The horizon's end (year limit, random end) is an end by the rules: final scores paid.
        self._terminated[b] = status.over
        self._slots[b] = (
            None if self._done(b) else phase_slots(self.rules.tables, self._positions[b])
        )

    def _observe(self, rewards: np.ndarray) -> TimeStep:
        rules = self.rules
        batch, num_p = self.batch_size, rules.num_players
        k, a = rules.num_slots, rules.num_actions
        observation = np.zeros((batch, num_p, self._layout.size), np.float32)
        mask = np.ones((batch, num_p, k, a), bool)
        acting = np.zeros((batch, num_p), bool)
        empty = ((),) * num_p
        for b in range(batch):
            slots = self._slots[b]
            locations = empty if slots is None else slots.locations
            encode_observations(
                rules.map,
                self._positions[b],
                locations,
                k,
                welfare=self._welfare[b],
                years_fraction=rules.years_fraction(self._positions[b]),
                out=observation[b],
            )
            if slots is not None:
                slots.mask(rules.tables, out=mask[b])
                acting[b] = [bool(locs) for locs in slots.locations]
        terminated = np.array(self._terminated, bool)
        truncated = np.zeros(batch, bool)  # realpolitik games end only by their rules
        return TimeStep(observation, mask, acting, rewards, terminated, truncated)

    def _validate(self, actions) -> list[list[list[int]]]:
        array = np.asarray(actions)
        rules = self.rules
        expected = (self.batch_size, rules.num_players, rules.num_slots)
        if array.shape != expected:
            raise IllegalActionError(
                f"{self.spec.name}: actions must have shape [B, P, K] = {expected}, "
                f"got {array.shape}"
            )
        if array.dtype.kind not in "iu":
            raise IllegalActionError(
                f"{self.spec.name}: actions must be integers, got dtype {array.dtype}"
            )
        table = array.tolist()
        tables = rules.tables
        for b in range(self.batch_size):
            if self._done(b):
                continue
            slots = self._slots[b]
            for p, locs in enumerate(slots.locations):
                if not locs:
                    continue
                row = table[b][p]
                for k, action in enumerate(row):
                    if k < len(locs):
                        legal = slots.legal[p][k]
                        if action in legal:
                            continue
                        loc = locs[k]
                        what = tables.describe(loc, action)
                        where = f"slot {k} (unit at {rules.map.locations[loc]})"
                        allowed = [tables.describe(loc, x) for x in legal[:8]]
                        more = f" and {len(legal) - 8} more" if len(legal) > 8 else ""
                    elif action == NO_OP:
                        continue
                    else:
                        what = f"action {action}"
                        where = f"unused slot {k} (only the no-op {NO_OP} is legal)"
                        allowed, more = ["no-op"], ""
                    raise IllegalActionError(
                        f"{self.spec.name}: illegal action {action} ({what!r}) for player {p} "
                        f"({rules.map.powers[p]}) {where} in game {b} of the batch "
                        f"(phase {self._positions[b]['phase']}); legal: {allowed}{more}"
                    )
        return table
