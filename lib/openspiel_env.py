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
        self._states: list[pyspiel.State] = []
        self._rngs: list[np.random.Generator] = []
        self._steps = np.zeros(self.batch_size, np.int64)
        self._returns = np.zeros((self.batch_size, self._num_players), np.float64)
        self._legal: list[list[list[int]]] = []
        self._done = np.zeros(self.batch_size, bool)
        self._truncated = np.zeros(self.batch_size, bool)
        self._last: TimeStep | None = None
        self._mask_rows: dict[tuple[int, ...], np.ndarray] = {}
        self._all_legal = np.ones(self._num_actions, bool)

    # ----------------------------------------------------------------------------------
    def reset(self, seed: int) -> TimeStep:
        """Starts B new games; game b draws its chance events from `(seed, b)`.

        Returns:
          The initial `TimeStep` with zero rewards.
        """
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self._rngs = [np.random.default_rng([int(seed), b]) for b in range(self.batch_size)]
        self._states = [None] * self.batch_size
        self._legal = [None] * self.batch_size
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
        num_players = self._num_players
        rewards = np.zeros((self.batch_size, num_players), np.float32)
        for b in range(self.batch_size):
            state = self._states[b]
            if self._done[b]:
                if self.auto_reset:
                    self._new_game(b)
                continue
            if self._simultaneous and state.is_simultaneous_node():
                joint = [
                    actions[b][p] if self._legal[b][p] else pyspiel.INVALID_ACTION
                    for p in range(num_players)
                ]
                state.apply_actions(joint)
            else:
                state.apply_action(actions[b][state.current_player()])
            _sample_chance(state, self._rngs[b])
            self._steps[b] += 1
            returns = state.returns()
            for p in range(num_players):
                rewards[b, p] = returns[p] - self._returns[b, p]
                self._returns[b, p] = returns[p]
            self._update_status(b)
        self._last = self._observe(rewards)
        return self._last

    # ----------------------------------------------------------------------------------
    def _new_game(self, b: int) -> None:
        state = self.game.new_initial_state()
        _sample_chance(state, self._rngs[b])
        self._states[b] = state
        self._steps[b] = 0
        self._returns[b] = state.returns()
        self._update_status(b)

    def _update_status(self, b: int) -> None:
        state = self._states[b]
        terminal = state.is_terminal()
        truncated = (
            not terminal and self._max_steps is not None and self._steps[b] >= self._max_steps
        )
        self._done[b] = terminal or truncated
        self._truncated[b] = truncated
        if self._done[b]:
            self._legal[b] = [[] for _ in range(self._num_players)]
        elif state.is_simultaneous_node():
            self._legal[b] = [state.legal_actions(p) for p in range(self._num_players)]
        else:
            legal = [[] for _ in range(self._num_players)]
            legal[state.current_player()] = state.legal_actions()
            self._legal[b] = legal

    def _mask_row(self, legal: list[int]) -> np.ndarray:
        key = tuple(legal)
        row = self._mask_rows.get(key)
        if row is None:
            row = np.zeros(self._num_actions, bool)
            row[legal] = True
            self._mask_rows[key] = row
        return row

    def _observe(self, rewards: np.ndarray) -> TimeStep:
        batch, num_players = self.batch_size, self._num_players
        observation = np.zeros((batch, num_players, self._encoder.size), np.float32)
        mask = np.ones((batch, num_players, 1, self._num_actions), bool)
        acting = np.zeros((batch, num_players), bool)
        encode = self._encoder.encode_into
        for b in range(batch):
            state = self._states[b]
            legal = self._legal[b]
            for p in range(num_players):
                encode(state, p, observation[b, p])
                if legal[p]:
                    acting[b, p] = True
                    mask[b, p, 0] = self._mask_row(legal[p])
        terminated = self._done & ~self._truncated
        return TimeStep(
            observation=observation,
            legal_action_mask=mask,
            acting=acting,
            rewards=rewards,
            terminated=terminated,
            truncated=self._truncated.copy(),
        )

    def _validate(self, actions) -> list[list[int]]:
        name = str(self.game)
        array = np.asarray(actions)
        expected = (self.batch_size, self._num_players)
        if array.shape == expected + (1,):
            array = array[..., 0]
        if array.shape != expected:
            raise IllegalActionError(
                f"{name}: actions must have shape [B, P, K] = {expected + (1,)} "
                f"(or [B, P]), got {array.shape}"
            )
        if not np.issubdtype(array.dtype, np.integer):
            raise IllegalActionError(f"{name}: actions must be integers, got dtype {array.dtype}")
        table = array.tolist()
        for b in range(self.batch_size):
            if self._done[b]:
                continue
            legal = self._legal[b]
            for p in range(self._num_players):
                if legal[p] and table[b][p] not in legal[p]:
                    action = table[b][p]
                    if 0 <= action < self._num_actions:
                        what = f"'{self._states[b].action_to_string(p, action)}'"
                    else:
                        what = f"out of range [0, {self._num_actions})"
                    raise IllegalActionError(
                        f"{name}: illegal action {action} ({what}) for player {p} in game "
                        f"{b} of the batch; legal actions: {legal[p]}"
                    )
        return table
