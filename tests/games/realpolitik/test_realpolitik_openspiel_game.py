"""The OpenSpiel game `realpolitik`: consistency checks, registration, parameters, NashConv."""

import time

import numpy as np
import pyspiel
import pytest
from open_spiel.python import policy as openspiel_policy
from open_spiel.python.algorithms import exploitability

from detente import games
from detente.games.realpolitik import shipped_maps
from detente.lib import exact_eval
from detente.lib.policy import uniform_policy_fn


@pytest.mark.parametrize("name", shipped_maps())
def test_random_sim_test(name):
    # Python games cannot be serialized by OpenSpiel's string serializer; everything else runs.
    years, sims = (2, 1) if name == "classic" else (3, 4)
    game = games.load(f"realpolitik(map={name},max_years={years})")
    pyspiel.random_sim_test(game, num_sims=sims, serialize=False, verbose=False)


@pytest.mark.parametrize(
    "params", ["scoring=welfare,max_years=3", "scoring=draw_size,random_end_prob=0.5"]
)
def test_random_sim_test_welfare_and_random_end(params):
    game = games.load(f"realpolitik(map=triad,{params})")
    pyspiel.random_sim_test(game, num_sims=4, serialize=False, verbose=False)


def test_registered_and_loadable():
    game = games.load("realpolitik(map=classic,scoring=sum_of_squares)")
    assert game.num_players() == 7 and game.num_distinct_actions() == 1446
    assert any(
        info.name == "realpolitik" and info.source == "detente" for info in games.list_games()
    )
    state = game.new_initial_state()
    assert state.is_simultaneous_node()
    # Austria's first sub-step orders its first unit in location order (A BUD).
    assert "A BUD H" in [state.action_to_string(0, a) for a in state.legal_actions(0)]


@pytest.mark.parametrize(
    "params, match",
    [
        ("map=nowhere", r"unknown map 'nowhere'.*classic.*duel"),
        ("scoring=elo", r"unknown scoring 'elo'.*draw_size.*sum_of_squares.*welfare"),
        ("max_years=0", r"max_years must be >= 1"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        games.load(f"realpolitik({params})")


def test_turn_based_and_information_states():
    game = games.load("realpolitik(map=duel,max_years=1)")
    turn_based = pyspiel.convert_to_turn_based(game)
    root = turn_based.new_initial_state()
    # Player 1 cannot tell player 0's orders of the running phase apart.
    views = {root.child(a).information_state_string(1) for a in root.legal_actions()}
    assert len(views) == 1 and len(root.legal_actions()) > 1
    sim = game.new_initial_state()
    own = sim.legal_actions(0)[-1]
    sim.apply_actions([own, sim.legal_actions(1)[0]])
    # After adjudication both powers' orders are in both information states.
    order = game.new_initial_state().action_to_string(0, own)
    for p in range(2):
        assert order in sim.information_state_string(p)
        assert "S1901M NORTH:" in sim.information_state_string(p)


def test_exact_nash_conv_of_uniform_on_duel():
    """Uniform NashConv on duel over one year (sum of squares), detente vs OpenSpiel's own."""
    game = games.load("realpolitik(map=duel,scoring=sum_of_squares,max_years=1)")
    start = time.perf_counter()
    result = exact_eval.evaluate(game, uniform_policy_fn)
    assert time.perf_counter() - start < 60
    turn_based = pyspiel.convert_to_turn_based(game)
    reference = exploitability.nash_conv(
        turn_based, openspiel_policy.UniformRandomPolicy(turn_based)
    )
    np.testing.assert_allclose(result.nash_conv, reference, atol=1e-9)
    # Value when this test was written (docs/realpolitik_openspiel.md).
    np.testing.assert_allclose(result.nash_conv, 0.6224166666666667, atol=1e-9)
    assert sum(result.policy_values) == pytest.approx(1.0)
