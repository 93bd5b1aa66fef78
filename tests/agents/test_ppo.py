"""Tests for detente.agents.ppo: config validation, determinism, masking, learning."""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from detente.agents import (
    Learner,
    PPOConfig,
    Trajectory,
    act,
    check_trajectory,
    make_policy_value_network,
    make_ppo,
    stack_params,
)
from detente.lib.spec import EnvSpec, TimeStep

# --- rock-paper-scissors as a one-step, two-player simultaneous game with auto-reset ----------

ROCK, PAPER, SCISSORS = 0, 1, 2
# PAYOFF[a0, a1]: seat 0's payoff (the game is zero-sum).
PAYOFF = jnp.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
RPS_SPEC = EnvSpec(
    name="rps_test",
    num_players=2,
    obs_shape=(3,),  # one-hot seat, then a "game over" flag
    num_slots=1,
    num_actions=3,
    max_steps=1,
    symmetric=True,
    utility="zero_sum",
    dynamics="simultaneous",
    chance=False,
)


def rps_initial(batch):
    seat = jnp.broadcast_to(jnp.eye(2), (batch, 2, 2))
    return TimeStep(
        observation=jnp.concatenate([seat, jnp.zeros((batch, 2, 1))], -1),
        legal_action_mask=jnp.ones((batch, 2, 1, 3), bool),
        acting=jnp.ones((batch, 2), bool),
        rewards=jnp.zeros((batch, 2)),
        terminated=jnp.zeros((batch,), bool),
        truncated=jnp.zeros((batch,), bool),
    )


def rps_step(ts, actions):
    """Plays the round, or resets games that ended (actions ignored), as in the contract."""
    batch = ts.terminated.shape[0]
    payoff = PAYOFF[actions[:, 0, 0], actions[:, 1, 0]]
    played = TimeStep(
        observation=ts.observation.at[..., 2].set(1.0),
        legal_action_mask=jnp.ones((batch, 2, 1, 3), bool),
        acting=jnp.zeros((batch, 2), bool),
        rewards=jnp.stack([payoff, -payoff], -1),
        terminated=jnp.ones((batch,), bool),
        truncated=jnp.zeros((batch,), bool),
    )
    done = ts.terminated | ts.truncated
    initial = rps_initial(batch)
    return jax.tree.map(
        lambda r, p: jnp.where(done.reshape((-1,) + (1,) * (p.ndim - 1)), r, p), initial, played
    )


def make_rollout(network, num_steps):
    """Seat 0 plays the learner's policy, seat 1 always plays rock."""

    def rollout(params, ts, key):
        stacked = stack_params([params])
        seat_members = jnp.zeros((1, 2), jnp.int32)

        def body(ts, step_key):
            actions, log_prob, _ = act(
                network, stacked, seat_members, ts.observation, ts.legal_action_mask, step_key
            )
            actions = actions.at[:, 1].set(ROCK)
            return rps_step(ts, actions), (ts, actions, log_prob)

        final, (steps, actions, log_prob) = jax.lax.scan(body, ts, jax.random.split(key, num_steps))
        steps = jax.tree.map(lambda xs, x: jnp.concatenate([xs, x[None]]), steps, final)
        batch = ts.terminated.shape[0]
        traj = Trajectory(
            observation=steps.observation,
            legal_action_mask=steps.legal_action_mask,
            acting=steps.acting,
            rewards=steps.rewards,
            terminated=steps.terminated,
            truncated=steps.truncated,
            actions=actions,
            behaviour_log_prob=log_prob,
            learner_mask=jnp.broadcast_to(jnp.array([True, False]), (batch, 2)),
        )
        return traj, final

    return jax.jit(rollout)


def test_learns_best_response_to_rock():
    network = make_policy_value_network(RPS_SPEC, hidden_sizes=(16,))
    config = PPOConfig(
        learning_rate=1e-2,
        entropy_cost=0.01,
        num_epochs=2,
        num_minibatches=2,
        gamma=1.0,
        gae_lambda=1.0,
        max_grad_norm=1.0,
    )
    key = jax.random.key(0)
    learner = Learner(network, config, key)
    rollout = make_rollout(network, num_steps=4)
    ts = rps_initial(32)
    initial_obs = rps_initial(1).observation[0, 0]
    logits, _ = network.apply(learner.params, initial_obs, jnp.ones((1, 3), bool))
    assert jax.nn.softmax(logits[0])[PAPER] < 0.5  # near-uniform before training
    for i in range(100):
        traj, ts = rollout(learner.params, ts, jax.random.fold_in(key, i))
        metrics = learner.update(traj)
    assert metrics["num_valid"] == 2 * 32  # 2 decisions of seat 0 per game in 4 steps
    logits, value = network.apply(learner.params, initial_obs, jnp.ones((1, 3), bool))
    probs = jax.nn.softmax(logits[0])
    assert probs[PAPER] > 0.9, probs
    assert value[0] == pytest.approx(1.0, abs=0.3)  # paper beats rock: return +1


