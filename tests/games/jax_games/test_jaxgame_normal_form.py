"""JAX normal-form games against OpenSpiel's matrix games (through `OpenSpielEnv`), and the
normal-form builder's invariants and illegal-action rule."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pyspiel
import pytest

from detente.games import jax_games
from detente.lib import OpenSpielEnv, TimeStep

MATRIX = ["matrix_rps", "matrix_pd", "matrix_sh", "matrix_shapleys_game", "matrix_mp"]


def _assert_timesteps_equal(jax_ts: TimeStep, os_ts: TimeStep) -> None:
    for field in TimeStep._fields:
        got, want = np.asarray(getattr(jax_ts, field)), np.asarray(getattr(os_ts, field))
        assert got.shape == want.shape, field
        assert got.dtype == want.dtype, field
        np.testing.assert_array_equal(got, want, err_msg=field)


def check_against_openspiel(name: str, joint_actions: np.ndarray) -> None:
    """Plays every joint action [B, P] once in both backends: initial, final, restarted."""
    game = jax_games.make(name)
    os_game = pyspiel.load_game(name)
    batch = len(joint_actions)
    env = OpenSpielEnv(os_game, batch, auto_reset=True)
    assert game.spec.obs_shape == env.spec.obs_shape
    assert game.spec.num_actions == env.spec.num_actions
    assert game.spec.num_players == env.spec.num_players
    assert game.spec.utility == env.spec.utility
    assert game.spec.max_steps == env.spec.max_steps
    init = jax.jit(jax.vmap(game.init))
    step = jax.jit(jax.vmap(jax_games.auto_reset(game.init, game.step)))
    keys = jax.random.split(jax.random.key(0), batch)
    state = init(keys)
    _assert_timesteps_equal(jax_games.to_timestep(state), env.reset(seed=0))
    actions = np.asarray(joint_actions, np.int32)[..., None]  # [B, P, 1]
    state = step(state, actions, keys)
    final = env.step(actions)
    _assert_timesteps_equal(jax_games.to_timestep(state), final)
    # Exact returns of every joint action, straight from pyspiel.
    for b in range(0, batch, max(1, batch // 50)):
        os_state = os_game.new_initial_state()
        os_state.apply_actions([int(a) for a in joint_actions[b]])
        np.testing.assert_allclose(np.asarray(state.rewards[b]), os_state.returns(), rtol=1e-6)
    # Auto-reset: the next step ignores the actions and restarts with zero rewards.
    other = (actions + 1) % game.spec.num_actions
    state = step(state, other, keys)
    _assert_timesteps_equal(jax_games.to_timestep(state), env.step(other))
    assert not np.any(np.asarray(state.illegal))


@pytest.mark.parametrize("name", MATRIX)
def test_matrix_games_equal_openspiel_on_every_joint_action(name):
    num_actions = pyspiel.load_game(name).num_distinct_actions()
    joint = np.array(list(itertools.product(range(num_actions), repeat=2)))
    check_against_openspiel(name, joint)


@pytest.mark.parametrize("name", MATRIX)
def test_payoff_tables_equal_openspiel(name):
    # The tables are hard-coded (no pyspiel at run time); this pins them to OpenSpiel's.
    game = pyspiel.load_game(name)
    np.testing.assert_array_equal(
        jax_games.MATRIX_GAMES[name],
        np.stack([np.array(game.row_utilities()), np.array(game.col_utilities())]),
    )


def test_spec_properties():
    rps = jax_games.make("matrix_rps").spec
    assert rps.name == "matrix_rps()" and rps.symmetric and rps.utility == "zero_sum"
    assert jax_games.make("matrix_pd").spec.utility == "general_sum"
    assert not jax_games.make("matrix_mp").spec.symmetric  # the matcher and the mismatcher
    identical = jax_games.normal_form_game(np.ones((2, 2, 2)))
    assert identical.spec.utility == "identical"
    constant = jax_games.normal_form_game(np.stack([np.eye(2), 1 - np.eye(2)]))
    assert constant.spec.utility == "constant_sum"


def test_three_player_user_tensor():
    rng = np.random.default_rng(0)
    payoffs = rng.normal(size=(3, 2, 3, 4)).astype(np.float32)
    game = jax_games.normal_form_game(payoffs, name="random3")
    assert game.spec.num_actions == 4 and game.spec.obs_shape == (4,)
    state = game.init(jax.random.key(0))
    mask = np.asarray(state.legal_action_mask[:, 0])
    np.testing.assert_array_equal(mask.sum(-1), [2, 3, 4])  # padded actions are illegal
    step = jax.jit(game.step)
    for a in itertools.product(range(2), range(3), range(4)):
        final = step(state, jnp.asarray(a, jnp.int32)[:, None], jax.random.key(1))
        np.testing.assert_array_equal(np.asarray(final.rewards), payoffs[(slice(None),) + a])
        assert bool(final.terminated) and not np.any(np.asarray(final.acting))
        assert np.all(np.asarray(final.legal_action_mask))


def test_illegal_action_terminates_with_penalty():
    # Player 0 has 2 actions, player 1 has 3: action 2 of player 0 is masked out.
    payoffs = np.arange(12, dtype=np.float32).reshape(2, 2, 3) - 3.0
    game = jax_games.normal_form_game(payoffs)
    state = game.init(jax.random.key(0))
    final = game.step(state, jnp.array([[2], [1]], jnp.int32), jax.random.key(0))
    assert bool(final.terminated) and not bool(final.truncated)
    np.testing.assert_array_equal(np.asarray(final.illegal), [True, False])
    # The offender gets the lowest payoff of the tensor, the other player 0.
    np.testing.assert_array_equal(np.asarray(final.rewards), [-3.0, 0.0])
    # Out of range (negative or >= A) is illegal too, for everybody who plays it.
    final = game.step(state, jnp.array([[-1], [7]], jnp.int32), jax.random.key(0))
    np.testing.assert_array_equal(np.asarray(final.illegal), [True, True])
    np.testing.assert_array_equal(np.asarray(final.rewards), [-3.0, -3.0])
    rps = jax_games.normal_form_game(jax_games.MATRIX_GAMES["matrix_rps"], illegal_reward=-5.0)
    final = rps.step(rps.init(jax.random.key(0)), jnp.array([[0], [3]]), jax.random.key(0))
    np.testing.assert_array_equal(np.asarray(final.rewards), [0.0, -5.0])


def test_bad_payoff_tensors_are_refused():
    with pytest.raises(ValueError, match=r"shape \[P, A_1, ..., A_P\]"):
        jax_games.normal_form_game(np.zeros((3, 2, 2)))
    with pytest.raises(ValueError, match="finite"):
        jax_games.normal_form_game(np.full((2, 2, 2), np.nan))
