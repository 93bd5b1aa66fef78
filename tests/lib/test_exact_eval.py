"""Tests of detente.lib.exact_eval: known values, agreement with OpenSpiel, brute force, errors."""

from __future__ import annotations

import itertools

import jax.numpy as jnp
import numpy as np
import pyspiel
import pytest
from open_spiel.python import policy as openspiel_policy
from open_spiel.python.algorithms import expected_game_score
from open_spiel.python.algorithms import exploitability as openspiel_exploitability

from detente.lib import exact_eval
from detente.lib.openspiel_env import ObservationEncoder
from detente.lib.policy import PerPlayerPolicy, softmax_policy_fn, uniform_policy_fn

PASS, BET = 0, 1


def kuhn_equilibrium_policy_fn(observation: np.ndarray, legal_mask: np.ndarray) -> np.ndarray:
    """Kuhn (1950)'s equilibrium family at alpha = 0, keyed on the observation only.

    Layout of the 2-player Kuhn info-state tensor (OpenSpiel kuhn_poker.cc): player one-hot
    [0:2], private card one-hot [2:5] (J, Q, K), then (pass, bet) one-hot per round [5:11];
    the encoder appends the seat one-hot [11:13].
    Player 0: J check/fold; Q check, call a bet with 1/3; K check/call (bet with 3*alpha = 0).
    Player 1: after a check, bet with K, bet (bluff) with J with 1/3, check with Q; facing a
    bet, call with K, call with Q with 1/3, fold with J.
    """
    probs = np.zeros(legal_mask.shape, np.float32)
    for i, obs in enumerate(observation):
        player = int(np.argmax(obs[0:2]))
        card = int(np.argmax(obs[2:5]))
        history = [
            int(np.argmax(obs[5 + 2 * r : 7 + 2 * r]))
            for r in range(3)
            if obs[5 + 2 * r : 7 + 2 * r].any()
        ]
        if player == 0 and not history:
            bet = 0.0
        elif player == 0:  # check, bet: call or fold
            bet = (0.0, 1.0 / 3.0, 1.0)[card]
        elif history == [PASS]:
            bet = (1.0 / 3.0, 0.0, 1.0)[card]
        else:  # facing a bet
            bet = (0.0, 1.0 / 3.0, 1.0)[card]
        probs[i, 0] = (1.0 - bet, bet)
    return probs


def always_action_policy_fn(action: int):
    def policy_fn(observation, legal_mask):
        probs = np.zeros(legal_mask.shape, np.float32)
        probs[..., action] = 1.0
        return probs

    return policy_fn


def test_uniform_kuhn_nash_conv_is_11_12():
    # 11/12: open_spiel/python/algorithms/exploitability_test.py (test_nash_conv_kuhn uniform).
    result = exact_eval.evaluate("kuhn_poker", uniform_policy_fn)
    assert result.nash_conv == pytest.approx(11 / 12, abs=1e-12)
    assert result.exploitability == pytest.approx(11 / 24, abs=1e-12)
    assert sum(result.per_player) == pytest.approx(result.nash_conv)
    assert result.num_info_states == 12  # 6 per player: 3 cards x 2 histories each.
    assert result.game == "kuhn_poker()"
    # Same as OpenSpiel's own exploitability (NashConv / 2 in 2-player zero-sum games).
    game = pyspiel.load_game("kuhn_poker")
    expected = openspiel_exploitability.exploitability(
        game, openspiel_policy.UniformRandomPolicy(game)
    )
    assert result.exploitability == pytest.approx(expected, abs=1e-12)
    assert exact_eval.nash_conv(game, uniform_policy_fn) == pytest.approx(11 / 12)
    assert exact_eval.exploitability(game, uniform_policy_fn) == pytest.approx(11 / 24)


