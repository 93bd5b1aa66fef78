"""The OpenSpiel adapter: B pyspiel games stepped together behind the environment contract.

Any registered OpenSpiel game (C++ or Python; sequential or simultaneous; with chance; any
number of players) is presented as fixed-shape numpy arrays (see `detente.lib.spec`):

* K = 1 action slot per player and A = `game.num_distinct_actions()`.
* Observations are the game's information-state tensor when it has one (perfect recall),
  else its observation tensor, else nothing; a one-hot of the observing player's seat is
  appended, so a single network can play every seat. Shape [obs_size + P], flat.
* Chance nodes are resolved inside `reset`/`step` from a per-game `np.random.Generator`
  seeded with `(seed, b)`: game b's trajectory depends only on the seed, b and the actions,
  never on the batch size or on any global RNG.
* The host adapter is stateful because pyspiel states are mutable C++ objects and cloning
  them at every step would double the cost; randomness is still an explicit seed.

Edge cases (decided here, once; tested in tests/lib/test_openspiel_env.py):
* Stepping a finished game leaves it unchanged with zero rewards, unless `auto_reset`.
* With `auto_reset=True` the final timestep (final observation, terminated/truncated set,
  acting all False) is returned as is; the next `step` resets that game (its actions are
  ignored) and returns its initial timestep with zero rewards.
* Actions of players who are not acting are ignored. An illegal or malformed action raises
  `IllegalActionError` naming the game, the game index, the player and the action; the batch
  is left as it was before the call.
* `terminated` (the rules ended the game) and `truncated` (`max_steps` reached) are separate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyspiel

from detente.lib.spec import EnvSpec, TimeStep

_UTILITY = {
    pyspiel.GameType.Utility.ZERO_SUM: "zero_sum",
    pyspiel.GameType.Utility.CONSTANT_SUM: "constant_sum",
    pyspiel.GameType.Utility.GENERAL_SUM: "general_sum",
    pyspiel.GameType.Utility.IDENTICAL: "identical",
}
OBSERVATION_TYPES = ("auto", "info_state", "observation", "none")


class IllegalActionError(ValueError):
    """An action that is out of range, malformed or illegal in the current state."""


class ObservationEncoder:
    """Encodes one player's view of a pyspiel state as a flat float32 vector.

    The layout is the game's tensor (information state or observation, flattened) followed by a
    one-hot of the observing player's seat: [tensor_size + P]. The exact evaluators use the
    same encoder, so a policy sees identical inputs in training and in evaluation.

    Args:
      game: a pyspiel game.
      observation_type: "auto" (information state if provided, else observation, else
        none), "info_state", "observation" or "none" (seat one-hot only).
    """

    def __init__(self, game: pyspiel.Game, observation_type: str = "auto"):
        if observation_type not in OBSERVATION_TYPES:
            raise ValueError(
                f"observation_type {observation_type!r} is not one of {OBSERVATION_TYPES}"
            )
        game_type = game.get_type()
        if observation_type == "auto":
            if game_type.provides_information_state_tensor:
                observation_type = "info_state"
            elif game_type.provides_observation_tensor:
                observation_type = "observation"
            else:
                observation_type = "none"
        if observation_type == "info_state":
            if not game_type.provides_information_state_tensor:
                raise ValueError(
                    f"game {game} provides no information-state tensor; use "
                    "observation_type='observation' or 'none'"
                )
            self._size = int(np.prod(game.information_state_tensor_shape()))
            self._tensor = pyspiel.State.information_state_tensor
        elif observation_type == "observation":
            if not game_type.provides_observation_tensor:
                raise ValueError(
                    f"game {game} provides no observation tensor; use "
                    "observation_type='info_state' or 'none'"
                )
            self._size = int(np.prod(game.observation_tensor_shape()))
            self._tensor = pyspiel.State.observation_tensor
        else:
            self._size = 0
            self._tensor = None
        self.observation_type = observation_type
        self.num_players = game.num_players()
        self.size = self._size + self.num_players

    def encode_into(self, state: pyspiel.State, player: int, out: np.ndarray) -> None:
        """Writes player `player`'s view of `state` into `out` (float32 [size], zeroed)."""
        if self._tensor is not None:
            try:
                out[: self._size] = self._tensor(state, player)
            except pyspiel.SpielError:
                # Some games define no tensor at terminal states; the view is then empty.
                pass
        out[self._size + player] = 1.0

    def encode(self, state: pyspiel.State, player: int) -> np.ndarray:
        """Returns player `player`'s view of `state` as float32 [size]."""
        out = np.zeros(self.size, np.float32)
        self.encode_into(state, player, out)
        return out


