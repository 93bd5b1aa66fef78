"""The league's environments: realpolitik on `RealpolitikEnv` (K > 1 slots), others on OpenSpiel."""

import dataclasses

import jax
import numpy as np
import pytest

from detente.agents import PPOConfig, make_policy_value_network
from detente.games.jax_games.host_env import JaxGameEnv
from detente.lib import OpenSpielEnv
from detente.population import OpponentTrainingConfig, train_against_opponents
from detente.population.league_env import (
    env_factory,
    is_jax_only,
    is_realpolitik,
    league_spec,
    play_env_matches,
    uses_league_env,
)
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


def test_jax_only_games_train_and_play_on_the_jax_engine_as_on_the_reference():
    """ "realpolitik_jax(...)" is learnt on `JaxGameEnv`: the same learner parameters and match
    returns as on `RealpolitikEnv`, bit for bit (the engines agree, chance-free board)."""
    jax_duel = "realpolitik_jax(map=duel,max_years=2)"
    reference = "realpolitik(map=duel,max_years=2)"
    assert is_jax_only(jax_duel) and uses_league_env(jax_duel)
    assert not is_jax_only(reference) and not is_jax_only("matrix_rps")  # OpenSpiel has it
    assert not uses_league_env("blotto")
    env = env_factory(jax_duel)(16, True)
    assert isinstance(env, JaxGameEnv) and env.auto_reset
    assert dataclasses.replace(league_spec(jax_duel), name="") == dataclasses.replace(
        league_spec(reference), name=""
    )
    with pytest.raises(ValueError, match="never truncated"):
        env_factory(jax_duel, max_steps=4)
    network = make_policy_value_network(league_spec(reference), hidden_sizes=(8,))
    population = Population(
        [Member.create(f"m{i}", network.init(jax.random.key(i)), role="initial") for i in range(2)]
    )
    config = OpponentTrainingConfig(
        batch_size=16,
        unroll_length=6,
        num_updates=2,
        num_groups=2,
        segment_length=1,
        ppo=PPOConfig(num_epochs=1, num_minibatches=1),
    )
    params = [
        train_against_opponents(
            config,
            game=game,
            network=network,
            population=population,
            opponents=[{"m0": 0.5, "m1": 0.5}] * 2,
            learner_seats=[0, 1],
            seed=0,
            env=env_factory(game)(16, True),
        ).params
        for game in (jax_duel, reference)
    ]
    for x, y in zip(*(jax.tree.leaves(p) for p in params), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    profiles = [("m0", "m1"), ("m1", "m0")]
    ours, theirs = (
        play_env_matches(game, network, population, profiles, games_per_profile=2, seed=3)
        for game in (jax_duel, reference)
    )
    for a, b in zip(ours, theirs, strict=True):
        assert a.members == b.members
        np.testing.assert_array_equal(a.returns, b.returns)
    # The same batches played on the device: every game to its end, each game's point split once.
    on_device = play_env_matches(
        jax_duel, network, population, profiles, games_per_profile=2, seed=3, on_device=True
    )
    assert [r.members for r in on_device] == profiles
    for result in on_device:
        assert result.returns.shape == (2, 2)
        np.testing.assert_allclose(result.returns.sum(axis=1), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="on_device needs a JAX-only game"):
        play_env_matches(
            reference, network, population, profiles, games_per_profile=2, seed=3, on_device=True
        )