def test_kuhn_equilibrium_has_zero_nash_conv_and_value_minus_1_18():
    # Kuhn (1950): every member of the alpha family is a Nash equilibrium, game value -1/18
    # for the first player (also open_spiel/python/algorithms/cfr_test.py).
    game = pyspiel.load_game("kuhn_poker")
    result = exact_eval.evaluate(game, kuhn_equilibrium_policy_fn)
    assert result.nash_conv == pytest.approx(0.0, abs=1e-9)
    assert result.policy_values[0] == pytest.approx(-1 / 18, abs=1e-9)
    table = exact_eval.to_openspiel_policy(game, kuhn_equilibrium_policy_fn)
    value = expected_game_score.policy_value(game.new_initial_state(), [table, table])
    assert value[0] == pytest.approx(-1 / 18, abs=1e-9)


def test_uniform_three_player_kuhn_matches_openspiel():
    # Reference: OpenSpiel's nash_conv of its UniformRandomPolicy (2.0625 in open_spiel 2.0.2).
    game = pyspiel.load_game("kuhn_poker(players=3)")
    expected = openspiel_exploitability.nash_conv(
        game, openspiel_policy.UniformRandomPolicy(game), return_only_nash_conv=False
    )
    result = exact_eval.evaluate(game, uniform_policy_fn)
    assert result.nash_conv == pytest.approx(expected.nash_conv, abs=1e-9)
    np.testing.assert_allclose(result.per_player, expected.player_improvements, atol=1e-9)
    assert result.exploitability == pytest.approx(expected.nash_conv / 3)


def test_matrix_rps():
    # Uniform is the unique equilibrium of rock-paper-scissors: NashConv 0. Against always-rock
    # each player gains 1 by switching to paper (policy value 0, best-response value 1), so
    # NashConv = 1 + 1 = 2, which is also what OpenSpiel reports on the turn-based game.
    game = pyspiel.load_game("matrix_rps")
    assert exact_eval.nash_conv(game, uniform_policy_fn) == pytest.approx(0.0, abs=1e-12)
    rock = exact_eval.evaluate(game, always_action_policy_fn(0))
    assert rock.nash_conv == pytest.approx(2.0)
    assert rock.per_player == pytest.approx((1.0, 1.0))
    turn_based = pyspiel.convert_to_turn_based(game)
    table = openspiel_policy.TabularPolicy(turn_based)
    table.action_probability_array[:] = [1.0, 0.0, 0.0]
    assert openspiel_exploitability.nash_conv(turn_based, table) == pytest.approx(2.0)


@pytest.mark.parametrize(
    "name",
    ["goofspiel(num_cards=3)", "goofspiel(num_cards=3,players=3)", "blotto(coins=4,fields=3)"],
)
def test_uniform_simultaneous_games_match_openspiel_turn_based(name):
    # Reference: OpenSpiel's nash_conv of the uniform tabular policy on the turn-based game.
    game = pyspiel.load_game(name)
    turn_based = pyspiel.convert_to_turn_based(game)
    expected = openspiel_exploitability.nash_conv(
        turn_based, openspiel_policy.TabularPolicy(turn_based), return_only_nash_conv=False
    )
    result = exact_eval.evaluate(game, uniform_policy_fn)
    assert result.nash_conv == pytest.approx(expected.nash_conv, abs=1e-9)
    np.testing.assert_allclose(result.per_player, expected.player_improvements, atol=1e-9)


def _goofspiel_policy(observation: np.ndarray, legal_mask: np.ndarray) -> np.ndarray:
    """A non-uniform policy that depends on the whole observation (seat, cards, points)."""
    weights = np.cos(observation @ np.linspace(0.3, 2.9, observation.shape[1]))
    logits = weights[:, None, None] * np.arange(legal_mask.shape[-1]) + 0.1
    logits = np.where(legal_mask, logits, -np.inf)
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return probs / probs.sum(axis=-1, keepdims=True)


