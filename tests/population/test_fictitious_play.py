"""Fictitious play: PSRO with the uniform meta-solver."""

import dataclasses

import jax
import numpy as np
import pytest

from detente.agents import PPOConfig
from detente.games import load
from detente.lib import env_spec_for
from detente.population import (
    OpponentTrainingConfig,
    PSROConfig,
    fictitious_play_config,
    run_fictitious_play,
)
from detente.population.psro import _network

# The same shapes as tests/population/test_psro.py, so compilations are shared in one session.
RPS = PSROConfig(
    game="matrix_rps",
    iterations=2,
    meta_solver="uniform",
    hidden_sizes=(8,),
    warm_start=False,
    best_response=OpponentTrainingConfig(
        batch_size=32,
        unroll_length=2,
        num_updates=20,
        num_groups=4,
        segment_length=10,
        ppo=PPOConfig(num_epochs=2, num_minibatches=2, learning_rate=1e-2, entropy_cost=0.0),
    ),
)


def rock_params(config):
    network = _network(env_spec_for(load(config.game)), config.hidden_sizes)
    params = jax.tree.map(np.zeros_like, network.init(jax.random.key(0)))
    head = next(k for k in params if k.endswith("policy_head"))
    params[head]["b"][0] = 6.0
    return params


def test_each_member_answers_the_uniform_mixture_of_all_past_members():
    config = fictitious_play_config(
        RPS, iterations=2, payoff_estimator="none", exact_evaluation="always"
    )
    result = run_fictitious_play(config, initial_params=[rock_params(RPS)] * 2)
    for iteration, strategies in enumerate(result.meta_strategies):
        for sigma in strategies:
            np.testing.assert_allclose(sigma, np.full(iteration + 1, 1 / (iteration + 1)))
    assert len(result.payoffs) == 0  # no payoff bookkeeping with the "none" estimator
    assert result.rows[0]["nash_conv"] > result.rows[-1]["nash_conv"]
    assert result.rows[-1]["meta_nash_conv"] is None  # no meta-game without payoffs


def test_other_meta_solvers_are_refused():
    with pytest.raises(ValueError, match="fictitious play uses the uniform meta-solver"):
        fictitious_play_config(RPS, meta_solver="zero_sum_nash")
    with pytest.raises(ValueError, match="fictitious play needs meta_solver='uniform'"):
        run_fictitious_play(dataclasses.replace(RPS, meta_solver="zero_sum_nash"))
