"""Tests for detente.agents.acting: population inference and masked sampling."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from detente.agents import (
    act,
    greedy,
    population_apply,
    sample,
    stack_params,
    unstack_params,
)

P, K, A = 2, 2, 4
OBS_SHAPE = (5,)


@pytest.fixture(scope="module")
def network(small_network):  # one network object for the module: its jitted functions compile once
    return small_network(P, OBS_SHAPE, K, A)


def members(network, m):
    return [network.init(jax.random.key(100 + i)) for i in range(m)]


def random_inputs(b, seed=0, p_legal=0.6):
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(b, P) + OBS_SHAPE).astype(np.float32)
    mask = rng.random((b, P, K, A)) < p_legal
    mask[..., 0] |= ~mask.any(-1)  # at least one legal action per slot
    return obs, mask


def test_two_members_match_per_member_apply(network):
    params = members(network, 2)
    stacked = stack_params(params)
    seat_members = jnp.array([[0, 1], [1, 0]], jnp.int32)  # G=2 groups of 3 games
    obs, mask = random_inputs(6)
    logits, value = population_apply(network, stacked, seat_members, obs, mask)
    assert logits.shape == (6, P, K, A) and value.shape == (6, P)
    for g in range(2):
        games = slice(3 * g, 3 * g + 3)
        for p in range(P):
            member = params[int(seat_members[g, p])]
            ref_logits, ref_value = network.apply(member, obs[games, p], mask[games, p])
            np.testing.assert_allclose(logits[games, p], ref_logits, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(value[games, p], ref_value[:, 0], rtol=1e-5, atol=1e-6)
    # The two members really differ, so the check above discriminates between them.
    other, _ = network.apply(params[1], obs[:3, 0], mask[:3, 0])
    assert not np.allclose(logits[:3, 0], other)


def test_vmap_equals_loop(network):
    params = members(network, 3)
    stacked = stack_params(params)
    seat_members = np.array([[0, 1], [2, 2], [1, 0]], np.int32)  # 3 groups of 2 games
    obs, mask = random_inputs(6, seed=1)
    actions, log_prob, value = jax.jit(act, static_argnums=0)(
        network, stacked, seat_members, obs, mask, jax.random.key(7)
    )
    assert actions.shape == (6, P, K) and actions.dtype == jnp.int32
    for b in range(6):
        for p in range(P):
            member = params[seat_members[b // 2, p]]
            ref_logits, ref_value = network.apply(member, obs[b, p], mask[b, p])
            np.testing.assert_allclose(value[b, p], ref_value[0], rtol=1e-5, atol=1e-6)
            ref_log_pi = np.asarray(jax.nn.log_softmax(ref_logits))
            ref_log_prob = ref_log_pi[np.arange(K), np.asarray(actions[b, p])].sum()
            np.testing.assert_allclose(log_prob[b, p], ref_log_prob, rtol=1e-5, atol=1e-6)


def test_illegal_actions_are_never_sampled(network):
    stacked = stack_params(members(network, 2))
    seat_members = jnp.array([[0, 1], [1, 1]], jnp.int32)

    @jax.jit
    def sample_many(obs, mask, key):  # 20 draws for each game and seat
        keys = jax.random.split(key, 20)
        return jax.vmap(lambda k: act(network, stacked, seat_members, obs, mask, k)[:2])(keys)

    for seed in range(5):  # random masks, a third of the actions legal
        obs, mask = random_inputs(64, seed=seed, p_legal=0.3)
        actions, log_prob = sample_many(obs, mask, jax.random.key(seed))  # [20, 64, P, K]
        legal = np.take_along_axis(mask[None], np.asarray(actions)[..., None], -1)
        assert legal.all()
        assert np.all(np.isfinite(log_prob)) and np.all(np.asarray(log_prob) <= 0)


def test_sample_ignores_huge_illegal_logits():
    logits = jnp.array([[100.0, 0.0, 100.0, -5.0]] * 512)
    mask = jnp.array([[False, True, False, True]] * 512)
    actions = sample(jax.random.key(0), logits, mask)
    assert set(np.unique(np.asarray(actions))) == {1, 3}
    np.testing.assert_array_equal(greedy(logits, mask), np.ones(512))


def test_sample_draws_what_jax_random_categorical_draws():
    # `sample` is the Gumbel-max trick written out; with the same key it must pick exactly
    # the actions of jax.random.categorical on the masked logits (runs stay reproducible
    # across that rewrite). A slot with no legal action gives 0 in both.
    for shape, p_legal in [((64, 2, 3, 50), 0.3), ((4, 7, 17, 1446), 0.02)]:
        k_logits, k_mask = jax.random.split(jax.random.key(sum(shape)))
        logits = 3.0 * jax.random.normal(k_logits, shape)
        mask = jax.random.bernoulli(k_mask, p_legal, shape).at[0, 0, 0].set(False)
        masked = jnp.where(mask, logits, -jnp.inf)
        for seed in range(3):
            key = jax.random.key(seed)
            expected = jax.random.categorical(key, masked, axis=-1)
            np.testing.assert_array_equal(sample(key, logits, mask), expected)
        assert int(sample(key, logits, mask)[0, 0, 0]) == 0
    # A diverged network's NaN logits: the first NaN, as jax.random.categorical gives.
    logits = jnp.array([[0.0, jnp.nan, 5.0, jnp.nan]] * 4)
    mask = jnp.ones((4, 4), bool)
    expected = jax.random.categorical(jax.random.key(0), logits, axis=-1)
    np.testing.assert_array_equal(sample(jax.random.key(0), logits, mask), expected)
    np.testing.assert_array_equal(expected, np.ones(4))


def test_sample_follows_softmax():
    logits = jnp.log(jnp.array([0.1, 0.2, 0.7]))
    keys = jax.random.split(jax.random.key(0), 20000)
    draws = jax.vmap(lambda k: sample(k, logits, jnp.ones(3, bool)))(keys)
    freq = np.bincount(np.asarray(draws), minlength=3) / 20000
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.7], atol=0.015)


def test_deterministic_act_is_greedy(network):
    stacked = stack_params(members(network, 1))
    obs, mask = random_inputs(4, seed=3)
    actions, _, _ = act(
        network, stacked, jnp.zeros((1, P), jnp.int32), obs, mask, None, deterministic=True
    )
    logits, _ = population_apply(network, stacked, jnp.zeros((1, P), jnp.int32), obs, mask)
    np.testing.assert_array_equal(actions, np.argmax(np.where(mask, logits, -np.inf), -1))


def test_deterministic_per_seat_is_greedy_there_and_sampled_elsewhere(network):
    # A greedy best response in seat 0 against a sampled policy in seat 1.
    stacked = stack_params(members(network, 1))
    seats = jnp.zeros((1, P), jnp.int32)
    obs, mask = random_inputs(64, seed=4)
    key = jax.random.key(5)
    mixed, _, _ = act(network, stacked, seats, obs, mask, key, deterministic=(True, False))
    greedy_all, _, _ = act(network, stacked, seats, obs, mask, key, deterministic=True)
    sampled_all, _, _ = act(network, stacked, seats, obs, mask, key)
    np.testing.assert_array_equal(mixed[:, 0], greedy_all[:, 0])
    np.testing.assert_array_equal(mixed[:, 1], sampled_all[:, 1])
    assert np.any(np.asarray(sampled_all[:, 0]) != np.asarray(greedy_all[:, 0]))
    with pytest.raises(ValueError, match="one bool per seat"):
        act(network, stacked, seats, obs, mask, key, deterministic=(True,))


def test_stack_params(network):
    params = members(network, 3)
    stacked = stack_params(params)
    for leaf, first in zip(jax.tree.leaves(stacked), jax.tree.leaves(params[0]), strict=True):
        assert leaf.shape == (3,) + first.shape
    back = unstack_params(stacked, 2)  # the inverse of stack_params
    for x, y in zip(jax.tree.leaves(back), jax.tree.leaves(params[2]), strict=True):
        np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="at least one"):
        stack_params([])
    with pytest.raises(ValueError, match="structure"):
        stack_params([params[0], {"other": params[0]}])


def test_bad_groupings_raise(network):
    stacked = stack_params(members(network, 1))
    obs, mask = random_inputs(6)
    with pytest.raises(ValueError, match="groups"):
        act(network, stacked, jnp.zeros((4, P), jnp.int32), obs, mask, jax.random.key(0))
    with pytest.raises(ValueError, match="P=3"):
        act(network, stacked, jnp.zeros((2, 3), jnp.int32), obs, mask, jax.random.key(0))
    with pytest.raises(ValueError, match="seat_members"):
        act(network, stacked, jnp.zeros((P,), jnp.int32), obs, mask, jax.random.key(0))
    with pytest.raises(ValueError, match="M=1"):
        act(network, stacked, jnp.ones((2, P), jnp.int32), obs, mask, jax.random.key(0))