def _brute_force(game, policy_fn):
    """Policy values and best-response values by direct recursion on the simultaneous game.

    goofspiel with imp_info=False shows every player all past bids and point cards, so a
    player's information state at a bid is the public history: a best response maximises,
    at each node, the expectation over the others' current bids (expectimax).
    """
    num_players = game.num_players()
    encoder = ObservationEncoder(game)
    num_actions = game.num_distinct_actions()

    def action_probs(state, player):
        legal = state.legal_actions(player)
        mask = np.zeros((1, 1, num_actions), bool)
        mask[0, 0, legal] = True
        probs = np.asarray(policy_fn(encoder.encode(state, player)[None], mask))[0, 0]
        return {a: probs[a] / probs[legal].sum() for a in legal}

    def value(state, responder):
        if state.is_terminal():
            return np.array(state.returns())
        if state.is_chance_node():
            return sum(p * value(state.child(a), responder) for a, p in state.chance_outcomes())
        dists = [action_probs(state, p) for p in range(num_players)]
        options = []
        own = [{a: 1.0} for a in dists[responder]] if responder is not None else [None]
        for choice in own:
            joint = list(dists)
            if choice is not None:
                joint[responder] = choice
            total = np.zeros(num_players)
            for actions in itertools.product(*[list(d.items()) for d in joint]):
                prob = np.prod([p for _, p in actions])
                child = state.clone()
                child.apply_actions([a for a, _ in actions])
                total = total + prob * value(child, responder)
            options.append(total)
        if responder is None:
            return options[0]
        return max(options, key=lambda v: v[responder])

    root = game.new_initial_state()
    policy_values = value(root, None)
    best = np.array([value(root, p)[p] for p in range(num_players)])
    return policy_values, best


def test_non_uniform_policy_on_goofspiel_matches_brute_force():
    game = pyspiel.load_game("goofspiel(num_cards=3)")
    policy_values, best_response_values = _brute_force(game, _goofspiel_policy)
    result = exact_eval.evaluate(game, _goofspiel_policy)
    np.testing.assert_allclose(result.policy_values, policy_values, atol=1e-9)
    np.testing.assert_allclose(result.best_response_values, best_response_values, atol=1e-9)
    assert result.nash_conv == pytest.approx(np.sum(best_response_values - policy_values))
    assert result.nash_conv > 0.05  # the check is not vacuous


def test_non_uniform_per_player_policy_on_matrix_game_matches_brute_force():
    # matrix_mp (matching pennies), row payoffs [[1, -1], [-1, 1]]; x, y the heads probs.
    game = pyspiel.load_game("matrix_mp")
    x, y = 0.7, 0.2

    def fixed(p):
        return lambda obs, mask: np.tile(np.array([[p, 1.0 - p]]), (len(obs), 1))[:, None]

    result = exact_eval.evaluate(game, [fixed(x), fixed(y)])
    payoff = np.array([[1.0, -1.0], [-1.0, 1.0]])
    row, col = np.array([x, 1 - x]), np.array([y, 1 - y])
    value = row @ payoff @ col
    gains = (np.max(payoff @ col) - value, np.max(-(row @ payoff)) + value)
    assert result.per_player == pytest.approx(gains)
    assert result.policy_values == pytest.approx((value, -value))
    # A PerPlayerPolicy is the same profile as the list.
    same = exact_eval.evaluate(game, PerPlayerPolicy([fixed(x), fixed(y)]))
    assert same.per_player == pytest.approx(gains)


def test_policy_sees_original_simultaneous_observations_in_one_batch_per_seat():
    game = pyspiel.load_game("goofspiel(num_cards=3)")
    encoder = ObservationEncoder(game)
    calls = []

    def recording(observation, legal_mask):
        calls.append((observation.copy(), legal_mask.copy()))
        return uniform_policy_fn(observation, legal_mask)

    exact_eval.to_openspiel_policy(game, recording)
    assert len(calls) == 2  # one batched call per seat
    assert all(obs.shape[1] == encoder.size for obs, _ in calls)
    # Every view the policy got is one the environment would give at a simultaneous node.
    views = set()
    stack = [game.new_initial_state()]
    while stack:
        state = stack.pop()
        if state.is_terminal():
            continue
        if state.is_chance_node():
            stack.extend(state.child(a) for a, _ in state.chance_outcomes())
            continue
        for p in range(2):
            views.add((p, encoder.encode(state, p).tobytes()))
        for joint in itertools.product(state.legal_actions(0), state.legal_actions(1)):
            child = state.clone()
            child.apply_actions(list(joint))
            stack.append(child)
    for p, (obs, _) in enumerate(calls):
        assert {(p, row.tobytes()) for row in obs} <= views
        np.testing.assert_array_equal(obs[:, -2:], np.eye(2, dtype=np.float32)[[p] * len(obs)])


