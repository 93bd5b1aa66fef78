"""Tests for detente.agents.networks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from detente.agents import ILLEGAL_LOGIT, Network, make_policy_value_network
from detente.lib.spec import EnvSpec


def make_spec(obs_shape=(2, 3), num_slots=2, num_actions=5, num_players=3):
    return EnvSpec(
        name="test",
        num_players=num_players,
        obs_shape=obs_shape,
        num_slots=num_slots,
        num_actions=num_actions,
        max_steps=10,
        symmetric=True,
        utility="zero_sum",
        dynamics="sequential",
        chance=False,
    )


SPEC = make_spec()
RNG = np.random.default_rng(0)


@pytest.fixture(scope="module")
def net():
    return make_policy_value_network(SPEC, hidden_sizes=(8,), name="agent")


@pytest.fixture(scope="module")
def params(net):
    return net.init(jax.random.key(0))


def normal(*shape):
    return RNG.normal(size=shape).astype(np.float32)


def bernoulli(p, *shape):
    return RNG.random(shape) < p


@pytest.mark.parametrize("batch_shape", [(), (4,), (3, 2), (2, 3, 4)])
def test_shapes_for_any_leading_dims(net, params, batch_shape):
    obs = normal(*batch_shape, *SPEC.obs_shape)
    mask = jnp.ones(batch_shape + (2, 5), bool)
    logits, value = net.apply(params, obs, mask)
    assert logits.shape == batch_shape + (2, 5)
    assert value.shape == batch_shape + (1,)
    assert logits.dtype == value.dtype == jnp.float32


def test_leading_dims_are_a_pure_batch(net, params):
    obs = normal(3, 4, *SPEC.obs_shape)
    mask = bernoulli(0.7, 3, 4, 2, 5)
    logits, value = net.apply(params, obs, mask)
    one_logits, one_value = net.apply(params, obs[1, 2], mask[1, 2])
    np.testing.assert_allclose(logits[1, 2], one_logits, rtol=1e-6)
    np.testing.assert_allclose(value[1, 2], one_value, rtol=1e-6)


def test_illegal_logits_are_masked_to_a_finite_constant(net, params):
    obs = normal(16, *SPEC.obs_shape)
    mask = bernoulli(0.5, 16, 2, 5)
    mask[0, 0] = False  # a slot with no legal action at all
    logits, _ = net.apply(params, obs, mask)
    assert np.all(np.isfinite(logits))
    np.testing.assert_array_equal(np.asarray(logits)[~np.asarray(mask)], ILLEGAL_LOGIT)
    assert np.all(np.asarray(logits)[np.asarray(mask)] > ILLEGAL_LOGIT / 2)
    probs = jax.nn.softmax(logits)
    np.testing.assert_array_equal(np.asarray(probs)[~np.asarray(mask) & mask.any(-1)[..., None]], 0)
    np.testing.assert_allclose(probs[0, 0], np.full(5, 0.2), rtol=1e-6)


def test_gradients_are_finite_with_masks(net, params):
    obs = normal(16, *SPEC.obs_shape)
    mask = bernoulli(0.3, 16, 2, 5)

    def entropy(p):
        logits, value = net.apply(p, obs, mask)
        log_pi = jax.nn.log_softmax(logits)
        return -jnp.sum(jnp.exp(log_pi) * log_pi) + jnp.sum(value)

    grads = jax.grad(entropy)(params)
    assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))


def test_init_is_deterministic_and_named(net):
    a, b = net.init(jax.random.key(3)), net.init(jax.random.key(3))
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        assert np.asarray(x).tobytes() == np.asarray(y).tobytes()
    assert all(module.startswith("agent") for module in a)


def test_network_is_hashable_and_jits(net, params):
    assert isinstance(net, Network)
    hash(net)
    obs = jnp.ones((2,) + SPEC.obs_shape)
    mask = jnp.ones((2, 2, 5), bool)
    jitted = jax.jit(net.apply)(params, obs, mask)
    eager = net.apply(params, obs, mask)
    np.testing.assert_allclose(jitted[0], eager[0], rtol=1e-6)


def test_bad_inputs_raise(net, params):
    with pytest.raises(ValueError, match="observation"):
        net.apply(params, jnp.ones((2, 3, 2)), jnp.ones((2, 2, 5), bool))
    with pytest.raises(AssertionError):
        net.apply(params, jnp.ones((2, 2, 3)), jnp.ones((2, 2, 4), bool))
    with pytest.raises(AssertionError):
        net.apply(params, jnp.ones((2, 2, 3)), jnp.ones((2, 2, 5)))
    with pytest.raises(ValueError, match="hidden_sizes"):
        make_policy_value_network(SPEC, hidden_sizes=(0,))
