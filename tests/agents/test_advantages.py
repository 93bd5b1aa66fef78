"""Tests for detente.agents.advantages: sparse per-player GAE."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from detente.agents import batched_sparse_gae, sparse_gae


def reference_sparse_gae(v, r, acting, terminated, truncated, gamma, lambda_):
    """Straightforward forward-looking statement of the semantics in sparse_gae's docstring."""
    n = len(v)
    last = n - 1
    ended = [bool(terminated[t] or truncated[t]) for t in range(n)]
    decides = [bool(acting[t]) and not ended[t] and t < last for t in range(n)]
    delta, following = {}, {}
    for t in range(last):
        if ended[t]:
            continue
        total, j = 0.0, t + 1
        while True:
            total += float(r[j])
            if ended[j]:
                boot, following[t] = (0.0 if terminated[j] else float(v[j])), None
                break
            if decides[j] or j == last:
                boot, following[t] = float(v[j]), (j if decides[j] else None)
                break
            j += 1
        delta[t] = total + gamma * boot - float(v[t])
    full = np.zeros(n)  # advantage formula at every non-final step, deciding or waiting
    for t in reversed(range(last)):
        if not ended[t]:
            nxt = following[t]
            full[t] = delta[t] + (gamma * lambda_ * full[nxt] if nxt is not None else 0.0)
    adv = np.where(decides, full, 0.0)
    returns = np.zeros(n)
    for t in range(last):
        if not ended[t]:
            returns[t] = full[t] + float(v[t])
    return adv, returns


def random_stream(rng, length):
    v = rng.normal(size=length).astype(np.float32)
    r = rng.normal(size=length).astype(np.float32)
    acting = rng.random(length) < 0.5
    u = rng.random(length)
    terminated = u < 0.12
    truncated = (u >= 0.12) & (u < 0.2)
    return v, r, acting, terminated, truncated


def run(v, r, acting, terminated, truncated, gamma, lambda_):
    adv, ret = jax.jit(sparse_gae, static_argnums=(5, 6))(
        jnp.asarray(v, jnp.float32),
        jnp.asarray(r, jnp.float32),
        jnp.asarray(acting, bool),
        jnp.asarray(terminated, bool),
        jnp.asarray(truncated, bool),
        gamma,
        lambda_,
    )
    return np.asarray(adv), np.asarray(ret)


@pytest.mark.parametrize("seed", range(20))
def test_matches_reference_on_random_streams(seed):
    rng = np.random.default_rng(seed)
    length = (2, 5, 24)[seed % 3]  # few distinct lengths: one compilation each
    gamma, lambda_ = float(rng.uniform(0.5, 1.0)), float(rng.uniform(0.0, 1.0))
    stream = random_stream(rng, length)
    adv, ret = run(*stream, gamma, lambda_)
    ref_adv, ref_ret = reference_sparse_gae(*stream, gamma, lambda_)
    np.testing.assert_allclose(adv, ref_adv, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ret, ref_ret, rtol=1e-5, atol=1e-5)


def test_two_player_alternating_game():
    # P0 acts at t=0 and t=2, P1 at t=1; the game terminates at t=3 paying (+1, -1).
    gamma, lambda_ = 0.9, 0.5
    terminated = [False, False, False, True]
    truncated = [False] * 4
    rewards = np.array([[0, 0], [0, 0], [0, 0], [1, -1]], np.float32)
    acting = np.array([[1, 0], [0, 1], [1, 0], [0, 0]], bool)
    values = np.array([[0.1, 0.5], [0.2, 0.6], [0.3, 0.7], [0.4, 0.8]], np.float32)

    adv0, ret0 = run(values[:, 0], rewards[:, 0], acting[:, 0], terminated, truncated, gamma, 0.5)
    # A_2 = r_3 - v_2 = 0.7 (terminal: no bootstrap);
    # A_0 = (r_1 + r_2) + gamma v_2 - v_0 + gamma lambda A_2 = 0.17 + 0.315.
    np.testing.assert_allclose(adv0, [0.485, 0.0, 0.7, 0.0], atol=1e-6)
    # P0 waits at t=1: its value target is the lambda-return of what follows, 0.585 as well.
    np.testing.assert_allclose(ret0, [0.585, 0.585, 1.0, 0.0], atol=1e-6)

    adv1, ret1 = run(values[:, 1], rewards[:, 1], acting[:, 1], terminated, truncated, gamma, 0.5)
    # P1's decision at t=1 earns r_2 + r_3 = -1 and the game ends: A_1 = -1 - 0.6.
    np.testing.assert_allclose(adv1, [0.0, -1.6, 0.0, 0.0], atol=1e-6)
    # P1 waits at t=0 (target gamma v_1 + gamma lambda A_1 = 0.54 - 0.72) and at t=2 (-1).
    np.testing.assert_allclose(ret1, [-0.18, -1.0, -1.0, 0.0], atol=1e-6)

    batched_adv, batched_ret = batched_sparse_gae(
        jnp.asarray(values)[:, None],
        jnp.asarray(rewards)[:, None],
        jnp.asarray(acting)[:, None],
        jnp.asarray(terminated)[:, None],
        jnp.asarray(truncated)[:, None],
        gamma,
        lambda_,
    )
    np.testing.assert_allclose(batched_adv[:, 0], np.stack([adv0, adv1], -1), atol=1e-6)
    np.testing.assert_allclose(batched_ret[:, 0], np.stack([ret0, ret1], -1), atol=1e-6)