def test_too_large_game_names_the_limit():
    with pytest.raises(ValueError, match=r"tic_tac_toe.*max_info_states=100\b"):
        exact_eval.evaluate("tic_tac_toe", uniform_policy_fn, max_info_states=100)


def test_wrong_shape_is_an_error():
    def flat(observation, legal_mask):
        return uniform_policy_fn(observation, legal_mask)[:, 0]

    with pytest.raises(ValueError, match=r"player 0 returned shape \(6, 2\).*\[N, K, A\]"):
        exact_eval.evaluate("kuhn_poker", flat)


def test_nan_is_an_error_naming_player_and_info_state():
    def nan_for_player_1(observation, legal_mask):
        probs = uniform_policy_fn(observation, legal_mask)
        if observation[0, -1] == 1.0:
            probs[2] = np.nan
        return probs

    with pytest.raises(ValueError, match=r"player 1 returned NaN.*information state '"):
        exact_eval.evaluate("kuhn_poker", nan_for_player_1)


def test_illegal_mass_is_an_error_beyond_tolerance():
    game = pyspiel.load_game("goofspiel(num_cards=3)")

    def leaky(epsilon):
        def policy_fn(observation, legal_mask):
            probs = np.where(legal_mask, 1.0, epsilon)
            return probs / probs.sum(axis=-1, keepdims=True)

        return policy_fn

    with pytest.raises(ValueError, match=r"player 0 put mass .* on illegal actions at info"):
        exact_eval.evaluate(game, leaky(0.05))
    # Within tolerance the mass is dropped and the legal probabilities renormalised.
    tiny = exact_eval.evaluate(game, leaky(1e-8))
    assert tiny.nash_conv == pytest.approx(exact_eval.nash_conv(game, uniform_policy_fn))


def test_no_mass_on_legal_actions_and_negative_probabilities_are_errors():
    with pytest.raises(ValueError, match="no probability on legal actions"):
        exact_eval.evaluate("kuhn_poker", lambda obs, mask: np.zeros(mask.shape))
    with pytest.raises(ValueError, match="negative probabilities"):
        exact_eval.evaluate("kuhn_poker", lambda obs, mask: np.where(mask, [1.5, -0.5], 0.0))


def test_bad_arguments():
    with pytest.raises(ValueError, match="MEAN_FIELD"):
        exact_eval.evaluate("mfg_crowd_modelling", uniform_policy_fn)
    with pytest.raises(ValueError, match=r"one policy per seat \(2\), got 3"):
        exact_eval.evaluate("kuhn_poker", [uniform_policy_fn] * 3)
    with pytest.raises(ValueError, match="max_info_states"):
        exact_eval.evaluate("kuhn_poker", uniform_policy_fn, max_info_states=0)
    with pytest.raises(TypeError, match="pyspiel.Game"):
        exact_eval.evaluate(3, uniform_policy_fn)


def test_jitted_softmax_policy_is_accepted():
    # Zero logits through the masked softmax is the uniform policy: NashConv 11/12 on Kuhn.
    policy_fn = softmax_policy_fn(lambda obs, mask: jnp.zeros(mask.shape) + obs[:, :1, None] * 0)
    assert exact_eval.nash_conv("kuhn_poker", policy_fn) == pytest.approx(11 / 12, abs=1e-6)
