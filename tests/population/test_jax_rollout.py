"""On-device rollouts: equal to stepping the same actions by hand; members play their seats."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from detente.agents import (
    act,
    check_trajectory,
    make_policy_value_network,
    population_apply,
    stack_params,
)
from detente.games import jax_games
from detente.population.jax_rollout import init_env_states, make_rollout


def _equal(a, b, msg=""):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=msg)


def _biased(params, action, bias=50.0):
    """Parameters whose policy plays `action` (almost surely) whatever the observation."""
    head = dict(params["policy_value_policy_head"])
    head["b"] = head["b"].at[action].add(bias)
    return {**params, "policy_value_policy_head": head}


def test_rollout_equals_stepping_by_hand():
    spec, init, step = jax_games.make("blotto(players=3,coins=4,fields=3)")
    network = make_policy_value_network(spec, hidden_sizes=(8,))
    members = stack_params([network.init(jax.random.key(i)) for i in range(2)])
    seat_members = jnp.array([[0, 1, 0], [1, 1, 0]], jnp.int32)
    batch, unroll = 4, 5
    rollout = jax.jit(make_rollout(spec, init, step, network, unroll))
    env_state = init_env_states(init, jax.random.key(3), batch)
    key = jax.random.key(4)
    traj, final = rollout(members, seat_members, env_state, key)
    assert check_trajectory(traj, spec.obs_shape) == (unroll, batch, 3, 1, spec.num_actions)
    assert traj.actions.dtype == jnp.int32 and traj.behaviour_log_prob.dtype == jnp.float32

    reset_step = jax.jit(jax.vmap(jax_games.auto_reset(init, step)))
    act_fn = jax.jit(act, static_argnums=0)
    state = env_state
    for t in range(unroll):
        _equal(jax_games.to_timestep(state), [x[t] for x in traj[:6]], f"t={t}")
        act_key, env_key = jax.random.split(jax.random.fold_in(key, t))
        actions, log_prob, value = act_fn(
            network,
            members,
            seat_members,
            state.observation,
            state.legal_action_mask,
            act_key,
            acting=state.acting,
        )
        np.testing.assert_array_equal(np.asarray(traj.actions[t]), np.asarray(actions))
        # Blotto is one-shot: every other step the games are over and nobody acts.
        idle = ~np.asarray(state.acting)
        assert idle.any() == bool(t % 2) and not np.asarray(actions)[idle].any()
        np.testing.assert_allclose(
            np.asarray(traj.behaviour_log_prob[t]), np.asarray(log_prob), rtol=1e-6
        )
        np.testing.assert_allclose(np.asarray(traj.behaviour_value[t]), value, rtol=1e-6)
        state = reset_step(state, traj.actions[t], jax.random.split(env_key, batch))
    _equal(jax_games.to_timestep(state), [x[unroll] for x in traj[:6]], "final")
    _equal(state, final)
    _, value = population_apply(
        network, members, seat_members, state.observation, state.legal_action_mask
    )
    np.testing.assert_allclose(np.asarray(traj.behaviour_value[unroll]), value, rtol=1e-6)
    # One-shot games alternate: play (t even), terminal (t odd, nobody acts), play again.
    terminated = np.asarray(traj.terminated)
    np.testing.assert_array_equal(terminated[:, 0], [False, True, False, True, False, True])
    assert not np.any(np.asarray(traj.acting)[1::2])
    assert np.all(np.asarray(traj.learner_mask))


def test_members_play_their_seats():
    spec, init, step = jax_games.make("matrix_rps")
    network = make_policy_value_network(spec, hidden_sizes=(8,))
    params = network.init(jax.random.key(0))
    members = stack_params([_biased(params, 0), _biased(params, 2)])  # rock / scissors
    seat_members = jnp.array([[0, 1], [1, 0], [1, 1]], jnp.int32)  # G=3 groups of 2 games
    rollout = jax.jit(make_rollout(spec, init, step, network, 4, learner_member=1))
    env_state = init_env_states(init, jax.random.key(1), 6)
    traj, _ = rollout(members, seat_members, env_state, jax.random.key(2))
    played = np.asarray(traj.actions[::2, :, :, 0])  # acting steps: [2, B=6, P=2]
    expected = np.array([[0, 2], [0, 2], [2, 0], [2, 0], [2, 2], [2, 2]])
    np.testing.assert_array_equal(played, np.broadcast_to(expected, played.shape))
    # Rock beats scissors: the rewards of the terminal steps follow the seating.
    np.testing.assert_array_equal(
        np.asarray(traj.rewards[1, :, 0]), [1.0, 1.0, -1.0, -1.0, 0.0, 0.0]
    )
    np.testing.assert_array_equal(np.asarray(traj.learner_mask), expected == 2)


def test_mismatched_network_is_refused():
    spec, init, step = jax_games.make("matrix_rps")
    other = make_policy_value_network(jax_games.make("matrix_pd").spec, hidden_sizes=(4,))
    with pytest.raises(ValueError, match="does not fit game matrix_rps"):
        make_rollout(spec, init, step, other, 4)
    network = make_policy_value_network(spec, hidden_sizes=(4,))
    with pytest.raises(ValueError, match="unroll_length"):
        make_rollout(spec, init, step, network, 0)
