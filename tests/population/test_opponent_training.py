"""Training against frozen opponents: learns a best response; validation of seats/opponents."""

import dataclasses
import functools

import jax
import numpy as np
import pytest

from detente.agents import PPOConfig, make_policy_value_network
from detente.games import load
from detente.lib import env_spec_for
from detente.population import (
    Member,
    OpponentTrainingConfig,
    Population,
    TabularMembers,
    train_against_opponents,
)

TINY = OpponentTrainingConfig(
    batch_size=32,
    unroll_length=2,
    num_updates=30,
    num_groups=4,
    segment_length=10,
    ppo=PPOConfig(num_epochs=2, num_minibatches=2, learning_rate=1e-2, entropy_cost=0.0),
)


@functools.lru_cache
def _network():
    return make_policy_value_network(env_spec_for(load("matrix_rps")), hidden_sizes=(8,))


def biased_params(network, action, logit=6.0):
    """Parameters whose policy plays `action` with probability ~0.995 at every state."""
    params = jax.tree.map(np.zeros_like, network.init(jax.random.key(0)))
    head = next(k for k in params if k.endswith("policy_head"))
    params[head]["b"][action] = logit
    return params


def _population():
    network = _network()
    return Population([Member.create("rock", biased_params(network, 0))])


def test_learner_finds_the_best_response_to_a_fixed_opponent():
    network, population = _network(), _population()
    result = train_against_opponents(
        TINY,
        game="matrix_rps",
        network=network,
        population=population,
        opponents=[None, {"rock": 1.0}],
        learner_seats=[0],
        seed=0,
    )
    tabular = TabularMembers(load("matrix_rps"), network)
    learner = Member.create("learner", result.params)
    value = tabular.profile_values([learner, population["rock"]])[0]
    assert value > 0.6  # paper beats rock: the best response's value is ~1
    assert result.env_steps == 30 * 2 * 32 and result.mean_return > 0.3


def test_learner_on_every_seat_warm_start_and_determinism():
    network, population = _network(), _population()
    config = dataclasses.replace(TINY, num_updates=2)  # same shapes: no recompilation
    start = biased_params(network, 1)
    run = functools.partial(
        train_against_opponents,
        config,
        game="matrix_rps",
        network=network,
        population=population,
        opponents=[{"rock": 1.0}, {"rock": 1.0}],
        learner_seats=[0, 1],
        initial_params=start,
    )
    result, again, other = run(seed=1), run(seed=1), run(seed=2)
    same = zip(jax.tree.leaves(result.params), jax.tree.leaves(again.params), strict=True)
    assert all(np.array_equal(a, b) for a, b in same)  # deterministic for a seed
    different = zip(jax.tree.leaves(result.params), jax.tree.leaves(other.params), strict=True)
    assert not all(np.array_equal(a, b) for a, b in different)
    # Warm-started from `start`: two small updates stay close to it.
    leaves = zip(jax.tree.leaves(result.params), jax.tree.leaves(start), strict=True)
    assert max(float(np.max(np.abs(np.asarray(a) - b))) for a, b in leaves) < 0.5


