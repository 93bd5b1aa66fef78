"""The JAX engine of realpolitik: `State`, `init` and `step` over fixed-shape arrays.

Same rules, action encoding, observations, masks and rewards as the reference environment
(`detente.games.realpolitik.RealpolitikEnv`): one step is one phase, every power gives one order
per slot (K slots, A actions per slot, the per-location order tables of
`detente.games.realpolitik.actions`). Everything is a pure function of arrays, jittable and
vmappable; phases are chosen with `lax.switch` (under `vmap`, a dispatch that sorts the
batch by phase kind and runs each game's branch only: `_phase_dispatch`).

Edge cases (the contract's, decided once here and in docs/realpolitik_jax.md):
* a finished game is returned unchanged with zero rewards;
* an illegal action (out of range or masked out) of an acting player ends the game: it is
  `terminated`, the offenders (`State.illegal`) get `ILLEGAL_REWARD` (-1) and the others 0;
* a position the JAX adjudicator cannot settle (see `_movement.py`) sets `State.unsupported`
  (the game goes on with the undecided decisions failing); it never goes unflagged.

Dimension names: P players, N provinces, L locations, C supply centres, K slots, A actions per slot.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp
import numpy as np

from detente.games.jax_games import JaxGame
from detente.games.realpolitik.actions import too_many_slots
from detente.games.realpolitik.engine import phase_parts
from detente.games.realpolitik.env import RealpolitikRules
from detente.games.realpolitik.maps import Map
from detente.games.realpolitik_jax import _bits
from detente.games.realpolitik_jax import _board as B
from detente.games.realpolitik_jax import _legal as L
from detente.games.realpolitik_jax import _movement as M
from detente.games.realpolitik_jax._chunks import (
    any_in_batch,
    broadcast_unbatched,
    write_chunks,
)
from detente.games.realpolitik_jax._routes import route_tables
from detente.lib.spec import EnvSpec

ILLEGAL_REWARD = -1.0
SPRING, FALL, WINTER = 0, 1, 2
MOVEMENT, RETREAT, ADJUSTMENT = 0, 1, 2
NO_UNIT, ARMY, FLEET = 0, 1, 2


class State(NamedTuple):
    """One realpolitik game as arrays (batched states add a leading [B]).

    The first six fields are the contract's `TimeStep` fields.

    Attributes:
      observation: float32 [P, obs], the reference encoding (`observation.py`).
      legal_action_mask: bool [P, K, A]; all True when finished or for powers not acting.
      acting: bool [P], powers with at least one slot this phase.
      rewards: float32 [P], rewards of the last transition.
      terminated: bool [], the game ended: solo victory, one power left, the year limit, a
        random end (ends by the rules, final scores paid, as in `RealpolitikEnv`), or an
        illegal action.
      truncated: bool [], always False: realpolitik games end only by their rules.
      illegal: bool [P], powers whose illegal action ended the game.
      step_count: int32 [], phases played.
      unit_owner: int32 [N], power of the unit in each province, -1 if empty.
      unit_type: int32 [N], 0 none, 1 army, 2 fleet.
      unit_loc: int32 [N], location of that unit (a coast for fleets in split-coast provinces).
      dislodged_owner, dislodged_type, dislodged_loc: int32 [N], the dislodged unit of each
        province (retreat phases only), as above.
      dislodged_origin: int32 [N], province its attacker came from, -1 if by convoy.
      contested: bool [N], standoff provinces (retreat phases only).
      center_owner: int32 [C], owner of each supply centre, -1 if none.
      season: int32 [], 0 Spring, 1 Fall, 2 Winter.
      phase_kind: int32 [], 0 movement, 1 retreat, 2 adjustment.
      year: int32 [].
      welfare: float32 [P], welfare points banked (scheme "welfare").
      slot_location: int32 [P, K], location each slot orders this phase, -1 if unused.
      unsupported: bool [], a rule situation the JAX engine does not cover arose (see docs).
    """

    observation: jax.Array
    legal_action_mask: jax.Array
    acting: jax.Array
    rewards: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    illegal: jax.Array
    step_count: jax.Array
    unit_owner: jax.Array
    unit_type: jax.Array
    unit_loc: jax.Array
    dislodged_owner: jax.Array
    dislodged_type: jax.Array
    dislodged_loc: jax.Array
    dislodged_origin: jax.Array
    contested: jax.Array
    center_owner: jax.Array
    season: jax.Array
    phase_kind: jax.Array
    year: jax.Array
    welfare: jax.Array
    slot_location: jax.Array
    unsupported: jax.Array


class Position(NamedTuple):
    """The rules part of a `State`: what a phase transition changes (fields as in `State`).

    `RealpolitikJax.adjudicate` maps a state and its orders to the next `Position` without the
    contract's derived fields (mask, observation, rewards, end of game).
    """

    unit_owner: jax.Array
    unit_type: jax.Array
    unit_loc: jax.Array
    dislodged_owner: jax.Array
    dislodged_type: jax.Array
    dislodged_loc: jax.Array
    dislodged_origin: jax.Array
    contested: jax.Array
    center_owner: jax.Array
    season: jax.Array
    phase_kind: jax.Array
    year: jax.Array
    unsupported: jax.Array


def position_of(state: State) -> Position:
    """The `Position` fields of a `State` (any batch shape)."""
    return Position(*(getattr(state, f) for f in Position._fields))


class _JaxBoard:
    """`BoardArrays` with every numpy array as a JAX array (ints kept as Python ints)."""

    def __init__(self, board: B.BoardArrays):
        for name, value in vars(board).items():
            setattr(self, name, jnp.asarray(value) if isinstance(value, np.ndarray) else value)


def _gather(x, idx, fill):
    return jnp.where(idx >= 0, x[jnp.clip(idx, 0)], fill)


class _ObsColumns(NamedTuple):
    """Static description of the 6P + 7 columns of a location's observation block (numpy)."""

    spread: np.ndarray  # float32 [13, 6P + 7]: the 6 features (powers + 1), then the 7 flags
    power: np.ndarray  # float32 [P, 6P + 7], power + 1 of each feature column in each view
    is_extra: np.ndarray  # bool [6P + 7], one of the 7 location flags


