"""Exact NashConv and exploitability of any detente policy, through OpenSpiel, for small games.

The policy is evaluated once per seat on every information state of the game (one batched
call per seat, on the same `ObservationEncoder` views the policy sees in `OpenSpielEnv`), the
results fill an OpenSpiel `TabularPolicy`, and OpenSpiel's C++ tabular best responses and
expected returns give the exact values. Definitions, the handling of simultaneous-move games
and the size limit are documented in docs/evaluation.md.

Dimension names: N information states of one seat, P players, K = 1 slot, A actions.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

import numpy as np
import pyspiel
from open_spiel.python import policy as openspiel_policy

from detente.lib.openspiel_env import ObservationEncoder
from detente.lib.policy import PolicyFn, as_per_seat

DEFAULT_MAX_INFO_STATES = 100_000
DEFAULT_ILLEGAL_TOLERANCE = 1e-5

_SEQUENTIAL = pyspiel.GameType.Dynamics.SEQUENTIAL
_SIMULTANEOUS = pyspiel.GameType.Dynamics.SIMULTANEOUS


@dataclasses.dataclass(frozen=True)
class ExactEvaluation:
    """The exact evaluation of a policy profile in a small game.

    Attributes:
      nash_conv: sum over players of (best-response value - policy value); 0 exactly at a
        Nash equilibrium (Lanctot et al. 2017).
      exploitability: nash_conv / P. For two-player zero- or constant-sum games this is
        OpenSpiel's `exploitability`: the mean, over the two seats, of what a worst-case
        opponent gains against the policy. For other games it is only the mean per-player
        gain from deviating, with no worst-case meaning.
      per_player: P floats, player p's best-response gain (best-response value minus policy
        value); their sum is nash_conv.
      game: the evaluated game's name (the original game, not its turn-based conversion).
      seconds: wall-clock seconds of the whole evaluation (enumeration, policy calls, maths).
      policy_values: P floats, each player's expected return when everyone follows the policy.
      best_response_values: P floats, player p's expected return when p best-responds and the
        others follow the policy.
      num_info_states: number of information states the policy was evaluated on.
    """

    nash_conv: float
    exploitability: float
    per_player: tuple[float, ...]
    game: str
    seconds: float
    policy_values: tuple[float, ...] = ()
    best_response_values: tuple[float, ...] = ()
    num_info_states: int = 0


class _Enumeration:
    """Every information state of a (turn-based) game, one representative state each."""

    def __init__(self):
        self.representatives: dict[str, pyspiel.State] = {}  # history_str -> turn-based state
        self.originals: dict[str, pyspiel.State] = {}  # history_str -> original game's state
        self.keys: set[str] = set()


def _load(game: pyspiel.Game | str) -> pyspiel.Game:
    if isinstance(game, str):
        return pyspiel.load_game(game)
    if not isinstance(game, pyspiel.Game):
        raise TypeError(f"game must be a pyspiel.Game or a game string, got {type(game)}")
    return game


def _turn_based(game: pyspiel.Game) -> tuple[pyspiel.Game, bool]:
    """Returns (the game exact evaluation walks, whether the original is simultaneous)."""
    game_type = game.get_type()
    if game_type.dynamics == _SIMULTANEOUS:
        walked = pyspiel.convert_to_turn_based(game)
        simultaneous = True
    elif game_type.dynamics == _SEQUENTIAL:
        walked = game
        simultaneous = False
    else:
        raise ValueError(
            f"game {game} has dynamics {game_type.dynamics.name}; exact evaluation accepts "
            "sequential or simultaneous games"
        )
    if not walked.get_type().provides_information_state_string:
        raise ValueError(
            f"game {game} provides no information-state string; exact evaluation needs "
            "perfect-recall information states to key the policy and the best responses"
        )
    return walked, simultaneous


def _enumerate(
    game: pyspiel.Game, walked: pyspiel.Game, simultaneous: bool, max_info_states: int
) -> _Enumeration:
    """Walks the whole game tree once, keeping one representative per information state.

    For a simultaneous game the walk is over `walked = convert_to_turn_based(game)`, and the
    original game's state is carried alongside. OpenSpiel's conversion (checked here at every
    node rather than assumed) rolls a simultaneous node out as the acting players (those with
    legal actions) moving one at a time in increasing seat order, each unaware of the moves
    already made in that round; chance outcomes pass through unchanged. The original state
    of a rolled-out round stays at its simultaneous node until the last acting player has
    moved, then all actions are applied together with `apply_actions` (players without legal
    actions get `pyspiel.INVALID_ACTION`, as in `OpenSpielEnv`).
    """
    result = _Enumeration()
    num_players = game.num_players()
    root = walked.new_initial_state()
    original_root = game.new_initial_state() if simultaneous else root
    # (turn-based state, original state, actions chosen so far in this simultaneous round)
    stack: list[tuple[pyspiel.State, pyspiel.State, dict[int, int]]] = [(root, original_root, {})]
    while stack:
        state, original, pending = stack.pop()
        if state.is_terminal():
            if simultaneous and not original.is_terminal():
                raise RuntimeError(
                    f"{game}: turn-based state {state.history()} is terminal but the replayed "
                    "original state is not; the turn-based conversion changed its ordering"
                )
            continue
        if state.is_chance_node():
            for action, _ in state.chance_outcomes():
                child = state.child(action)
                stack.append((child, original.child(action) if simultaneous else child, {}))
            continue
        player = state.current_player()
        key = state.information_state_string(player)
        if key not in result.keys:
            result.keys.add(key)
            if len(result.keys) > max_info_states:
                raise ValueError(
                    f"game {game} has more than max_info_states={max_info_states} "
                    "information states; exact evaluation is for small games. Raise "
                    "max_info_states, or estimate exploitability with learned best responses"
                )
            history = state.history_str()
            result.representatives[history] = state
            result.originals[history] = original
        legal = state.legal_actions()
        if not simultaneous:
            for action in legal:
                child = state.child(action)
                stack.append((child, child, {}))
            continue
        if original.is_simultaneous_node():
            acting = [p for p in range(num_players) if original.legal_actions(p)]
            expected = next(p for p in acting if p not in pending)
            if player != expected or legal != original.legal_actions(player):
                raise RuntimeError(
                    f"{game}: the turn-based conversion asks player {player} (legal {legal}) "
                    f"to act where player {expected} (legal "
                    f"{original.legal_actions(expected)}) was expected; cannot replay it"
                )
            last = len(pending) + 1 == len(acting)
            for action in legal:
                chosen = {**pending, player: action}
                if last:
                    child_original = original.clone()
                    child_original.apply_actions(
                        [chosen.get(p, pyspiel.INVALID_ACTION) for p in range(num_players)]
                    )
                    stack.append((state.child(action), child_original, {}))
                else:
                    stack.append((state.child(action), original, chosen))
        else:
            if original.current_player() != player:
                raise RuntimeError(
                    f"{game}: turn-based player {player} differs from the original game's "
                    f"current player {original.current_player()}"
                )
            stack.extend((state.child(a), original.child(a), {}) for a in legal)
    return result


def _short(key: str, limit: int = 200) -> str:
    text = key if len(key) <= limit else key[:limit] + "..."
    return repr(text)


def _fill_seat(
    table: openspiel_policy.TabularPolicy,
    policy_fn: PolicyFn,
    player: int,
    enumeration: _Enumeration,
    encoder: ObservationEncoder,
    game: pyspiel.Game,
    illegal_tolerance: float,
) -> None:
    keys = table.states_per_player[player]
    if not keys:
        return
    rows = np.array([table.state_lookup[k] for k in keys])
    num_actions = game.num_distinct_actions()
    observation = np.zeros((len(keys), encoder.size), np.float32)
    legal_mask = np.zeros((len(keys), 1, num_actions), bool)
    for i, row in enumerate(rows):
        history = table.states[row].history_str()
        original = enumeration.originals[history]
        encoder.encode_into(original, player, observation[i])
        legal_mask[i, 0, original.legal_actions(player)] = True
    table_mask = table.legal_actions_mask[rows].astype(bool)
    if not np.array_equal(legal_mask[:, 0], table_mask):
        raise RuntimeError(
            f"{game}: the turn-based game and the replayed original disagree on the legal "
            f"actions of player {player}"
        )

    probs = policy_fn(observation, legal_mask)
    try:
        probs = np.asarray(probs, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{game}: the policy for player {player} returned {type(probs).__name__}, not an "
            f"array of probabilities [N, K, A] = {legal_mask.shape}"
        ) from error
    if probs.shape != legal_mask.shape:
        raise ValueError(
            f"{game}: the policy for player {player} returned shape {probs.shape}; expected "
            f"probabilities [N, K, A] = {legal_mask.shape} (N information states, K = 1, "
            f"A = {num_actions})"
        )
    probs = probs[:, 0]
    mask = legal_mask[:, 0]

    def fail(index: int, what: str) -> None:
        raise ValueError(
            f"{game}: the policy for player {player} {what} at information state "
            f"{_short(keys[index])}; got {probs[index].tolist()} with legal actions "
            f"{np.flatnonzero(mask[index]).tolist()}"
        )

    bad = ~np.all(np.isfinite(probs), axis=1)
    if bad.any():
        fail(int(np.argmax(bad)), "returned NaN or infinite probabilities")
    bad = np.any(probs < -illegal_tolerance, axis=1)
    if bad.any():
        fail(int(np.argmax(bad)), "returned negative probabilities")
    probs = np.maximum(probs, 0.0)
    illegal_mass = np.where(mask, 0.0, probs).sum(axis=1)
    bad = illegal_mass > illegal_tolerance
    if bad.any():
        index = int(np.argmax(bad))
        fail(
            index,
            f"put mass {illegal_mass[index]:.3g} (> illegal_tolerance={illegal_tolerance}) "
            "on illegal actions",
        )
    legal_probs = np.where(mask, probs, 0.0)
    legal_mass = legal_probs.sum(axis=1, keepdims=True)
    bad = legal_mass[:, 0] <= illegal_tolerance
    if bad.any():
        fail(int(np.argmax(bad)), "put no probability on legal actions")
    table.action_probability_array[rows] = legal_probs / legal_mass


def to_openspiel_policy(
    game: pyspiel.Game | str,
    policy: PolicyFn | Sequence[PolicyFn],
    observation_type: str = "auto",
    *,
    max_info_states: int = DEFAULT_MAX_INFO_STATES,
    illegal_tolerance: float = DEFAULT_ILLEGAL_TOLERANCE,
) -> openspiel_policy.TabularPolicy:
    """Tabulates a detente policy on every information state of a small OpenSpiel game.

    Each seat's policy is called once, on a batch of all that seat's information states,
    with the views `OpenSpielEnv` would give it. Probabilities are renormalised over legal
    actions (after checking that at most `illegal_tolerance` mass is on illegal ones).

    For a simultaneous-move game the table is over the information states of
    `pyspiel.convert_to_turn_based(game)` (available as `result.game`), but the policy sees
    the original game's view of the simultaneous node, reconstructed by replaying the
    history (see docs/evaluation.md).

    Args:
      game: a sequential or simultaneous pyspiel game (or a game string).
      policy: a `PolicyFn` playing every seat, or a sequence of P of them (one per seat),
        or a `PerPlayerPolicy`.
      observation_type: the `ObservationEncoder` view the policy was trained on.
      max_info_states: fail if the game has more information states than this.
      illegal_tolerance: largest probability mass accepted on illegal actions (it is then
        dropped and the legal probabilities renormalised).

    Returns:
      An `open_spiel.python.policy.TabularPolicy` over the game (or its turn-based
      conversion) holding the policy's action probabilities, rows grouped by player.

    Raises:
      ValueError: the game is too large, not sequential or simultaneous, or has no
        information-state strings; or the policy returned a wrong shape, NaNs, negative
        probabilities, mass on illegal actions or no mass on legal actions (the message
        names the player and the information state).
    """
    game = _load(game)
    if not isinstance(max_info_states, (int, np.integer)) or max_info_states < 1:
        raise ValueError(f"max_info_states must be a positive integer, got {max_info_states!r}")
    if not 0 <= illegal_tolerance < 1:
        raise ValueError(f"illegal_tolerance must be in [0, 1), got {illegal_tolerance!r}")
    walked, simultaneous = _turn_based(game)
    policies = as_per_seat(policy, game.num_players())
    encoder = ObservationEncoder(game, observation_type)
    enumeration = _enumerate(game, walked, simultaneous, int(max_info_states))
    if not enumeration.representatives:
        raise ValueError(f"game {game} has no decision node; there is no policy to evaluate")
    table = openspiel_policy.TabularPolicy(walked, states=enumeration.representatives)
    for player, policy_fn in enumerate(policies):
        _fill_seat(table, policy_fn, player, enumeration, encoder, game, illegal_tolerance)
    return table


def _legal_dict(table: openspiel_policy.TabularPolicy) -> dict[str, list[tuple[int, float]]]:
    result = {}
    for key, index in table.state_lookup.items():
        legal = np.flatnonzero(table.legal_actions_mask[index])
        probs = table.action_probability_array[index]
        result[key] = [(int(a), float(probs[a])) for a in legal]
    return result


def evaluate(
    game: pyspiel.Game | str,
    policy: PolicyFn | Sequence[PolicyFn],
    observation_type: str = "auto",
    *,
    max_info_states: int = DEFAULT_MAX_INFO_STATES,
    illegal_tolerance: float = DEFAULT_ILLEGAL_TOLERANCE,
) -> ExactEvaluation:
    """Exact NashConv, exploitability and per-player best-response gains of a policy.

    Args:
      game, policy, observation_type, max_info_states, illegal_tolerance: as in
        `to_openspiel_policy`.

    Returns:
      An `ExactEvaluation`.
    """
    start = time.perf_counter()
    game = _load(game)
    table = to_openspiel_policy(
        game,
        policy,
        observation_type,
        max_info_states=max_info_states,
        illegal_tolerance=illegal_tolerance,
    )
    walked = table.game
    num_players = game.num_players()
    policy_dict = _legal_dict(table)
    root = walked.new_initial_state()
    policy_values = np.asarray(
        pyspiel.expected_returns(root, pyspiel.TabularPolicy(policy_dict), -1, True),
        np.float64,
    )
    best_response_values = np.array(
        [
            pyspiel.TabularBestResponse(walked, p, policy_dict).value_from_state(root)
            for p in range(num_players)
        ],
        np.float64,
    )
    per_player = best_response_values - policy_values
    value = float(per_player.sum())
    return ExactEvaluation(
        nash_conv=value,
        exploitability=value / num_players,
        per_player=tuple(float(x) for x in per_player),
        game=str(game),
        seconds=time.perf_counter() - start,
        policy_values=tuple(float(x) for x in policy_values),
        best_response_values=tuple(float(x) for x in best_response_values),
        num_info_states=len(table.state_lookup),
    )


def nash_conv(game: pyspiel.Game | str, policy: PolicyFn | Sequence[PolicyFn], **kwargs) -> float:
    """NashConv of a policy: sum over players of best-response value minus policy value.

    Keyword arguments are those of `evaluate`. Valid for any number of players and general-sum
    games (Lanctot et al. 2017, "A Unified Game-Theoretic Approach to Multiagent RL").
    """
    return evaluate(game, policy, **kwargs).nash_conv


def exploitability(
    game: pyspiel.Game | str, policy: PolicyFn | Sequence[PolicyFn], **kwargs
) -> float:
    """NashConv / P; equal to OpenSpiel's `exploitability` in two-player constant-sum games.

    In other games it is the mean per-player deviation gain (see `ExactEvaluation`).
    Keyword arguments are those of `evaluate`.
    """
    return evaluate(game, policy, **kwargs).exploitability