def env_spec_for(
    game: pyspiel.Game, observation_type: str = "auto", max_steps: int | None = None
) -> EnvSpec:
    """The `EnvSpec` of an OpenSpiel game as seen through `OpenSpielEnv`."""
    game_type = game.get_type()
    dynamics = game_type.dynamics
    if dynamics not in (
        pyspiel.GameType.Dynamics.SEQUENTIAL,
        pyspiel.GameType.Dynamics.SIMULTANEOUS,
    ):
        raise ValueError(
            f"game {game} has dynamics {dynamics.name}; the environment contract accepts "
            "sequential or simultaneous games"
        )
    encoder = ObservationEncoder(game, observation_type)
    rules_length = game.max_game_length()
    return EnvSpec(
        name=str(game),
        num_players=game.num_players(),
        obs_shape=(encoder.size,),
        num_slots=1,
        num_actions=game.num_distinct_actions(),
        max_steps=int(min(rules_length, max_steps) if max_steps else rules_length),
        symmetric=False,
        utility=_UTILITY[game_type.utility],
        dynamics="simultaneous"
        if dynamics == pyspiel.GameType.Dynamics.SIMULTANEOUS
        else "sequential",
        chance=game_type.chance_mode != pyspiel.GameType.ChanceMode.DETERMINISTIC,
    )


def _sample_chance(state: pyspiel.State, rng: np.random.Generator) -> None:
    """Resolves chance nodes until a decision or terminal node."""
    while state.is_chance_node():
        outcomes = state.chance_outcomes()
        u = rng.random()
        cumulative = 0.0
        action = outcomes[-1][0]
        for outcome, probability in outcomes:
            cumulative += probability
            if u < cumulative:
                action = outcome
                break
        state.apply_action(action)