# Most games per chunk of the batched phase dispatch on the CPU (below; a quarter of the batch
# when that is smaller, at least 16): small enough that a phase kind with few games in the batch
# costs little, large enough that per-op overhead stays small. Of 128, 256 and 512 at batch
# 1,024, 256 was fastest in an interleaved A/B (docs/realpolitik_jax.md).
DISPATCH_CHUNK = 256
# The last games of a retreat or adjustment kind run in chunks DISPATCH_TAIL times smaller, of
# at least DISPATCH_TAIL_MIN games (of 4, 8 and 16, 8 was fastest at batch 1,024; the movement
# branch, the longest to compile, keeps whole chunks: tails there gained nothing more).
DISPATCH_TAIL = 8
DISPATCH_TAIL_MIN = 16
_CHUNK_AXIS = "phase_chunk"
# Backends on which the batched dispatch runs chunks; elsewhere it keeps the select, which an
# H100 ran 1.08-1.5x faster (bench/gpu_dispatch_ab.py; docs/realpolitik_jax.md).
CHUNKED_BACKENDS = ("cpu",)


def _cumsum(x: jax.Array) -> jax.Array:
    """Inclusive sum along the last axis by `lax.associative_scan`: on XLA's CPU about 3-4x
    faster than `jnp.cumsum` (a reduce-window) on the engine's rows of 17 and 81 entries."""
    return jax.lax.associative_scan(jnp.add, x, axis=-1)


