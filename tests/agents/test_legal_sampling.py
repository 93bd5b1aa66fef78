"""Tests for detente.agents.legal_sampling: noise near the legal actions, the dense actions."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from detente.agents import act, population_apply, sample, stack_params
from detente.agents import legal_sampling as ls


def test_gumbel_at_is_jax_random_gumbel_bit_for_bit():
    shape = (3, 5, 7, 301)
    flat = jnp.arange(int(np.prod(shape)), dtype=jnp.uint32)
    picked = jnp.asarray(np.random.default_rng(0).permutation(flat.shape[0])[:999], jnp.uint32)
    base = jax.random.key(7)
    keys = [base, jax.random.split(base)[1], jax.random.fold_in(base, 3), jax.random.PRNGKey(2)]
    for key in keys:
        expected = jax.random.gumbel(key, shape).reshape(-1)
        got = jax.jit(ls.gumbel_at)(key, flat)
        np.testing.assert_array_equal(got.view(np.uint32), expected.view(np.uint32))
        np.testing.assert_array_equal(ls.gumbel_at(key, picked), expected[picked])


def test_unsupported_keys_and_dtypes_are_recognised():
    logits = jnp.zeros((4, 1000))
    assert ls.gumbel_supported(jax.random.key(0), logits.shape, jnp.float32)
    assert not ls.gumbel_supported(jax.random.key(0), logits.shape, jnp.bfloat16)
    rbg = jax.random.key(0, impl="rbg")
    assert not ls.gumbel_supported(rbg, logits.shape, jnp.float32)
    assert not ls.gumbel_supported(jax.random.key(0), (2**16, 2**16), jnp.float32)
    assert ls.near_legal_applies(jax.random.key(0), logits)
    assert not ls.near_legal_applies(jax.random.key(0), logits[:, :512])
    with pytest.raises(ValueError, match="threefry2x32"):
        ls.sample_near_legal(rbg, logits, logits > 0)
    with pytest.raises(ValueError, match="threefry2x32"):
        ls.gumbel_at(rbg, jnp.arange(3, dtype=jnp.uint32))
    # `sample` keeps the dense draw where the noise cannot be reproduced.
    mask = jnp.zeros((4, 1000), bool).at[:, 5].set(True)
    np.testing.assert_array_equal(sample(rbg, logits, mask, near_legal=True), np.full(4, 5))


def _sparse_rows(rng, rows, num_actions, max_legal):
    """A realpolitik-like mask: a few legal actions per slot, spread over the slot's table."""
    mask = np.zeros((rows, num_actions), bool)
    for r in range(rows):
        legal = rng.choice(num_actions, size=rng.integers(0, max_legal + 1), replace=False)
        mask[r, legal] = True
    return mask


def _blocks_holding_legal(mask, block):
    rows = np.asarray(mask).reshape(-1, np.shape(mask)[-1])
    padded = np.pad(rows, ((0, 0), (0, -rows.shape[1] % block)))
    return int(padded.reshape(rows.shape[0], -1, block).any(-1).sum()), rows.shape[0]


@pytest.mark.parametrize("block,blocks_per_slot", [(16, 3), (4, 4), (16, 1)])
def test_near_legal_draws_the_dense_draws_actions(block, blocks_per_slot):
    rng = np.random.default_rng(block)
    shape = (6, 7, 5, 700)
    mask = _sparse_rows(rng, 6 * 7 * 5, 700, 5).reshape(shape)
    mask[0, 0, :3] = False
    mask[0, 0, 0] = False  # no legal action: 0
    mask[0, 0, 1, [3, 9]] = True  # every legal logit -inf: 0, as the dense draw gives
    mask[0, 0, 2, [650, 11]] = True  # a NaN logit wins at its column, and only there
    logits = 3.0 * rng.normal(size=shape).astype(np.float32)
    logits[0, 0, 1, [3, 9]] = -np.inf
    logits[0, 0, 2, 650] = np.nan
    mask[0, 0, 3, [500, 100]] = True
    logits[0, 0, 3, mask[0, 0, 3]] = np.inf  # ties at +inf: the first legal column
    logits[0, 0, 4] = np.where(mask[0, 0, 4], 1e30, -1e30)  # huge finite logits
    logits, mask = jnp.asarray(logits), jnp.asarray(mask)
    near = jax.jit(
        lambda k: ls.sample_near_legal(
            k, logits, mask, block=block, blocks_per_slot=blocks_per_slot
        )
    )
    pairs, slots = _blocks_holding_legal(mask, block)
    assert (pairs > blocks_per_slot * slots) == (blocks_per_slot == 1)  # the last falls back
    for seed in range(4):
        key = jax.random.key(seed)
        expected = jax.random.categorical(key, jnp.where(mask, logits, -jnp.inf), axis=-1)
        got = near(key)
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(got, ls.dense_sample(key, logits, mask))
    got = np.asarray(got)
    assert got[0, 0, 0] == 0 and got[0, 0, 1] == 0 and got[0, 0, 2] == 650
    assert got[0, 0, 3] == np.flatnonzero(np.asarray(mask[0, 0, 3]))[0]