def test_episode_boundary_in_the_middle():
    # Episode 1: decide at 0, terminated at 1 (r=1). Episode 2 starts at 2; its starting reward
    # (5, which the contract would make 0) must not be credited to episode 1. Decide at 2 and 3,
    # and the rollout ends at T=4 (bootstrap from v_4).
    gamma, lambda_ = 0.9, 0.8
    v = [0.1, 0.2, 0.3, 0.4, 0.5]
    r = [0.0, 1.0, 5.0, 2.0, 3.0]
    acting = [True, False, True, True, False]
    terminated = [False, True, False, False, False]
    adv, ret = run(v, r, acting, terminated, [False] * 5, gamma, lambda_)
    a3 = 3.0 + gamma * 0.5 - 0.4  # 3.05
    a2 = 2.0 + gamma * 0.4 - 0.3 + gamma * lambda_ * a3  # 2.06 + 2.196
    np.testing.assert_allclose(adv, [0.9, 0.0, a2, a3, 0.0], atol=1e-5)
    np.testing.assert_allclose(ret, [1.0, 0.0, a2 + 0.3, a3 + 0.4, 0.0], atol=1e-5)


def test_truncation_bootstraps_from_the_final_observation():
    gamma, lambda_ = 0.9, 0.8
    v = [0.1, 0.2, 0.3, 0.4]
    r = [0.0, 1.0, 2.0, 0.0]
    acting = [True, True, False, True]
    boundary = [False, False, True, False]
    adv, _ = run(v, r, acting, [False] * 4, boundary, gamma, lambda_)
    a1 = 2.0 + gamma * 0.3 - 0.2  # 2.07: bootstraps from v at the truncated step
    a0 = 1.0 + gamma * 0.2 - 0.1 + gamma * lambda_ * a1
    np.testing.assert_allclose(adv, [a0, a1, 0.0, 0.0], atol=1e-5)
    # The same boundary as a termination does not bootstrap.
    adv_term, _ = run(v, r, acting, boundary, [False] * 4, gamma, lambda_)
    np.testing.assert_allclose(adv_term[1], 2.0 - 0.2, atol=1e-5)


def test_rollout_end_bootstraps_from_last_value_and_ignores_decision_at_T():
    v = [1.0, 2.0, 4.0]
    r = [0.0, 0.5, 0.25]
    adv, ret = run(v, r, [True, False, True], [False] * 3, [False] * 3, 0.5, 1.0)
    # Decision at 0 collects r_1 + r_2 and bootstraps from v_2 (a decision at T has no action).
    np.testing.assert_allclose(adv, [0.75 + 0.5 * 4.0 - 1.0, 0.0, 0.0], atol=1e-6)
    # The waiting step 1 gets the target r_2 + gamma v_2.
    np.testing.assert_allclose(ret, [0.75 + 2.0, 0.25 + 2.0, 0.0], atol=1e-6)


def test_monte_carlo_limit():
    # gamma = lambda = 1 on a terminating episode: A_t + v_t is the undiscounted return.
    rng = np.random.default_rng(0)
    r = rng.normal(size=8).astype(np.float32)
    r[0] = 0.0
    acting = np.array([1, 0, 1, 1, 0, 1, 0, 0], bool)
    terminated = np.zeros(8, bool)
    terminated[6] = True
    _, ret = run(rng.normal(size=8), r, acting, terminated, np.zeros(8, bool), 1.0, 1.0)
    for t in (0, 2, 3, 5):  # the decisions of the terminating episode
        np.testing.assert_allclose(ret[t], r[t + 1 : 7].sum(), rtol=1e-5, atol=1e-5)


def test_batched_equals_loop():
    rng = np.random.default_rng(1)
    t1, b, p = 9, 3, 4
    values = rng.normal(size=(t1, b, p)).astype(np.float32)
    rewards = rng.normal(size=(t1, b, p)).astype(np.float32)
    acting = rng.random((t1, b, p)) < 0.5
    terminated = rng.random((t1, b)) < 0.15
    truncated = rng.random((t1, b)) < 0.1
    adv, ret = jax.jit(batched_sparse_gae, static_argnums=(5, 6))(
        values, rewards, acting, terminated, truncated, 0.97, 0.9
    )
    assert adv.shape == ret.shape == (t1, b, p)
    for i in range(b):
        for j in range(p):
            ref_adv, ref_ret = reference_sparse_gae(
                values[:, i, j],
                rewards[:, i, j],
                acting[:, i, j],
                terminated[:, i],
                truncated[:, i],
                0.97,
                0.9,
            )
            np.testing.assert_allclose(adv[:, i, j], ref_adv, rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(ret[:, i, j], ref_ret, rtol=1e-5, atol=1e-5)


def test_shape_errors():
    with pytest.raises(AssertionError):
        sparse_gae(jnp.zeros(3), jnp.zeros(4), *(jnp.zeros(3, bool),) * 3, 0.9, 0.9)
    with pytest.raises(AssertionError):
        sparse_gae(*(jnp.zeros(3),) * 2, jnp.zeros(3), *(jnp.zeros(3, bool),) * 2, 0.9, 0.9)