# --- a random trajectory for the other tests ---------------------------------------------------

SPEC = dataclasses.replace(RPS_SPEC, num_players=3, obs_shape=(2, 2), num_slots=2, num_actions=4)


def random_trajectory(seed, t=4, b=3, p=3, k=2, a=4):
    rng = np.random.default_rng(seed)
    mask = rng.random((t + 1, b, p, k, a)) < 0.7
    mask[..., 0] = True
    actions = np.zeros((t, b, p, k), np.int32)  # action 0 is always legal
    return Trajectory(
        observation=rng.normal(size=(t + 1, b, p, 2, 2)).astype(np.float32),
        legal_action_mask=mask,
        acting=rng.random((t + 1, b, p)) < 0.6,
        rewards=rng.normal(size=(t + 1, b, p)).astype(np.float32),
        terminated=rng.random((t + 1, b)) < 0.2,
        truncated=rng.random((t + 1, b)) < 0.1,
        actions=actions,
        behaviour_log_prob=np.full((t, b, p), -2.0, np.float32),
        learner_mask=rng.random((b, p)) < 0.7,
    )


# One network object and one config shared by the tests below, so they share one compilation.
CONFIG = PPOConfig(num_minibatches=2, num_epochs=2)


@pytest.fixture(scope="module")
def network():
    return make_policy_value_network(SPEC, hidden_sizes=(8,))


def params_bytes(params):
    return b"".join(np.asarray(x).tobytes() for x in jax.tree.leaves(params))


def test_same_seed_gives_byte_identical_params(network):
    traj = random_trajectory(0)
    runs = []
    for seed in (5, 5, 6):
        learner = Learner(network, CONFIG, jax.random.key(seed))
        for _ in range(3):
            metrics = learner.update(traj)
        runs.append(params_bytes(learner.params))
        assert all(math.isfinite(v) for v in metrics.values()), metrics
        assert int(learner.state.step) == 3
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_only_learner_seats_that_act_contribute(network):
    init_fn, update_fn = make_ppo(network, CONFIG)
    state = init_fn(jax.random.key(0))
    traj = random_trajectory(1)
    excluded = ~(traj.acting[:-1] & traj.learner_mask[None])  # [T, B, P]
    # Garbage in excluded entries (actions, behaviour log-probs, even -inf) changes nothing,
    # to the bit: the rollouts give seats that do not act action 0 (`agents.act`'s `acting`).
    perturbed = traj._replace(
        actions=np.where(excluded[..., None], 3, traj.actions).astype(np.int32),
        behaviour_log_prob=np.where(excluded, -np.inf, traj.behaviour_log_prob).astype(np.float32),
    )
    new_a, metrics_a = update_fn(state, traj)
    new_b, metrics_b = update_fn(state, perturbed)
    for key, value in metrics_a.items():
        np.testing.assert_array_equal(value, metrics_b[key], err_msg=key)
    for x, y in zip(jax.tree.leaves(new_a.params), jax.tree.leaves(new_b.params), strict=True):
        np.testing.assert_array_equal(x, y)
    assert all(np.isfinite(float(v)) for v in metrics_b.values())
    # No valid entries at all: the loss is zero and parameters stay finite.
    empty = traj._replace(learner_mask=np.zeros_like(traj.learner_mask))
    new_c, metrics_c = update_fn(state, empty)
    assert float(metrics_c["num_valid"]) == 0.0
    assert float(metrics_c["loss"]) == 0.0
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(new_c.params))


def test_behaviour_values_replace_the_value_pass(network):
    init_fn, update_fn = make_ppo(network, CONFIG)
    state = init_fn(jax.random.key(0))
    traj = random_trajectory(3)
    _, values = network.apply(state.params, traj.observation, traj.legal_action_mask)
    recomputed, metrics = update_fn(state, traj)
    given, metrics_given = update_fn(state, traj._replace(behaviour_value=values[..., 0]))
    for x, y in zip(jax.tree.leaves(recomputed.params), jax.tree.leaves(given.params), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)
    # Other values are used as given: every value (and so every advantage) moves.
    shifted, metrics_shifted = update_fn(state, traj._replace(behaviour_value=values[..., 0] + 1))
    assert float(metrics_shifted["value_mean"]) == pytest.approx(float(metrics["value_mean"]) + 1)
    assert params_bytes(shifted.params) != params_bytes(recomputed.params)
    with pytest.raises(ValueError, match=r"Trajectory.behaviour_value must have shape \[5, 3, 3\]"):
        check_trajectory(traj._replace(behaviour_value=values[:-1, ..., 0]), SPEC.obs_shape)


