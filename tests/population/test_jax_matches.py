"""Matches on JAX games: exact expected payoffs, seat maps, determinism, games to the end."""

import jax
import numpy as np
import pytest

from detente.agents import make_policy_value_network
from detente.games import jax_games
from detente.games.jax_games.normal_form import MATRIX_GAMES
from detente.population import Member, Population
from detente.population.jax_matches import play_jax_matches

RPS = "matrix_rps"
DUEL = "realpolitik_jax(map=duel,max_years=2)"


def _population(network, scale=5.0):
    # Scaled-up random parameters give clearly non-uniform policies.
    return Population(
        [
            Member.create(name, jax.tree.map(lambda x: scale * x, network.init(jax.random.key(i))))
            for i, name in enumerate(["a", "b"])
        ]
    )


def test_mean_returns_match_the_exact_payoffs_of_each_seat_map():
    game = jax_games.make(RPS)
    network = make_policy_value_network(game.spec, hidden_sizes=(8,))
    population = _population(network)
    first = game.init(jax.random.key(0))

    def policy(member, seat):
        logits, _ = network.apply(
            population[member].params, first.observation[seat], first.legal_action_mask[seat]
        )
        return np.asarray(jax.nn.softmax(logits[0]), np.float64)

    payoffs = np.asarray(MATRIX_GAMES[RPS], np.float64)
    profiles = [("a", "b"), ("b", "a"), ("a", "a")]
    results = play_jax_matches(RPS, network, population, profiles, games_per_profile=4000, seed=3)
    for profile, result in zip(profiles, results, strict=True):
        assert result.members == profile and result.returns.shape == (4000, 2)
        np.testing.assert_allclose(result.returns.sum(axis=1), 0.0)  # zero-sum, game by game
        p0, p1 = policy(profile[0], 0), policy(profile[1], 1)
        exact = np.array([p0 @ payoffs[0] @ p1, p0 @ payoffs[1] @ p1])
        stderr = result.returns.std(axis=0) / np.sqrt(4000)
        assert np.all(np.abs(result.mean_returns - exact) < 5 * stderr + 1e-9), (profile, exact)
    # The two policies differ enough that the seat maps are told apart.
    assert abs(results[0].mean_returns[0] - results[1].mean_returns[0]) > 0.1


def test_deterministic_given_the_seed():
    game = jax_games.make("blotto(players=3)")
    network = make_policy_value_network(game.spec, hidden_sizes=(8,))
    population = _population(network, scale=3.0)
    profiles = [("a", "b", "b"), ("b", "a", "b")]

    def returns(seed):
        results = play_jax_matches(
            game, network, population, profiles, games_per_profile=64, seed=seed
        )
        return np.stack([r.returns for r in results])

    np.testing.assert_array_equal(returns(5), returns(5))
    assert not np.array_equal(returns(5), returns(6))


def test_realpolitik_games_are_played_to_the_end_once():
    game = jax_games.make(DUEL)
    network = make_policy_value_network(game.spec, hidden_sizes=(16,))
    population = _population(network, scale=1.0)
    results = play_jax_matches(
        DUEL, network, population, [("a", "b"), ("b", "a")], games_per_profile=16, seed=0
    )
    for result in results:
        # Sum-of-squares scoring splits one point per game: rewards are counted exactly once,
        # none after a game's end.
        np.testing.assert_allclose(result.returns.sum(axis=1), 1.0, rtol=1e-5)
        assert result.seed == 0
    # The compiled player is kept per game string and network.
    again = play_jax_matches(
        DUEL, network, population, [("a", "b"), ("b", "a")], games_per_profile=16, seed=0
    )
    for x, y in zip(results, again, strict=True):
        np.testing.assert_array_equal(x.returns, y.returns)


def test_bad_input_names_the_problem():
    game = jax_games.make(RPS)
    network = make_policy_value_network(game.spec, hidden_sizes=(8,))
    population = _population(network)
    with pytest.raises(ValueError, match="unknown JAX game 'matrix_rsp'"):
        play_jax_matches(
            "matrix_rsp", network, population, [("a", "b")], games_per_profile=1, seed=0
        )
    other = make_policy_value_network(jax_games.make("blotto").spec, hidden_sizes=(8,))
    with pytest.raises(ValueError, match="does not fit game matrix_rps"):
        play_jax_matches(RPS, other, population, [("a", "b")], games_per_profile=1, seed=0)
    with pytest.raises(ValueError, match="profile 0 .* has 3 seats; the game has 2"):
        play_jax_matches(RPS, network, population, [("a", "b", "a")], games_per_profile=1, seed=0)
    with pytest.raises(ValueError, match="'zed'"):
        play_jax_matches(RPS, network, population, [("a", "zed")], games_per_profile=1, seed=0)
    with pytest.raises(ValueError, match="games_per_profile must be a positive integer, got 0"):
        play_jax_matches(RPS, network, population, [("a", "b")], games_per_profile=0, seed=0)
    with pytest.raises(ValueError, match="seed must be a non-negative integer, got -1"):
        play_jax_matches(RPS, network, population, [("a", "b")], games_per_profile=1, seed=-1)
    with pytest.raises(TypeError, match="JAX game string or a JaxGame"):
        play_jax_matches(42, network, population, [("a", "b")], games_per_profile=1, seed=0)