class OpenSpielEnv:
    """A batch of B OpenSpiel games behind the environment contract.

    Example:
      env = OpenSpielEnv(detente.games.load("kuhn_poker"), batch_size=64)
      ts = env.reset(seed=0)
      ts = env.step(actions)  # int32 [B, P, 1] (or [B, P])

    Args:
      game: a pyspiel game (see `detente.games.load`).
      batch_size: B, number of games stepped together.
      observation_type: see `ObservationEncoder`.
      max_steps: truncate a game after this many steps (None: only the rules end games).
      auto_reset: reset finished games on the following step (see the module docstring).
    """

    def __init__(
        self,
        game: pyspiel.Game,
        batch_size: int,
        *,
        observation_type: str = "auto",
        max_steps: int | None = None,
        auto_reset: bool = False,
    ):
        if not isinstance(game, pyspiel.Game):
            raise TypeError(
                f"game must be a pyspiel.Game (see detente.games.load), got {type(game)}"
            )
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if max_steps is not None and (not isinstance(max_steps, int) or max_steps < 1):
            raise ValueError(f"max_steps must be None or a positive integer, got {max_steps!r}")
        self.game = game
        self.spec = env_spec_for(game, observation_type, max_steps)
        self.batch_size = int(batch_size)
        self.auto_reset = auto_reset
        self._max_steps = max_steps
        self._encoder = ObservationEncoder(game, observation_type)
        self._num_players = game.num_players()
        self._num_actions = game.num_distinct_actions()
        self._simultaneous = self.spec.dynamics == "simultaneous"
        # Per-game bookkeeping is kept in Python lists (scalar numpy indexing costs more than
        # the pyspiel calls it sits between); arrays are built once per call in `_observe`.
        self._states: list[pyspiel.State] = []
        self._rngs: list[np.random.Generator] = []
        self._steps: list[int] = []
        self._returns: list[list[float]] = []
        self._legal: list[list[list[int]]] = []
        self._done: list[bool] = []
        self._truncated: list[bool] = []
        # _mask_index[b][p]: row of _mask_table holding the mask of player p in game b;
        # row 0 (all True) is the mask of a player who is not acting (or of a finished game).
        self._mask_index: list[list[int]] = []
        self._mask_rows: dict[tuple[int, ...], int] = {}
        self._mask_table = np.ones((1, self._num_actions), bool)
        self._no_legal = [[] for _ in range(self._num_players)]
        self._not_acting = [0] * self._num_players
        self._zero_rewards = [0.0] * self._num_players
        # Seat one-hots, and whole rows for states without a tensor (see `_observe`).
        self._seat_one_hot = np.eye(self._num_players, dtype=np.float32)
        self._zero_tensor = [0.0] * self._encoder._size
        self._acting: list[list[bool]] = []
        self._not_acting_flags = [False] * self._num_players
        self._last: TimeStep | None = None

    # ----------------------------------------------------------------------------------
    def reset(self, seed: int) -> TimeStep:
        """Starts B new games; game b draws its chance events from `(seed, b)`.

        Returns:
          The initial `TimeStep` with zero rewards.
        """
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self._rngs = [np.random.default_rng([int(seed), b]) for b in range(self.batch_size)]
        batch = self.batch_size
        self._states = [None] * batch
        self._steps = [0] * batch
        self._returns = [None] * batch
        self._legal = [None] * batch
        self._done = [False] * batch
        self._truncated = [False] * batch
        self._mask_index = [None] * batch
        self._acting = [None] * batch
        for b in range(self.batch_size):
            self._new_game(b)
        self._last = self._observe(np.zeros((self.batch_size, self._num_players), np.float32))
        return self._last

    def step(self, actions: np.ndarray | Sequence) -> TimeStep:
        """Applies one action per acting player in every game.

        Args:
          actions: int [B, P, K=1] (or [B, P]); entries of non-acting players are ignored.

        Returns:
          The next `TimeStep`; `rewards` are those earned by this transition.

        Raises:
          IllegalActionError: an action is malformed, out of range or illegal. No game is
            stepped in that case.
        """
        if self._last is None:
            raise RuntimeError("call reset(seed) before step(actions)")
        actions = self._validate(actions)
        simultaneous = self._simultaneous
        states, legals, done, rngs = self._states, self._legal, self._done, self._rngs
        all_returns, steps = self._returns, self._steps
        zero = self._zero_rewards
        rewards = []
        for b in range(self.batch_size):
            if done[b]:
                if self.auto_reset:
                    self._new_game(b)
                rewards.append(zero)
                continue
            state = states[b]
            if simultaneous and state.is_simultaneous_node():
                legal = legals[b]
                state.apply_actions(
                    [
                        a if ok else pyspiel.INVALID_ACTION
                        for a, ok in zip(actions[b], legal, strict=True)
                    ]
                )
            else:
                state.apply_action(actions[b][state.current_player()])
            if state.is_chance_node():
                _sample_chance(state, rngs[b])
            steps[b] += 1
            returns = list(state.returns())  # python games may reuse a mutable array
            previous = all_returns[b]
            rewards.append([r - q for r, q in zip(returns, previous, strict=True)])
            all_returns[b] = returns
            self._update_status(b)
        self._last = self._observe(np.array(rewards, np.float32))
        return self._last

    # ----------------------------------------------------------------------------------
    def _new_game(self, b: int) -> None:
        state = self.game.new_initial_state()
        _sample_chance(state, self._rngs[b])
        self._states[b] = state
        self._steps[b] = 0
        self._returns[b] = list(state.returns())
        self._update_status(b)

    def _update_status(self, b: int) -> None:
        state = self._states[b]
        terminal = state.is_terminal()
        truncated = (
            not terminal and self._max_steps is not None and self._steps[b] >= self._max_steps
        )
        self._done[b] = done = terminal or truncated
        self._truncated[b] = truncated
        if done:
            self._legal[b] = self._no_legal
            self._mask_index[b] = self._not_acting
            self._acting[b] = self._not_acting_flags
        elif state.is_simultaneous_node():
            legal = [state.legal_actions(p) for p in range(self._num_players)]
            self._legal[b] = legal
            self._mask_index[b] = [self._mask_row(actions) if actions else 0 for actions in legal]
            self._acting[b] = [bool(actions) for actions in legal]
        else:
            player = state.current_player()
            actions = state.legal_actions()
            legal = list(self._no_legal)
            legal[player] = actions
            self._legal[b] = legal
            index = list(self._not_acting)
            acting = list(self._not_acting_flags)
            if actions:
                index[player] = self._mask_row(actions)
                acting[player] = True
            self._mask_index[b] = index
            self._acting[b] = acting

    def _mask_row(self, legal: list[int]) -> int:
        """The row of `_mask_table` holding the mask of `legal` (added on first sight)."""
        key = tuple(legal)
        row = self._mask_rows.get(key)
        if row is None:
            mask = np.zeros((1, self._num_actions), bool)
            mask[0, legal] = True
            row = len(self._mask_table)
            self._mask_table = np.concatenate([self._mask_table, mask])
            self._mask_rows[key] = row
        return row

    def _observe(self, rewards: np.ndarray) -> TimeStep:
        batch, num_players = self.batch_size, self._num_players
        encoder = self._encoder
        size = encoder._size
        observation = np.empty((batch, num_players, encoder.size), np.float32)
        observation[:, :, size:] = self._seat_one_hot
        if size:
            tensor = encoder._tensor
            players = range(num_players)
            zeros = self._zero_tensor
            rows = []
            for state in self._states:
                for p in players:
                    try:
                        rows.append(tensor(state, p))
                    except pyspiel.SpielError:
                        # Some games define no tensor at terminal states; the view is empty.
                        rows.append(zeros)
            observation.reshape(batch * num_players, -1)[:, :size] = rows
        mask = np.take(self._mask_table, self._mask_index, axis=0).reshape(
            batch, num_players, 1, self._num_actions
        )
        acting = np.array(self._acting, bool)
        done = np.array(self._done, bool)
        if self._max_steps is None:  # nothing is ever truncated
            return TimeStep(observation, mask, acting, rewards, done, np.zeros(batch, bool))
        truncated = np.array(self._truncated, bool)
        return TimeStep(observation, mask, acting, rewards, done & ~truncated, truncated)

    def _validate(self, actions) -> list[list[int]]:
        array = actions if type(actions) is np.ndarray else np.asarray(actions)
        expected = (self.batch_size, self._num_players)
        if array.shape == expected + (1,):
            array = array[..., 0]
        if array.shape != expected:
            raise IllegalActionError(
                f"{self.game}: actions must have shape [B, P, K] = {expected + (1,)} "
                f"(or [B, P]), got {array.shape}"
            )
        if array.dtype.kind not in "iu":  # bool and every non-integer dtype are refused
            raise IllegalActionError(
                f"{self.game}: actions must be integers, got dtype {array.dtype}"
            )
        table = array.tolist()
        done = self._done
        for b, (row, legal) in enumerate(zip(table, self._legal, strict=True)):
            if done[b]:
                continue
            for p, (action, allowed) in enumerate(zip(row, legal, strict=True)):
                if allowed and action not in allowed:
                    if 0 <= action < self._num_actions:
                        what = f"'{self._states[b].action_to_string(p, action)}'"
                    else:
                        what = f"out of range [0, {self._num_actions})"
                    raise IllegalActionError(
                        f"{self.game}: illegal action {action} ({what}) for player {p} in "
                        f"game {b} of the batch; legal actions: {allowed}"
                    )
        return table
