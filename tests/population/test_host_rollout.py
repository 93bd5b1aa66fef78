"""The shared host unroll: shapes, carried timestep, callback, and replay equality."""

import jax
import numpy as np

from detente.agents import make_policy_value_network, population_apply, stack_params
from detente.games import load
from detente.lib import OpenSpielEnv
from detente.population.host_rollout import collect_unroll


def test_unroll_shapes_callback_and_replay():
    game = load("kuhn_poker")
    env = OpenSpielEnv(game, batch_size=4, auto_reset=True)
    network = make_policy_value_network(env.spec, hidden_sizes=(8,))
    stacked = stack_params([network.init(jax.random.key(0))])
    seat_members = np.zeros((1, 2), np.int32)
    mask = np.ones((4, 2), bool)
    ts0 = env.reset(seed=3)
    steps = []
    traj, last = collect_unroll(
        env,
        ts0,
        network,
        stacked,
        seat_members,
        jax.random.key(1),
        5,
        mask,
        on_step=lambda previous, ts: steps.append((previous, ts)),
    )
    assert traj.observation.shape == (6, 4, 2, env.spec.obs_size)
    assert traj.actions.shape == (5, 4, 2, 1) and traj.actions.dtype == np.int32
    assert traj.behaviour_log_prob.shape == (5, 4, 2)
    # The acting pass's values, and the last timestep's evaluated after the unroll.
    assert traj.behaviour_value.shape == (6, 4, 2)
    for t in range(6):
        _, value = population_apply(
            network, stacked, seat_members, traj.observation[t], traj.legal_action_mask[t]
        )
        np.testing.assert_allclose(traj.behaviour_value[t], value, rtol=1e-6)
    assert len(steps) == 5 and steps[-1][1] is last
    np.testing.assert_array_equal(traj.observation[-1], last.observation)
    # Replaying the recorded actions from the same seed reproduces every timestep.
    replay = OpenSpielEnv(game, batch_size=4, auto_reset=True)
    ts = replay.reset(seed=3)
    for t in range(5):
        ts = replay.step(traj.actions[t])
        np.testing.assert_array_equal(ts.observation, traj.observation[t + 1])
        np.testing.assert_array_equal(ts.rewards, traj.rewards[t + 1])