@pytest.mark.parametrize(
    "opponents, seats, message",
    [
        ([None, {"rock": 1.0}], [2], "learner seat 2 is out of range for 2 players"),
        ([None, {"rock": 1.0}], [], "learner_seats must name at least one seat"),
        ([None, {"rock": 1.0}], [0, 0], "learner_seats has duplicates"),
        ([None], [0], "opponents must be a sequence of 2 distributions"),
        ([None, None], [0], "seat 1 needs an opponent distribution"),
        ([None, {"paper": 1.0}], [0], r"opponents\[1\]: unknown member id 'paper'"),
        ([None, {"rock": 0.5}], [0], r"opponents\[1\] must hold probabilities summing to 1"),
        ([None, {}], [0], r"opponents\[1\] must be a non-empty mapping"),
        ([{"rock": 1.0}, None], [0, 1], "seat 1 needs an opponent distribution"),
    ],
)
def test_bad_opponents(opponents, seats, message):
    with pytest.raises(ValueError, match=message):
        train_against_opponents(
            TINY,
            game="matrix_rps",
            network=_network(),
            population=_population(),
            opponents=opponents,
            learner_seats=seats,
            seed=0,
        )


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("num_groups", 5, "num_groups=5 must divide batch_size=32"),
        ("segment_length", 0, "segment_length must be a positive integer"),
        ("max_steps", 0, "max_steps must be None or a positive integer"),
    ],
)
def test_bad_config(field, value, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(TINY, **{field: value})


@functools.lru_cache
def _kuhn3():
    game = load("kuhn_poker(players=3)")
    return game, make_policy_value_network(env_spec_for(game), hidden_sizes=(16,))


def test_learner_in_two_seats_of_a_three_player_game():
    """A coalition of the learner in two seats learns to beat a fixed third player."""
    game, network = _kuhn3()
    initial = Member.create("initial", network.init(jax.random.key(0)))
    population = Population([initial])
    sets = [(0, 1), (1, 2), (0, 2)]
    config = OpponentTrainingConfig(
        batch_size=48,
        unroll_length=4,
        num_updates=40,
        num_groups=6,
        segment_length=20,
        ppo=PPOConfig(num_epochs=2, num_minibatches=2, learning_rate=1e-2),
    )
    result = train_against_opponents(
        config,
        game=game,
        network=network,
        population=population,
        opponents=[{"initial": 1.0}] * 3,
        learner_seats=sets,
        seed=0,
    )
    tabular = TabularMembers(game, network)
    learner = Member.create("learner", result.params)

    def coalition_value(member):  # the mean over seat sets of the mean over the member's seats
        values = []
        for seat_set in sets:
            seating = [member if p in seat_set else initial for p in range(3)]
            values.append(tabular.profile_values(seating)[list(seat_set)].mean())
        return float(np.mean(values))

    before, after = coalition_value(initial), coalition_value(learner)
    assert after > before + 0.1, (before, after)
    assert np.isfinite(result.mean_return)


@pytest.mark.parametrize(
    "seats, opponents, message",
    [
        ([(0, 1, 2)], [None, None, None], "holds all 3 seats"),
        ([(0, 0)], [None, None, {"x": 1.0}], r"seat set \(0, 0\) repeats a seat"),
        ([()], [None, None, {"x": 1.0}], "non-empty sequence of seat indices"),
        ([(0, 3)], [None, None, {"x": 1.0}], "learner seat 3 is out of range for 3 players"),
        ([(0, 1), (1, 2)], [None, None, {"x": 1.0}], "seat 0 needs an opponent distribution"),
        (["01"], [None, None, {"x": 1.0}], "seat index or a non-empty sequence"),
    ],
)
def test_bad_seat_sets(seats, opponents, message):
    game, network = _kuhn3()
    population = Population([Member.create("x", network.init(jax.random.key(0)))])
    with pytest.raises(ValueError, match=message):
        train_against_opponents(
            TINY,
            game=game,
            network=network,
            population=population,
            opponents=opponents,
            learner_seats=seats,
            seed=0,
        )


def test_draw_opponents_leaves_the_learner_seats_to_member_zero():
    from detente.population.opponent_training import draw_opponents

    game, network = _kuhn3()
    population = Population(
        [Member.create(m, network.init(jax.random.key(i))) for i, m in enumerate("ab")]
    )
    dist = (["a", "b"], np.array([0.5, 0.5]))
    group_seats = np.array([[True, True, False], [False, True, True], [True, False, False]])
    _, seat_members = draw_opponents(population, [dist] * 3, group_seats, 6, seed=3)
    seat_members = np.asarray(seat_members)
    assert (seat_members[group_seats] == 0).all()
    assert (seat_members[~group_seats] > 0).all()
    assert sorted(seat_members[~group_seats]) == [1, 2, 3, 4]  # one drawn slot per opponent seat