def test_too_many_legal_blocks_fall_back_to_the_dense_draw():
    # Two slots hold legal actions in every block: more blocks than the call's capacity, so the
    # whole call takes the dense draw.
    rng = np.random.default_rng(1)
    mask = _sparse_rows(rng, 40, 1000, 3)
    mask[[17, 30]] = True
    pairs, slots = _blocks_holding_legal(mask, ls.BLOCK)
    assert pairs > ls.BLOCKS_PER_SLOT * slots
    logits = jnp.asarray(rng.normal(size=mask.shape).astype(np.float32))
    for seed in range(3):
        key = jax.random.key(seed)
        expected = ls.dense_sample(key, logits, jnp.asarray(mask))
        np.testing.assert_array_equal(
            ls.sample_near_legal(key, logits, jnp.asarray(mask)), expected
        )
    text = str(jax.make_jaxpr(lambda k: ls.sample_near_legal(k, logits, mask))(key))
    assert "cond" in text


def test_sample_takes_the_near_legal_draw_for_large_action_spaces_on_the_cpu():
    def program(num_actions, **kwargs):
        logits, mask = jnp.zeros((3, 2, num_actions)), jnp.ones((3, 2, num_actions), bool)
        return str(jax.make_jaxpr(lambda k: sample(k, logits, mask, **kwargs))(jax.random.key(0)))

    # The near-legal draw computes Threefry at chosen indices (threefry2x32), the dense one
    # draws random_bits of the whole shape.
    assert "threefry2x32" not in program(50)
    assert "threefry2x32" not in program(1446, near_legal=False)
    assert "threefry2x32" in program(1446, near_legal=True)
    assert ("threefry2x32" in program(1446)) == (jax.default_backend() == "cpu")


@pytest.fixture(scope="module")
def big_network(small_network):
    return small_network(3, (6,), 4, 900)


def test_seats_not_acting_take_action_zero_and_acting_seats_draw_as_before(big_network):
    rng = np.random.default_rng(3)
    batch = 16
    obs = rng.normal(size=(batch, 3, 6)).astype(np.float32)
    mask = _sparse_rows(rng, batch * 3 * 4, 900, 6).reshape(batch, 3, 4, 900)
    mask[..., 0] |= ~mask.any(-1)
    acting = rng.random((batch, 3)) < 0.5
    mask[~acting] = True  # the contract's all-True mask of a player who does not act
    params = stack_params([big_network.init(jax.random.key(1))])
    seats = jnp.zeros((1, 3), jnp.int32)
    key = jax.random.key(2)
    plain = act(big_network, params, seats, obs, mask, key)
    given = act(big_network, params, seats, obs, mask, key, acting=jnp.asarray(acting))
    np.testing.assert_array_equal(np.asarray(given[0])[acting], np.asarray(plain[0])[acting])
    assert not np.asarray(given[0])[~acting].any()
    assert np.asarray(plain[0])[~acting].any()
    np.testing.assert_array_equal(np.asarray(given[1])[acting], np.asarray(plain[1])[acting])
    np.testing.assert_array_equal(given[2], plain[2])
    logits, _ = population_apply(big_network, params, seats, obs, mask)
    log_pi = jax.nn.log_softmax(logits)[..., 0].sum(-1)
    np.testing.assert_allclose(
        np.asarray(given[1])[~acting], np.asarray(log_pi)[~acting], rtol=1e-6
    )
    greedy = act(
        big_network, params, seats, obs, mask, None, deterministic=True, acting=jnp.asarray(acting)
    )
    assert not np.asarray(greedy[0])[~acting].any()
    with pytest.raises(ValueError, match="acting must be bool"):
        act(big_network, params, seats, obs, mask, key, acting=jnp.asarray(acting[:, :2]))
