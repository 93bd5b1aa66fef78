"""On-device training against opponents: a known best response, the learner's seats, seeds."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from detente.agents import PPOConfig, make_policy_value_network
from detente.games import jax_games
from detente.lib import CsvLogger
from detente.population import Member, OpponentTrainingConfig, Population
from detente.population.jax_opponent_training import train_jax_against_opponents

RPS = "matrix_rps"
ROCK, PAPER = 0, 1


def _network():
    return make_policy_value_network(jax_games.make(RPS).spec, hidden_sizes=(8,))


def _rock_player(network):
    """Parameters whose policy plays rock with probability about 0.98 at either seat."""
    params = jax.tree.map(jnp.zeros_like, network.init(jax.random.key(0)))
    params["policy_value_policy_head"]["b"] = jnp.array([5.0, 0.0, 0.0])
    return params


def _policy(network, params, seat):
    first = jax_games.make(RPS).init(jax.random.key(0))
    logits, _ = network.apply(params, first.observation[seat], first.legal_action_mask[seat])
    return np.asarray(jax.nn.softmax(logits[0]))


def _config(**overrides):
    settings = dict(
        batch_size=64,
        unroll_length=2,
        num_updates=40,
        num_groups=2,
        segment_length=10,
        ppo=PPOConfig(learning_rate=0.01, num_epochs=2, num_minibatches=2, entropy_cost=0.0),
    )
    settings.update(overrides)
    return OpponentTrainingConfig(**settings)


def test_learns_the_best_response_to_a_fixed_opponent_at_both_seats(tmp_path):
    network = _network()
    population = Population([Member.create("rock", _rock_player(network))])
    logger = CsvLogger(tmp_path, "learner")
    result = train_jax_against_opponents(
        _config(),
        game=RPS,
        network=network,
        population=population,
        opponents=[{"rock": 1.0}] * 2,
        learner_seats=[0, 1],
        seed=0,
        logger=logger,
    )
    logger.close()
    assert result.env_steps == 40 * 2 * 64 and int(result.state.step) == 40
    for seat in (0, 1):  # paper beats rock, whichever seat the learner holds
        assert _policy(network, result.params, seat)[PAPER] > 0.9
    # The learner's return (its seats only) approaches paper's payoff against the rock player.
    assert result.mean_return > 0.8
    rows = (tmp_path / "learner.csv").read_text().splitlines()
    assert len(rows) == 1 + 4 and "learner_return" in rows[0]


def test_only_the_learners_seats_count():
    """Learner at seat 0 only, the rock player at seat 1: the learner learns paper there, and
    its return is its own seat's (averaging in the rock player's seat would give about 0)."""
    network = _network()
    population = Population([Member.create("rock", _rock_player(network))])
    initial = network.init(jax.random.key(5))
    result = train_jax_against_opponents(
        _config(num_updates=20),
        game=RPS,
        network=network,
        population=population,
        opponents=[None, {"rock": 1.0}],
        learner_seats=[0],
        seed=1,
        initial_params=initial,
    )
    assert _policy(network, initial, 0)[PAPER] < 0.4
    assert _policy(network, result.params, 0)[PAPER] > 0.9
    assert result.mean_return > 0.8


def test_reproducible_from_the_seed():
    network = _network()
    population = Population(
        [
            Member.create("rock", _rock_player(network)),
            Member.create("other", network.init(jax.random.key(9))),
        ]
    )

    def run(seed):
        return train_jax_against_opponents(
            _config(num_updates=4, segment_length=2),
            game=RPS,
            network=network,
            population=population,
            opponents=[{"rock": 0.5, "other": 0.5}] * 2,
            learner_seats=[0, 1],
            seed=seed,
        )

    a, b, c = run(3), run(3), run(4)
    for x, y in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert a.mean_return == b.mean_return
    assert not all(
        np.array_equal(np.asarray(x), np.asarray(y))
        for x, y in zip(jax.tree.leaves(a.params), jax.tree.leaves(c.params), strict=True)
    )


def test_bad_input_names_the_problem():
    network = _network()
    population = Population([Member.create("rock", _rock_player(network))])
    kwargs = dict(network=network, population=population, learner_seats=[0, 1], seed=0)
    with pytest.raises(ValueError, match="registered JAX game string, got 'kuhn_poker'"):
        train_jax_against_opponents(
            _config(), game="kuhn_poker", opponents=[{"rock": 1.0}] * 2, **kwargs
        )
    with pytest.raises(ValueError, match="unknown member id 'paper'"):
        train_jax_against_opponents(_config(), game=RPS, opponents=[{"paper": 1.0}] * 2, **kwargs)
    with pytest.raises(ValueError, match="max_steps=1 would truncate"):
        train_jax_against_opponents(
            _config(max_steps=1, num_updates=1),
            game="realpolitik_jax(map=duel,max_years=1)",
            network=make_policy_value_network(
                jax_games.make("realpolitik_jax(map=duel,max_years=1)").spec, hidden_sizes=(8,)
            ),
            population=population,
            opponents=[{"rock": 1.0}] * 2,
            learner_seats=[0, 1],
            seed=0,
        )
    other = make_policy_value_network(jax_games.make("blotto").spec, hidden_sizes=(8,))
    with pytest.raises(ValueError, match="does not fit game"):
        train_jax_against_opponents(
            _config(),
            game=RPS,
            network=other,
            population=population,
            opponents=[{"rock": 1.0}] * 2,
            learner_seats=[0, 1],
            seed=0,
        )