def _phase_dispatch(branches, batch_axis=(), tail_branches=(), max_chunk=None):
    """`lax.switch` on `core.phase_kind` whose batched form runs each game's branch only.

    One game: a `lax.switch` (only the taken branch runs). Under `vmap`, `lax.switch` turns into
    a select that runs all three phase transitions for every game. On the CPU the batching rule
    below instead sorts the games by phase kind and runs each branch on its own games only, in
    chunks of at most `DISPATCH_CHUNK` games gathered from the batch (a `fori_loop` over as many
    chunks as the batch holds games of that kind), writing each chunk's result back to its
    games; a movement chunk also stops iterating at its own slowest game rather than the
    batch's. Results are those of the switch, game by game; adjudication at batch 1,024 runs
    1.1-1.3x faster than with the select (docs/realpolitik_jax.md), and about 1.1x faster again
    when the retreats' and adjustments' last games run in chunks `DISPATCH_TAIL` times smaller.
    On accelerators the rule keeps the select, which needs no sequential loop and measured
    faster on an H100.

    Args:
      branches: (movement, retreats, adjustments), each `(core, slot, actions) -> Position`.
      batch_axis: indices of the branches that take `axis_name=`, the name of the `vmap` axis
        over a chunk's games (for reductions over the chunk: movement's backup step and
        stragglers, the adjustments' civil disorder).
      tail_branches: indices of the branches whose last games run in chunks `DISPATCH_TAIL`
        times smaller (when those hold at least `DISPATCH_TAIL_MIN` games).
      max_chunk: most games per chunk (None: `DISPATCH_CHUNK`, read when the rule is traced).
    """

    def switch(core, slot, actions):
        return jax.lax.switch(jnp.clip(core.phase_kind, 0, 2), branches, core, slot, actions)

    dispatch = jax.custom_batching.custom_vmap(switch)

    @dispatch.def_vmap
    def _(axis_size, in_batched, core, slot, actions):
        args = broadcast_unbatched((core, slot, actions), in_batched, axis_size)
        if jax.default_backend() not in CHUNKED_BACKENDS:
            # Accelerators: the select over all three transitions (what a vmapped `lax.switch`
            # does), the form that the GPU figures of docs/realpolitik_jax.md were measured on.
            out = jax.vmap(switch)(*args)
            return out, jax.tree.map(lambda _: True, out)
        most = DISPATCH_CHUNK if max_chunk is None else max_chunk
        chunk = min(axis_size, most, max(axis_size // 4, 16))
        small = chunk // DISPATCH_TAIL if chunk // DISPATCH_TAIL >= DISPATCH_TAIL_MIN else chunk
        kind = jnp.clip(args[0].phase_kind, 0, 2)  # [B]
        order = jnp.argsort(kind, stable=True)
        order = jnp.concatenate([order, jnp.zeros(chunk, order.dtype)])  # room for the last chunk
        counts = jnp.sum(kind[None, :] == jnp.arange(3)[:, None], axis=1)
        starts = jnp.cumsum(counts) - counts
        out = args[0]
        for k, branch in enumerate(branches):
            if k in batch_axis:
                branch = functools.partial(branch, axis_name=_CHUNK_AXIS)
            run = jax.vmap(branch, axis_name=_CHUNK_AXIS)

            # Whole chunks, then the kind's last games in chunks of `tail`: for the branches in
            # `tail_branches`, smaller ones, so that a kind with few games in the batch does not
            # pay for a whole chunk (each chunk size is one more compiled copy of the branch).
            tail = small if k in tail_branches else chunk
            first = counts[k] // chunk * chunk if tail < chunk else 0
            if tail < chunk:
                out = write_chunks(run, args, out, order, starts[k], first, chunk)
            out = write_chunks(run, args, out, order, starts[k] + first, counts[k] - first, tail)
        return out, jax.tree.map(lambda _: True, out)

    return dispatch


def _obs_columns(num_p: int) -> _ObsColumns:
    k = np.arange(6 * num_p + 7)
    is_extra = k >= 6 * num_p
    source = np.where(is_extra, 6 + k - 6 * num_p, k // num_p)
    pw = np.arange(num_p)
    power = (pw[:, None] + k[None, :] % num_p) % num_p + 1
    return _ObsColumns(
        spread=(source[None, :] == np.arange(13)[:, None]).astype(np.float32),
        power=np.where(is_extra[None, :], -1, power).astype(np.float32),
        is_extra=is_extra,
    )


class RealpolitikJax:
    """The JAX engine of one realpolitik game configuration.

    Example:
      env = RealpolitikJax("classic", scoring="sum_of_squares", max_years=10)
      step = jax.jit(jax.vmap(env.step))
      state = jax.vmap(env.init)(jax.random.split(key, 1024))
      state = step(state, actions, keys)  # actions int32 [B, P, K]

    `init` and `step` are pure (the instance only holds constants), so `jax.jit(env.step)` and
    `jax.vmap` work directly.

    Args:
      map: a shipped board name, a path to a map file, or a `Map`.
      scoring, max_years, random_end_prob, random_end_after: as in `RealpolitikRules.make`.
      dispatch_chunk: most games per chunk of the CPU's batched phase dispatch (None:
        `DISPATCH_CHUNK`, 256). A speed setting only: positions do not depend on it. When
        the batch is stepped in parts from host threads (`detente.lib.host_parallel`), each
        part with a core to itself, chunks of 32 adjudicate about 1.1x faster on the classic
        board; one call using every core is faster with the default (docs/realpolitik_jax.md).
        Ignored on accelerators, which keep the select over the three transitions.

    Raises:
      ValueError: bad parameters (see `RealpolitikRules.make`), or a `dispatch_chunk` that is
        not a positive integer.
    """

    def __init__(
        self,
        map: str | os.PathLike[str] | Map = "classic",  # noqa: A002
        *,
        scoring: str = "sum_of_squares",
        max_years: int = 10,
        random_end_prob: float = 0.0,
        random_end_after: int = 1,
        dispatch_chunk: int | None = None,
    ):
        if dispatch_chunk is not None and (
            isinstance(dispatch_chunk, bool)
            or not isinstance(dispatch_chunk, (int, np.integer))
            or dispatch_chunk < 1
        ):
            raise ValueError(
                f"dispatch_chunk must be a positive integer or None, got {dispatch_chunk!r}"
            )
        self.rules = RealpolitikRules.make(
            map, scoring, max_years, random_end_prob, random_end_after
        )
        self.board = B.board_arrays(self.rules.map, self.rules.horizon.solo)
        b = self.board
        # The same arrays as JAX constants, for indexing with traced values.
        self._jb = _JaxBoard(b)
        self._lt = L.legal_tables(b)
        self._routes = route_tables(b.sea_adj, b.sea_shore)  # convoy legality (DATC 6.G.19)
        # Retreat options: row t * L + l of `_retreat_adj` [2L, W] is the set of locations
        # next to location l for unit type t (0 army, 1 fleet) as bit words (`_bits`), and
        # `_retreat_into` [2 * L * N] counts those lying in each province.
        adj2 = np.stack([b.army_loc_adj, b.fleet_loc_adj])  # [2, L, L]
        self._retreat_adj = _bits.pack_np(adj2.reshape(2 * b.num_locations, b.num_locations))
        in_province = b.loc_province[:, None] == np.arange(b.num_provinces)[None, :]  # [L, N]
        self._retreat_into = (adj2.astype(np.int32) @ in_province.astype(np.int32)).reshape(-1)
        self._dispatch = _phase_dispatch(
            (self._movement, self._retreats, self._adjustments),
            batch_axis=(0, 2),
            tail_branches=(1, 2),
            max_chunk=None if dispatch_chunk is None else int(dispatch_chunk),
        )
        self._initial: State | None = None  # numpy, filled by the first `init`
        # Observation helpers: home-centre owner of each location (-1 none), and the power in
        # column j of power o's view, (o + j) % P.
        self._home_loc = b.home_owner[b.loc_province].astype(np.int32)
        pw = np.arange(b.num_players)
        self._view_power = ((pw[:, None] + pw[None, :]) % b.num_players).astype(np.int32)
        self._obs_cols = _obs_columns(b.num_players)
        self.spec = EnvSpec(
            name="realpolitik_jax" + self.rules.game_string()[len("realpolitik") :],
            num_players=b.num_players,
            obs_shape=(b.obs_size,),
            num_slots=b.num_slots,
            num_actions=b.num_actions,
            max_steps=self.rules.max_phases,
            symmetric=False,
            utility="general_sum" if scoring == "welfare" else "constant_sum",
            dynamics="simultaneous",
            chance=self.rules.random_end_prob > 0,
        )
        self._scoring = scoring
        self._max_year = b.first_year + self.rules.max_years - 1
        self._random_from = b.first_year + self.rules.random_end_after
        self._random_prob = self.rules.random_end_prob

    # ------------------------------------------------------------------------------------------
    # Public pure functions.

    def game(self) -> JaxGame:
        """The `JaxGame(spec, init, step)` triple of this configuration."""
        return JaxGame(spec=self.spec, init=self.init, step=self.step)

    def init(self, key: jax.Array) -> State:
        """The starting position (Spring movement of the first year).

        Args:
          key: a PRNG key (unused: the start is deterministic).

        Returns:
          The initial `State` with zero rewards.
        """
        del key
        if self._initial is None:
            # Computed once (a constant of every program that calls `init`, e.g. auto-reset
            # steps, instead of a second observation and mask per step).
            with jax.ensure_compile_time_eval():
                state = jax.jit(self._initial_state)()
            self._initial = jax.tree.map(np.asarray, state)
        return jax.tree.map(jnp.asarray, self._initial)

    def _initial_state(self) -> State:
        """The starting position, computed (`init` caches it as numpy)."""
        b = self._jb
        n = b.num_provinces
        core = Position(
            unit_owner=jnp.asarray(b.start_owner),
            unit_type=jnp.asarray(b.start_type),
            unit_loc=jnp.asarray(b.start_loc),
            dislodged_owner=jnp.full(n, -1, jnp.int32),
            dislodged_type=jnp.zeros(n, jnp.int32),
            dislodged_loc=jnp.zeros(n, jnp.int32),
            dislodged_origin=jnp.full(n, -1, jnp.int32),
            contested=jnp.zeros(n, bool),
            center_owner=jnp.asarray(b.start_centers),
            season=jnp.int32(SPRING),
            phase_kind=jnp.int32(MOVEMENT),
            year=jnp.int32(b.first_year),
            unsupported=jnp.zeros((), bool),
        )
        welfare = jnp.zeros(b.num_players, jnp.float32)
        return self._finish(
            core,
            welfare,
            rewards=jnp.zeros(b.num_players, jnp.float32),
            terminated=jnp.zeros((), bool),
            truncated=jnp.zeros((), bool),
            illegal=jnp.zeros(b.num_players, bool),
            step_count=jnp.zeros((), jnp.int32),
        )

    def step(self, state: State, actions: jax.Array, key: jax.Array) -> State:
        """Plays one phase.

        Args:
          state: the current `State` (one game).
          actions: int32 [P, K], order-table indices per slot; ignored for powers not acting.
          key: PRNG key (random end of the game, if configured).

        Returns:
          The next `State`; a finished game comes back unchanged with zero rewards.
        """
        b = self._jb
        actions = jnp.asarray(actions)
        chex.assert_shape(actions, (b.num_players, b.num_slots))
        chex.assert_type(actions, int)
        actions = actions.astype(jnp.int32)
        in_range = (actions >= 0) & (actions < b.num_actions)
        safe = jnp.clip(actions, 0, b.num_actions - 1)
        allowed = jnp.take_along_axis(state.legal_action_mask, safe[..., None], -1)[..., 0]
        illegal = state.acting & jnp.any(~(in_range & allowed), axis=1)
        any_illegal = jnp.any(illegal)
        done = state.terminated | state.truncated

        nxt = self._adjudicate(position_of(state), state.slot_location, safe)
        # A fusion boundary: the new position (small arrays) is materialised once rather than
        # its per-game selects being fused into the large mask and observation loops.
        nxt = jax.lax.optimization_barrier(nxt)
        welfare = state.welfare
        new_year = nxt.year > state.year
        unit_count, center_count = self._counts(nxt)
        welfare = jnp.where(
            new_year,
            welfare + jnp.maximum(center_count - unit_count, 0).astype(jnp.float32),
            welfare,
        )
        terminated = self._ended(nxt, unit_count, center_count, key)
        truncated = jnp.zeros((), bool)
        returns = self._returns(welfare, center_count, unit_count, terminated)
        old_returns = state.welfare if self._scoring == "welfare" else jnp.zeros_like(welfare)
        rewards = (returns - old_returns).astype(jnp.float32)
        new_done = terminated
        new_slot, new_acting, _ = self._slots_of(nxt, new_done)
        # A finished game stays as it is; an illegal action ends the game in its position. The
        # mask and observation are computed once, from the position kept: a finished game's
        # mask is all True and its observation is that of its position (`_finish`), so neither
        # is read back from `state` (the largest arrays of the state).
        keep = done | any_illegal

        def pick(old, new):
            return jnp.where(keep, old, new)

        core = jax.tree.map(pick, position_of(state), nxt)
        welfare = pick(state.welfare, welfare)
        slot = pick(state.slot_location, new_slot)
        mask = self._mask(nxt, new_slot, new_acting, keep | new_done)
        penalty = jnp.where(illegal, jnp.float32(ILLEGAL_REWARD), jnp.float32(0.0))
        return State(
            observation=self._observe(core, welfare, slot, self._adjust_counts(core)),
            legal_action_mask=mask,
            acting=jnp.where(keep, done & state.acting, new_acting),
            rewards=jnp.where(done, 0.0, jnp.where(any_illegal, penalty, rewards)),
            terminated=jnp.where(done, state.terminated, any_illegal | terminated),
            truncated=pick(state.truncated, truncated),
            illegal=jnp.where(done, state.illegal, illegal),
            step_count=jnp.where(done, state.step_count, state.step_count + 1),
            welfare=welfare,
            slot_location=slot,
            **core._asdict(),
        )

    def adjudicate(self, state: State, actions: jax.Array) -> Position:
        """The rules alone: the position after one phase of orders (one game; vmap for a batch).

        The vectorised adjudicator behind `step`: movement (support, convoy, cuts, standoffs,
        dislodgements), retreats or adjustments by the state's phase, then the season change
        (centre ownership after the Fall; a Winter with nothing to adjust is skipped). Unlike
        `step`, it neither checks legality nor derives the contract's fields (mask,
        observation, rewards, end of game), so searches and planners that generate their own
        orders pay for the rules only.

        Args:
          state: the current `State`; its `slot_location` says which unit each slot orders.
          actions: int32 [P, K], order-table indices per slot, legal under
            `state.legal_action_mask` (an illegal index decodes to an arbitrary order; `step`
            is the checked entry point). Slots that order nothing are ignored.

        Returns:
          The next `Position`.
        """
        b = self._jb
        actions = jnp.asarray(actions)
        chex.assert_shape(actions, (b.num_players, b.num_slots))
        chex.assert_type(actions, int)
        safe = jnp.clip(actions.astype(jnp.int32), 0, b.num_actions - 1)
        return self._adjudicate(position_of(state), state.slot_location, safe)

    def _adjudicate(self, core: Position, slot: jax.Array, actions: jax.Array) -> Position:
        return self._dispatch(core, slot, actions)

    # ------------------------------------------------------------------------------------------
    # Derived quantities.

    def _counts(self, core: Position) -> tuple[jax.Array, jax.Array]:
        p = self.board.num_players
        pw = jnp.arange(p)
        units = jnp.sum(core.unit_owner[None, :] == pw[:, None], axis=1)
        centers = jnp.sum(core.center_owner[None, :] == pw[:, None], axis=1)
        return units, centers

    def _adjust_counts(self, core: Position) -> jax.Array:
        """Builds (+) or disbands (-) per power, int32 [P] (engine.adjustment_counts)."""
        b = self._jb
        units, centers = self._counts(core)
        n = centers - units
        owner_prov = (
            jnp.full(b.num_provinces, -1, jnp.int32).at[b.center_province].set(core.center_owner)
        )
        free_home = (owner_prov == b.home_owner) & (b.home_owner >= 0) & (core.unit_owner < 0)
        free = jnp.sum(
            free_home[None, :] & (b.home_owner[None, :] == jnp.arange(b.num_players)[:, None]),
            axis=1,
        )
        return jnp.where(n > 0, jnp.minimum(n, free), n)

    def _ended(self, core, unit_count, center_count, key=None) -> jax.Array:
        """bool []: the game is over (solo, one power left, year limit, or a random end drawn
        from `key`; no random end without a key). All are ends by the rules: `terminated`."""
        b = self._jb
        solo = jnp.any(center_count >= b.victory_centers) & (self._scoring != "welfare")
        alive = jnp.sum((center_count + unit_count) > 0)
        spring = (core.season == SPRING) & (core.phase_kind == MOVEMENT)
        ended = solo | (alive <= 1) | (spring & (core.year > self._max_year))
        if self._random_prob > 0 and key is not None:
            draw = jax.random.uniform(key) < self._random_prob
            ended |= spring & (core.year >= self._random_from) & draw
        return ended

    def _returns(self, welfare, center_count, unit_count, done):
        if self._scoring == "welfare":
            return welfare
        b = self._jb
        c = center_count.astype(jnp.float32)
        winner = jnp.argmax(center_count)
        has_winner = center_count[winner] >= b.victory_centers
        solo = (jnp.arange(b.num_players) == winner).astype(jnp.float32)
        if self._scoring == "draw_size":
            alive = (center_count + unit_count) > 0
            other = alive / jnp.maximum(jnp.sum(alive), 1)
        else:
            sq = c * c
            total = jnp.sum(sq)
            other = jnp.where(total > 0, sq / jnp.where(total > 0, total, 1.0), 0.0)
        scores = jnp.where(has_winner, solo, other).astype(jnp.float32)
        return jnp.where(done, scores, jnp.zeros_like(scores))

    def _loc_types(self, owner, utype, loc):
        num_l = self.board.num_locations
        at = jnp.where(owner >= 0, loc, num_l)
        t = jnp.zeros(num_l, jnp.int32).at[at].set(utype, mode="drop")
        o = jnp.full(num_l, -1, jnp.int32).at[at].set(owner, mode="drop")
        return t, o

    def _slots(self, core: Position, adjust: jax.Array):
        """Slot locations int32 [P, K] and acting bool [P] of the phase."""
        b = self._jb
        num_p, num_l, k = b.num_players, b.num_locations, b.num_slots
        _, unit_o = self._loc_types(core.unit_owner, core.unit_type, core.unit_loc)
        _, dis_o = self._loc_types(core.dislodged_owner, core.dislodged_type, core.dislodged_loc)
        pw = jnp.arange(num_p)[:, None]
        owner_prov = (
            jnp.full(b.num_provinces, -1, jnp.int32).at[b.center_province].set(core.center_owner)
        )
        loc_prov = b.loc_province
        vacant_home = (
            (jnp.arange(num_l) == loc_prov)
            & (b.home_owner[loc_prov] >= 0)
            & (owner_prov[loc_prov] == b.home_owner[loc_prov])
            & (core.unit_owner[loc_prov] < 0)
        )
        sel_m = unit_o[None, :] == pw
        sel_r = dis_o[None, :] == pw
        build = (vacant_home[None, :] & (b.home_owner[loc_prov][None, :] == pw)) & (
            adjust[:, None] > 0
        )
        disband = sel_m & (adjust[:, None] < 0)
        sel = jnp.where(
            core.phase_kind == MOVEMENT,
            sel_m,
            jnp.where(core.phase_kind == RETREAT, sel_r, build | disband),
        )
        rank = _cumsum(sel.astype(jnp.int32)) - 1
        rows = jnp.broadcast_to(pw, (num_p, num_l))
        cols = jnp.where(sel, rank, k)
        locs = jnp.broadcast_to(jnp.arange(num_l)[None, :], (num_p, num_l))
        slot = jnp.full((num_p, k), -1, jnp.int32).at[rows, cols].set(locs, mode="drop")
        return slot, jnp.any(sel, axis=1)

    def _convoy_reach(self, core: Position):
        """Army convoy destinations bool [N, N] and each location's fleet-group shore [L, N]."""
        b = self._jb
        s = b.num_seas
        if s == 0:
            return (
                jnp.zeros((b.num_provinces, b.num_provinces), bool),
                jnp.zeros((b.num_locations, b.num_provinces), bool),
            )
        occ = core.unit_owner[b.sea_province] >= 0
        label = jnp.where(occ, jnp.arange(s), s)
        adj = jnp.asarray(b.sea_adj) & occ[None, :] & occ[:, None]

        def body(_, lab):
            return jnp.where(occ, jnp.minimum(lab, jnp.min(jnp.where(adj, lab[None, :], s), 1)), s)

        label = jax.lax.fori_loop(0, s, body, label)
        onehot = (label[None, :] == jnp.arange(s)[:, None]).astype(jnp.float32)  # [c, s]
        shore = (onehot @ b.sea_shore.astype(jnp.float32)) > 0  # [c, N]
        sf = shore.astype(jnp.float32)
        pair = (sf.T @ sf) > 0
        pair &= ~jnp.eye(b.num_provinces, dtype=bool)
        loc_sea = b.sea_index[b.loc_province]
        my_label = _gather(label, jnp.asarray(loc_sea), s)
        my_shore = jnp.where((my_label < s)[:, None], shore[jnp.clip(my_label, 0, s - 1)], False)
        return pair, my_shore

    def _mask(self, core: Position, slot, acting, all_true) -> jax.Array:
        """The legal-action mask bool [P, K, A] of a position (see `_legal.py`)."""
        ut, _ = self._loc_types(core.unit_owner, core.unit_type, core.unit_loc)
        dt, _ = self._loc_types(core.dislodged_owner, core.dislodged_type, core.dislodged_loc)
        pair, my_shore = self._convoy_reach(core)
        values = L.entry_values(
            self._lt,
            self.board.num_actions,
            core.phase_kind,
            ut,
            pair,
            my_shore,
            core.unit_owner >= 0,
            core.contested,
            core.dislodged_origin,
        )
        row_type = jnp.where(core.phase_kind == RETREAT, dt, ut)
        windows = L.row_windows(self._lt, core.phase_kind, row_type)
        return L.mask_rows(self._lt, values, windows, slot, acting, all_true)

    def _observe(self, core: Position, welfare, slot, adjust) -> jax.Array:
        """Every power's observation, float32 [P, obs] (the reference's `observation.py`).

        View o lists the powers starting from o: its power column j is power (o + j) % P. The
        per-location blocks are written as one broadcast comparison (`who[l, c] == power(o, j)`,
        or the location flags) and the slot rows as another, without per-view gathers.
        """
        b = self._jb
        num_p, num_l = b.num_players, b.num_locations
        ut, uo = self._loc_types(core.unit_owner, core.unit_type, core.unit_loc)
        dt, do = self._loc_types(core.dislodged_owner, core.dislodged_type, core.dislodged_loc)
        owner_prov = (
            jnp.full(b.num_provinces, -1, jnp.int32).at[b.center_province].set(core.center_owner)
        )
        owner_loc = owner_prov[b.loc_province]
        f = jnp.float32
        # Power of each of the 6 per-power features of each location, -1 for none: army, fleet,
        # dislodged army, dislodged fleet, centre owner, home centre owner.
        who = jnp.stack(
            [
                jnp.where(ut == ARMY, uo, -1),
                jnp.where(ut == FLEET, uo, -1),
                jnp.where(dt == ARMY, do, -1),
                jnp.where(dt == FLEET, do, -1),
                owner_loc,
                jnp.asarray(self._home_loc),
            ],
            axis=1,
        )  # [L, 6]
        static = jnp.asarray(b.obs_static)
        extra = jnp.stack(
            [
                static[:, 0],
                static[:, 0] * (owner_loc < 0),
                core.contested[b.loc_province].astype(f),
                *(static[:, c] for c in range(3, 7)),
            ],
            axis=1,
        )  # [L, 7], the location flags
        # Column k of a location's block: feature k // P compared with the power of column
        # k % P, then the 7 flags. The columns are spread by a 0/1 matrix product (exact; its
        # row-major output keeps the one large fusion below a plain broadcast comparison).
        cols = self._obs_cols
        small = jnp.concatenate([(who + 1).astype(f), extra], axis=1)  # [L, 13], all >= 0
        spread = small @ jnp.asarray(cols.spread)  # [L, 6P + 7]
        match = spread[None, :, :] == jnp.asarray(cols.power)[:, None, :]  # [P, L, 6P + 7]
        loc_block = jnp.where(jnp.asarray(cols.is_extra), spread[None], match.astype(f))
        loc_block = loc_block.reshape(num_p, -1)
        glob = jnp.concatenate(
            [
                jax.nn.one_hot(core.season, 3, dtype=f),
                jax.nn.one_hot(core.phase_kind, 3, dtype=f),
                ((core.year - b.first_year) / self.rules.max_years).astype(f)[None],
            ]
        )
        units, centers = self._counts(core)
        adj = jnp.where(core.phase_kind == ADJUSTMENT, adjust, 0)
        per_power = jnp.stack([centers, units, adj, welfare]).astype(f) / b.num_centers  # [4, P]
        power = jnp.asarray(self._view_power)  # [P, P]: power (o + j) % P
        per_view = jnp.transpose(per_power[:, power], (1, 0, 2)).reshape(num_p, 4 * num_p)
        slot_rows = (slot[:, :, None] == jnp.arange(num_l)[None, None, :]).astype(f)  # [P, K, L]
        return jnp.concatenate(
            [
                loc_block,
                jnp.broadcast_to(glob, (num_p,) + glob.shape),
                per_view,
                slot_rows.reshape(num_p, -1),
            ],
            axis=1,
        )

    def _slots_of(self, core: Position, done: jax.Array):
        """Slots int32 [P, K], acting bool [P] and adjustments int32 [P] of a position."""
        adjust = self._adjust_counts(core)
        slot, acting = self._slots(core, adjust)
        return jnp.where(done, -1, slot), acting & ~done, adjust

    def _finish(self, core, welfare, *, rewards, terminated, truncated, illegal, step_count):
        """Fills the contract fields (observation, mask, acting, slots) of a new position."""
        done = terminated | truncated
        slot, acting, adjust = self._slots_of(core, done)
        mask = self._mask(core, slot, acting, done)
        return State(
            observation=self._observe(core, welfare, slot, adjust),
            legal_action_mask=mask,
            acting=acting,
            rewards=rewards,
            terminated=terminated,
            truncated=truncated,
            illegal=illegal,
            step_count=step_count,
            welfare=welfare,
            slot_location=slot,
            **core._asdict(),
        )

    # ------------------------------------------------------------------------------------------
    # Phase transitions (one per phase kind; same output structure for lax.switch).

    def _after_fall(self, core: Position) -> Position:
        b = self._jb
        owner_c = core.unit_owner[b.center_province]
        centers = jnp.where(owner_c >= 0, owner_c, core.center_owner)
        core = core._replace(center_owner=centers)
        winter = jnp.any(self._adjust_counts(core) != 0)
        return core._replace(
            season=jnp.where(winter, WINTER, SPRING).astype(jnp.int32),
            phase_kind=jnp.where(winter, ADJUSTMENT, MOVEMENT).astype(jnp.int32),
            year=jnp.where(winter, core.year, core.year + 1).astype(jnp.int32),
        )

    def _next_after(self, core: Position) -> Position:
        """Spring -> Fall movement; Fall -> centre update, then Winter or next Spring."""
        n = self.board.num_provinces
        cleared = core._replace(
            dislodged_owner=jnp.full(n, -1, jnp.int32),
            dislodged_type=jnp.zeros(n, jnp.int32),
            dislodged_loc=jnp.zeros(n, jnp.int32),
            dislodged_origin=jnp.full(n, -1, jnp.int32),
            contested=jnp.zeros(n, bool),
        )
        fall = self._after_fall(cleared)
        spring = cleared._replace(
            season=jnp.int32(FALL), phase_kind=jnp.int32(MOVEMENT), year=cleared.year
        )
        return jax.tree.map(lambda x, y: jnp.where(core.season == SPRING, x, y), spring, fall)

    def _entries(self, loc, action, valid):
        """The order-table entries `action` of locations `loc` (same shapes): entry kind (-1
        where not `valid`), target location, target province, auxiliary province."""
        b = self._jb
        return (
            jnp.where(valid, b.e_kind[loc, action], -1),
            b.e_tgt_loc[loc, action],
            b.e_tgt_prov[loc, action],
            b.e_aux_prov[loc, action],
        )

    def _slot_provinces(self, slot):
        """int32 [P * K]: the province of each slot's unit, N for an unused slot."""
        flat = slot.reshape(-1)
        return jnp.where(
            flat >= 0, self._jb.loc_province[jnp.clip(flat, 0)], self._jb.num_provinces
        )

    def _decode(self, slot, actions):
        """Per slot [P * K]: province of its unit, entry kind and decoded fields."""
        flat = slot.reshape(-1)
        return (
            self._slot_provinces(slot),
            *self._entries(jnp.clip(flat, 0), actions.reshape(-1), flat >= 0),
        )

    def _decode_provinces(self, slot, actions):
        """Per province [N]: the entry kind and decoded fields of its unit's order (kind -1
        where no slot orders a unit there).

        Movement reads every order by province. One scatter inverts the slots (the slot of
        each province) and the order tables are read at N provinces, instead of reading them
        at P * K slots and scattering every decoded field to its province.
        """
        n = self._jb.num_provinces
        flat = slot.reshape(-1)
        which = jnp.full(n + 1, -1, jnp.int32)
        which = which.at[self._slot_provinces(slot)].set(jnp.arange(flat.shape[0]))[:n]
        loc_action = jnp.stack([flat, actions.reshape(-1)], 1)[jnp.clip(which, 0)]  # [N, 2]
        return self._entries(jnp.clip(loc_action[:, 0], 0), loc_action[:, 1], which >= 0)

    def _movement(self, core: Position, slot, actions, axis_name=None) -> Position:
        b = self._jb
        n = b.num_provinces
        ek, tgt_loc, tgt_prov, aux_prov = self._decode_provinces(slot, actions)
        is_move = (ek == B.E_MOVE) | (ek == B.E_VIA)
        is_sup = (ek == B.E_SUP_HOLD) | (ek == B.E_SUP_MOVE)
        is_conv = ek == B.E_CONVOY
        orders = M.MovementOrders(
            owner=core.unit_owner,
            fleet=core.unit_type == FLEET,
            move=is_move,
            support=is_sup,
            convoy=is_conv,
            dest=jnp.where(is_move, tgt_prov, -1),
            via=ek == B.E_VIA,
            aux=jnp.where(is_sup | is_conv, aux_prov, -1),
            aux_dest=jnp.where((ek == B.E_SUP_MOVE) | is_conv, tgt_prov, -1),
        )
        dest_loc = jnp.where(is_move, tgt_loc, 0)
        res = M.resolve(
            orders,
            jnp.asarray(b.fleet_prov_adj),
            jnp.asarray(b.sea_province),
            jnp.asarray(b.sea_adj),
            (
                jnp.asarray(self._routes.pair_seas),
                jnp.asarray(b.sea_index),
            ),
            axis_name=axis_name,
        )
        present = core.unit_owner >= 0
        stay = present & ~res.moved & ~res.dislodged
        at = jnp.where(res.moved, orders.dest, n)
        owner = jnp.where(stay, core.unit_owner, -1).at[at].set(core.unit_owner, mode="drop")
        utype = jnp.where(stay, core.unit_type, 0).at[at].set(core.unit_type, mode="drop")
        uloc = jnp.where(stay, core.unit_loc, 0).at[at].set(dest_loc, mode="drop")
        # Retreat options of each dislodged unit (engine._retreat_options): the locations next
        # to it in provinces neither occupied nor contested, less those in the province its
        # attacker came from. Counted for each province's unit as the popcount of two bit
        # sets' intersection ([N, W] words), not an [N, L] table per game.
        enterable = (owner < 0) & ~res.contested  # [N]
        enter = _bits.pack(enterable[b.loc_province])  # [W]
        kind_loc = (core.unit_type == FLEET).astype(jnp.int32) * b.num_locations + core.unit_loc
        options = _bits.count(jnp.asarray(self._retreat_adj)[kind_loc] & enter[None])  # [N]
        origin = jnp.clip(res.origin, 0)
        into_origin = jnp.asarray(self._retreat_into)[kind_loc * n + origin]
        lost = jnp.where((res.origin >= 0) & enterable[origin], into_origin, 0)
        keep = res.dislodged & (options - lost > 0)
        any_retreat = jnp.any(keep)
        moved = core._replace(
            unit_owner=owner,
            unit_type=utype,
            unit_loc=uloc,
            dislodged_owner=jnp.where(keep, core.unit_owner, -1),
            dislodged_type=jnp.where(keep, core.unit_type, 0),
            dislodged_loc=jnp.where(keep, core.unit_loc, 0),
            dislodged_origin=jnp.where(keep, res.origin, -1),
            contested=res.contested,
            unsupported=core.unsupported | res.unsupported,
        )
        retreat = moved._replace(phase_kind=jnp.int32(RETREAT))
        onward = self._next_after(moved)
        return jax.tree.map(lambda x, y: jnp.where(any_retreat, x, y), retreat, onward)

    def _retreats(self, core: Position, slot, actions) -> Position:
        n = self.board.num_provinces
        prov, ek, tgt_loc, tgt_prov, _ = self._decode(slot, actions)
        go = ek == B.E_RETREAT
        count = jnp.zeros(n, jnp.int32).at[jnp.where(go, tgt_prov, n)].add(1, mode="drop")
        ok = go & (count[jnp.clip(tgt_prov, 0, n - 1)] == 1)
        src = jnp.clip(prov, 0, n - 1)
        at = jnp.where(ok, tgt_prov, n)
        core = core._replace(
            unit_owner=core.unit_owner.at[at].set(core.dislodged_owner[src], mode="drop"),
            unit_type=core.unit_type.at[at].set(core.dislodged_type[src], mode="drop"),
            unit_loc=core.unit_loc.at[at].set(tgt_loc, mode="drop"),
        )
        return self._next_after(core)

    def _adjustments(self, core: Position, slot, actions, axis_name=None) -> Position:
        b = self._jb
        n, num_p, k = b.num_provinces, b.num_players, b.num_slots
        adjust = self._adjust_counts(core)
        prov, ek, tgt_loc, _, _ = self._decode(slot, actions)
        power = jnp.repeat(jnp.arange(num_p), k)
        kth = jnp.tile(jnp.arange(k), num_p)
        need = adjust[power]
        # Builds: every build slot gives a build or WAIVE, so the first `n` slots count.
        build = ((ek == B.E_BUILD_A) | (ek == B.E_BUILD_F)) & (kth < need)
        at = jnp.where(build, prov, n)
        owner = core.unit_owner.at[at].set(power, mode="drop")
        utype = core.unit_type.at[at].set(jnp.where(ek == B.E_BUILD_A, ARMY, FLEET), mode="drop")
        uloc = core.unit_loc.at[at].set(tgt_loc, mode="drop")
        # Disbands: the first `-n` disband orders count, then civil disorder.
        is_d = ek == B.E_DISBAND
        # The slot's rank among its power's disband orders: the power's disband slots as a
        # bit set, counted below the slot (no cumulative sum over [P, K]).
        disbands = _bits.sets_of(jnp.where(is_d, power, -1), kth, num_p, k)  # [P, W]
        nth = _bits.count_below(disbands[power], kth + 1)
        gone_slot = is_d & (nth <= -need)
        gone = jnp.zeros(n, bool).at[jnp.where(gone_slot, prov, n)].set(True, mode="drop")
        gone_count = jnp.sum(gone_slot.reshape(num_p, k), axis=1)
        left = jnp.maximum(-adjust - gone_count, 0)  # [P]
        po = core.unit_owner
        remaining = (po >= 0) & ~gone
        rank = b.disorder_rank[jnp.clip(po, 0), core.unit_loc, jnp.clip(core.unit_type - 1, 0)]

        def civil_disorder():
            # Each unit's place in its power's disorder order among the units that remain:
            # the power's remaining ranks (distinct, below 2L) as a bit set, counted below
            # the unit's rank (not [N, N] comparisons).
            ranks = _bits.sets_of(jnp.where(remaining, po, -1), rank, num_p, 2 * b.num_locations)
            before = _bits.count_below(ranks[jnp.clip(po, 0)], rank)
            return remaining & (before < _gather(left, po, 0))

        # Only where a power left disbands unordered: under a chunk's `vmap` axis a `lax.cond`
        # on a predicate reduced over the chunk, which `vmap` keeps a real branch.
        needed = any_in_batch(jnp.any(left > 0), axis_name)
        disorder = jax.lax.cond(needed, civil_disorder, lambda: jnp.zeros(n, bool))
        removed = gone | disorder
        owner = jnp.where(removed, -1, owner)
        utype = jnp.where(removed, 0, utype)
        uloc = jnp.where(removed, 0, uloc)
        return core._replace(
            unit_owner=owner,
            unit_type=utype,
            unit_loc=uloc,
            season=jnp.int32(SPRING),
            phase_kind=jnp.int32(MOVEMENT),
            year=core.year + 1,
        )

    # ------------------------------------------------------------------------------------------
    # Conversions to and from the reference engine's JSON positions (host side, one game).

    def from_position(
        self,
        position: Mapping[str, Any],
        welfare: Any = None,
        *,
        check_end: bool = True,
    ) -> State:
        """The `State` of a reference position (status evaluated without a random end).

        Args:
          position: a position dict (`detente.games.realpolitik` format).
          welfare: float [P] banked welfare points, default zeros.
          check_end: evaluate game end (solo, one power left, year limit); False leaves the
            game running whatever the position (to adjudicate test positions such as DATC's).

        Returns:
          A `State` with zero rewards.

        Raises:
          ValueError: a power has more units, dislodged units or owned home centres than the K
            slots (`actions.slot_count`).
        """
        b = self.board
        m = b.map
        n = b.num_provinces
        owner = np.full(n, -1, np.int32)
        utype = np.zeros(n, np.int32)
        uloc = np.zeros(n, np.int32)
        downer = np.full(n, -1, np.int32)
        dtype = np.zeros(n, np.int32)
        dloc = np.zeros(n, np.int32)
        dorigin = np.full(n, -1, np.int32)
        for pw, units in position["units"].items():
            for u in units:
                t, name = u.split(" ")
                loc = m.loc_index[name]
                p = m.loc_province[loc]
                owner[p], utype[p], uloc[p] = m.power_index[pw], B._type_code(t), loc
        for pw, dis in position["dislodged"].items():
            for u, origin in dis.items():
                t, name = u.split(" ")
                loc = m.loc_index[name]
                p = m.loc_province[loc]
                downer[p], dtype[p], dloc[p] = m.power_index[pw], B._type_code(t), loc
                dorigin[p] = -1 if origin is None else m.loc_index[origin]
        contested = np.zeros(n, bool)
        for c in position.get("contested", ()):
            contested[m.loc_index[c]] = True
        centers = np.full(b.num_centers, -1, np.int32)
        for pw, cs in position["centers"].items():
            for c in cs:
                centers[b.center_of[m.loc_index[c]]] = m.power_index[pw]
        for pw in m.powers:  # an upper bound of each power's slots in any phase kind
            homes = set(position["centers"].get(pw, ())) & set(m.home_centers[pw])
            count = max(
                len(position["units"].get(pw, ())),
                len(position["dislodged"].get(pw, {})),
                len(homes),
            )
            if count > b.num_slots:
                raise too_many_slots(self.rules.tables, pw, count, position["phase"])
        season, year, kind = phase_parts(position["phase"])
        core = Position(
            unit_owner=jnp.asarray(owner),
            unit_type=jnp.asarray(utype),
            unit_loc=jnp.asarray(uloc),
            dislodged_owner=jnp.asarray(downer),
            dislodged_type=jnp.asarray(dtype),
            dislodged_loc=jnp.asarray(dloc),
            dislodged_origin=jnp.asarray(dorigin),
            contested=jnp.asarray(contested),
            center_owner=jnp.asarray(centers),
            season=jnp.int32("SFW".index(season)),
            phase_kind=jnp.int32("MRA".index(kind)),
            year=jnp.int32(year),
            unsupported=jnp.zeros((), bool),
        )
        welfare = np.zeros(b.num_players, np.float32) if welfare is None else welfare
        return self._from_core(core, jnp.asarray(welfare, jnp.float32), check_end)

    @functools.partial(jax.jit, static_argnums=(0, 3))
    def _from_core(self, core: Position, welfare: jax.Array, check_end: bool) -> State:
        b = self._jb
        units, centers_n = self._counts(core)
        terminated = self._ended(core, units, centers_n) & check_end
        truncated = jnp.zeros((), bool)
        return self._finish(
            core,
            welfare,
            rewards=jnp.zeros(b.num_players, jnp.float32),
            terminated=terminated,
            truncated=truncated,
            illegal=jnp.zeros(b.num_players, bool),
            step_count=jnp.zeros((), jnp.int32),
        )

    def to_position(self, state: State) -> dict:
        """The reference position dict of one (unbatched) `State`."""
        b = self.board
        m = b.map
        s = jax.tree.map(np.asarray, state)
        units: dict[str, list[str]] = {pw: [] for pw in m.powers}
        dislodged: dict[str, dict[str, str | None]] = {pw: {} for pw in m.powers}
        for p in range(b.num_provinces):
            if s.unit_owner[p] >= 0:
                t = "A" if s.unit_type[p] == ARMY else "F"
                units[m.powers[s.unit_owner[p]]].append(f"{t} {m.locations[s.unit_loc[p]]}")
            if s.dislodged_owner[p] >= 0:
                t = "A" if s.dislodged_type[p] == ARMY else "F"
                o = s.dislodged_origin[p]
                dislodged[m.powers[s.dislodged_owner[p]]][
                    f"{t} {m.locations[s.dislodged_loc[p]]}"
                ] = None if o < 0 else m.provinces[o]
        centers: dict[str, list[str]] = {pw: [] for pw in m.powers}
        for c, o in enumerate(s.center_owner):
            if o >= 0:
                centers[m.powers[o]].append(m.provinces[b.center_province[c]])
        phase = f"{'SFW'[int(s.season)]}{int(s.year)}{'MRA'[int(s.phase_kind)]}"
        return {
            "phase": phase,
            "units": {pw: sorted(v) for pw, v in units.items()},
            "centers": {pw: sorted(v) for pw, v in centers.items()},
            "dislodged": {pw: dict(sorted(v.items())) for pw, v in dislodged.items()},
            "contested": sorted(m.provinces[p] for p in np.flatnonzero(s.contested)),
        }