@pytest.mark.parametrize(
    "field,value,accepted",
    [
        ("learning_rate", 0.0, "(0.0, inf)"),
        ("learning_rate", -1e-3, "(0.0, inf)"),
        ("adam_eps", 0.0, "(0.0, inf)"),
        ("clip_epsilon", 1.0, "(0.0, 1.0)"),
        ("clip_epsilon", 0.0, "(0.0, 1.0)"),
        ("entropy_cost", -0.1, "[0.0, inf)"),
        ("value_cost", -1.0, "[0.0, inf)"),
        ("gamma", 1.5, "[0.0, 1.0]"),
        ("gamma", float("nan"), "[0.0, 1.0]"),
        ("gae_lambda", -0.1, "[0.0, 1.0]"),
        ("num_epochs", 0, "[1, inf)"),
        ("num_epochs", 2.5, "[1, inf)"),
        ("num_minibatches", 0, "[1, inf)"),
        ("max_grad_norm", 0.0, "(0.0, inf]"),
        ("learning_rate", "fast", "(0.0, inf)"),
        ("magnet_cost", -0.1, "[0.0, inf)"),
        ("magnet_update_every", -1, "[0, inf)"),
        ("anneal_updates", 1.5, "[0, inf)"),
    ],
)
def test_bad_config_values_raise(field, value, accepted):
    with pytest.raises(ValueError) as info:
        PPOConfig(**{field: value})
    assert f"PPOConfig.{field}" in str(info.value)
    assert accepted in str(info.value)


def test_good_config_values_are_accepted():
    PPOConfig()
    PPOConfig(gamma=1.0, gae_lambda=0.0, entropy_cost=0.0, max_grad_norm=math.inf)
    with pytest.raises(ValueError, match="normalize_advantages"):
        PPOConfig(normalize_advantages=1)


def test_bad_trajectories_raise(network):
    init_fn, update_fn = make_ppo(network, PPOConfig(num_minibatches=5))
    state = init_fn(jax.random.key(0))
    traj = random_trajectory(2)
    assert check_trajectory(traj, SPEC.obs_shape) == (4, 3, 3, 2, 4)
    with pytest.raises(ValueError, match="multiple of PPOConfig.num_minibatches=5"):
        update_fn(state, traj)
    with pytest.raises(ValueError, match="Trajectory.actions"):
        check_trajectory(traj._replace(actions=traj.actions[:-1]), SPEC.obs_shape)
    with pytest.raises(ValueError, match="Trajectory.acting"):
        check_trajectory(traj._replace(acting=traj.acting.astype(np.float32)), SPEC.obs_shape)
    with pytest.raises(ValueError, match="Trajectory.observation"):
        check_trajectory(traj, (4,))
    with pytest.raises(TypeError, match="PPOConfig"):
        make_ppo(network, {"learning_rate": 1e-3})


def test_magnet_moves_every_n_updates_and_its_kl_is_reported(network):
    config = PPOConfig(num_minibatches=2, num_epochs=1, magnet_cost=0.5, magnet_update_every=2)
    learner = Learner(network, config, jax.random.key(0))
    initial = params_bytes(learner.state.magnet_params)
    assert initial == params_bytes(learner.params)
    traj = random_trajectory(2)
    metrics = learner.update(traj)
    # After one update the magnet is still the initial policy and the KL to it is positive.
    assert params_bytes(learner.state.magnet_params) == initial
    assert metrics["magnet_kl"] >= 0.0
    learner.update(traj)
    # After the second update the magnet has moved to the current parameters.
    assert params_bytes(learner.state.magnet_params) == params_bytes(learner.params)
    metrics = learner.update(traj)
    assert metrics["magnet_kl"] < 1e-3  # one small step away from the magnet


def test_magnet_kl_is_zero_when_disabled(network):
    learner = Learner(network, CONFIG, jax.random.key(0))
    assert learner.update(random_trajectory(3))["magnet_kl"] == 0.0


def test_annealed_learning_rate_reaches_zero(network):
    config = PPOConfig(num_minibatches=2, num_epochs=1, anneal_updates=1)
    learner = Learner(network, config, jax.random.key(0))
    traj = random_trajectory(4)
    learner.update(traj)  # the only update with a non-zero step size
    before = params_bytes(learner.params)
    learner.update(traj)
    assert params_bytes(learner.params) == before
