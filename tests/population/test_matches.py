"""Matches: seat maps validated up front, deterministic batched play, correct returns."""

import jax
import numpy as np
import pytest

from detente.agents import make_policy_value_network
from detente.games import load
from detente.lib import env_spec_for
from detente.population import Member, Population, TabularMembers, play_match, play_matches

GAME = load("kuhn_poker")
NETWORK = make_policy_value_network(env_spec_for(GAME), hidden_sizes=(8,))


def _population():
    # Scaled-up random parameters give clearly non-uniform policies.
    return Population(
        [
            Member.create(name, jax.tree.map(lambda x: 50.0 * x, NETWORK.init(jax.random.key(i))))
            for i, name in enumerate(["a", "b"])
        ]
    )


def test_mean_returns_match_exact_values_and_are_deterministic():
    population = _population()
    result = play_match(GAME, NETWORK, population, ["a", "b"], num_games=1000, seed=3)
    assert result.returns.shape == (1000, 2) and result.members == ("a", "b")
    np.testing.assert_allclose(result.returns.sum(axis=1), 0.0)  # zero-sum, game by game
    exact = TabularMembers(GAME, NETWORK).profile_values([population["a"], population["b"]])
    stderr = result.returns.std(axis=0) / np.sqrt(1000)
    assert np.all(np.abs(result.mean_returns - exact) < 5 * stderr + 1e-9)
    again = play_match(GAME, NETWORK, population, ["a", "b"], num_games=1000, seed=3)
    np.testing.assert_array_equal(again.returns, result.returns)
    other = play_match(GAME, NETWORK, population, ["a", "b"], num_games=1000, seed=4)
    assert not np.array_equal(other.returns, result.returns)
    record = result.record()
    assert record.num_games == 1000 and record.seed == 3
    np.testing.assert_allclose(record.returns, result.mean_returns)


def test_several_profiles_in_one_batch():
    population = _population()
    results = play_matches(
        "kuhn_poker",
        NETWORK,
        population,
        [("a", "b"), ("b", "a"), ("a", "a")],
        games_per_profile=8,
        seed=0,
    )
    assert [r.members for r in results] == [("a", "b"), ("b", "a"), ("a", "a")]
    assert all(r.returns.shape == (8, 2) for r in results)


@pytest.mark.parametrize(
    "profiles, kwargs, message",
    [
        ([("a",)], {}, r"profile 0 \('a',\) has 1 seats; the game has 2"),
        ([("a", "b"), ("a", "zz")], {}, r"profile 1 \('a', 'zz'\): unknown member id 'zz'"),
        ([], {}, "profiles must be a non-empty sequence"),
        (["ab"], {}, "profile 0 must be a sequence of 2 member ids"),
        ([("a", "b")], {"games_per_profile": 0}, "games_per_profile must be a positive integer"),
        ([("a", "b")], {"seed": -1}, "seed must be a non-negative integer"),
    ],
)
def test_bad_seat_maps_fail_before_playing(profiles, kwargs, message):
    arguments = {"games_per_profile": 4, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        play_matches(GAME, NETWORK, _population(), profiles, **arguments)
