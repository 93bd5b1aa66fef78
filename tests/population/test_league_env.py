"""The league's environments: realpolitik on `RealpolitikEnv` (K > 1 slots), others on OpenSpiel."""

import jax
import numpy as np
import pytest

from detente.agents import PPOConfig, make_policy_value_network
from detente.lib import OpenSpielEnv
from detente.population import OpponentTrainingConfig, train_against_opponents
from detente.population.league_env import env_factory, is_realpolitik, league_spec, play_env_matches
from detente.population.members import Member, Population

DUEL = "realpolitik(map=duel,max_years=1)"


def test_factory_picks_the_backend():
    assert is_realpolitik(DUEL) and not is_realpolitik("kuhn_poker")
    env = env_factory(DUEL)(2, True)
    assert type(env).__name__ == "RealpolitikEnv" and env.auto_reset
    assert env.spec.num_slots == 2 and env.spec == league_spec(DUEL)  # K = victory - 1
    assert isinstance(env_factory("kuhn_poker")(2, False), OpenSpielEnv)


def test_realpolitik_training_and_matches():
    spec = league_spec(DUEL)
    network = make_policy_value_network(spec, hidden_sizes=(8,))
    population = Population(
        [Member.create(f"m{i}", network.init(jax.random.key(i)), role="initial") for i in range(2)]
    )
    config = OpponentTrainingConfig(
        batch_size=4,
        unroll_length=6,
        num_updates=1,
        num_groups=2,
        segment_length=1,
        ppo=PPOConfig(num_epochs=1, num_minibatches=1),
    )
    result = train_against_opponents(
        config,
        game=DUEL,
        network=network,
        population=population,
        opponents=[{"m0": 0.5, "m1": 0.5}] * 2,
        learner_seats=[0, 1],
        seed=0,
        env=env_factory(DUEL)(4, True),
    )
    assert result.env_steps == 24 and int(result.state.step) == 1
    with pytest.raises(ValueError, match="batch_size=4"):
        train_against_opponents(
            config,
            game=DUEL,
            network=network,
            population=population,
            opponents=[{"m0": 1.0}] * 2,
            learner_seats=[0, 1],
            seed=0,
            env=env_factory(DUEL)(8, True),
        )
    profiles = [("m0", "m1"), ("m1", "m0"), ("m0", "m0")]
    first = play_env_matches(DUEL, network, population, profiles, games_per_profile=2, seed=3)
    again = play_env_matches(DUEL, network, population, profiles, games_per_profile=2, seed=3)
    assert [r.members for r in first] == profiles
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.returns, b.returns)
        assert a.returns.shape == (2, 2)
    with pytest.raises(ValueError, match="unknown member id 'm9'"):
        play_env_matches(DUEL, network, population, [("m0", "m9")], games_per_profile=1, seed=0)
