"""JAX Colonel Blotto against OpenSpiel's `blotto` (through `OpenSpielEnv` and pyspiel)."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pyspiel
import pytest

from detente.games import jax_games
from detente.lib import OpenSpielEnv, TimeStep


def _assert_timesteps_equal(jax_ts: TimeStep, os_ts: TimeStep) -> None:
    for field in TimeStep._fields:
        got, want = np.asarray(getattr(jax_ts, field)), np.asarray(getattr(os_ts, field))
        assert got.shape == want.shape and got.dtype == want.dtype, field
        if field == "rewards":  # OpenSpiel computes 1/3 in double
            np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=field)
        else:
            np.testing.assert_array_equal(got, want, err_msg=field)


def _check(name: str, joint_actions: np.ndarray) -> None:
    game = jax_games.make(name)
    os_game = pyspiel.load_game(name)
    env = OpenSpielEnv(os_game, len(joint_actions), auto_reset=True)
    assert (game.spec.obs_shape, game.spec.num_actions, game.spec.utility) == (
        env.spec.obs_shape,
        env.spec.num_actions,
        env.spec.utility,
    )
    keys = jax.random.split(jax.random.key(0), len(joint_actions))
    step = jax.jit(jax.vmap(jax_games.auto_reset(game.init, game.step)))
    state = jax.vmap(game.init)(keys)
    _assert_timesteps_equal(jax_games.to_timestep(state), env.reset(seed=0))
    actions = np.asarray(joint_actions, np.int32)[..., None]
    state = step(state, actions, keys)
    _assert_timesteps_equal(jax_games.to_timestep(state), env.step(actions))
    state = step(state, actions, keys)  # restart
    _assert_timesteps_equal(jax_games.to_timestep(state), env.step(actions))


@pytest.mark.parametrize("coins,fields", [(10, 3), (4, 4), (5, 1), (3, 2)])
def test_action_table_matches_openspiel(coins, fields):
    game = pyspiel.load_game(f"blotto(coins={coins},fields={fields})")
    table = jax_games.blotto_allocations(coins, fields)
    assert len(table) == game.num_distinct_actions() == jax_games.num_blotto_actions(coins, fields)
    state = game.new_initial_state()
    assert [state.action_to_string(0, a) for a in range(len(table))] == [
        "[" + ",".join(map(str, row)) + "]" for row in table
    ]


def test_two_players_every_joint_action():
    num_actions = jax_games.num_blotto_actions(10, 3)  # 66
    joint = np.array(list(itertools.product(range(num_actions), repeat=2)))  # 4356
    _check("blotto(players=2,coins=10,fields=3)", joint)


@pytest.mark.parametrize(
    "name", ["blotto(players=3,coins=10,fields=3)", "blotto(players=4,coins=5,fields=4)"]
)
def test_more_players_random_joint_actions(name):
    game = pyspiel.load_game(name)
    rng = np.random.default_rng(0)
    joint = rng.integers(0, game.num_distinct_actions(), size=(3000, game.num_players()))
    _check(name, joint)


def test_three_players_every_joint_action_of_a_small_game():
    num_actions = jax_games.num_blotto_actions(4, 3)  # 15 -> 3375 joint actions
    joint = np.array(list(itertools.product(range(num_actions), repeat=3)))
    _check("blotto(players=3,coins=4,fields=3)", joint)


def test_known_values():
    # 3 players, 3 fields: [4,0,0] [0,4,0] [0,0,4] -> each wins one field: a draw, all 0.
    # [2,2,0] [2,0,2] [0,0,4]: field 0 tied (nobody), field 1 p0, field 2 p2 -> p0, p2 win
    # 1/2 each, p1 loses -1.
    alloc = jnp.array([[4, 0, 0], [0, 4, 0], [0, 0, 4]])
    np.testing.assert_array_equal(np.asarray(jax_games.blotto_payoffs(alloc)), [0, 0, 0])
    alloc = jnp.array([[2, 2, 0], [2, 0, 2], [0, 0, 4]])
    np.testing.assert_array_equal(np.asarray(jax_games.blotto_payoffs(alloc)), [0.5, -1, 0.5])


def test_out_of_range_action_is_illegal():
    game = jax_games.make("blotto(players=3,coins=4,fields=3)")
    state = game.init(jax.random.key(0))
    final = game.step(state, jnp.array([[0], [15], [3]], jnp.int32), jax.random.key(0))
    assert bool(final.terminated)
    np.testing.assert_array_equal(np.asarray(final.illegal), [False, True, False])
    np.testing.assert_array_equal(np.asarray(final.rewards), [0.0, -1.0, 0.0])


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="players must be an integer >= 2"):
        jax_games.make("blotto(players=1)")
    with pytest.raises(ValueError, match="more than"):
        jax_games.blotto_game(coins=200, fields=5)
