"""Tests of detente.lib.policy: the PolicyFn convention and its building blocks."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pyspiel
import pytest

from detente.lib import policy
from detente.lib.openspiel_env import OpenSpielEnv


def _mask():
    # N=3 rows, K=2 slots, A=4 actions; row 2 slot 1 has no legal action.
    mask = np.zeros((3, 2, 4), bool)
    mask[0, 0, [0, 1]] = True
    mask[0, 1, :] = True
    mask[1, :, 3] = True
    mask[2, 0, [1, 2, 3]] = True
    return mask


def test_uniform_policy_fn():
    mask = _mask()
    probs = policy.uniform_policy_fn(np.zeros((3, 5), np.float32), mask)
    assert probs.shape == (3, 2, 4) and probs.dtype == np.float32
    np.testing.assert_allclose(probs[0, 0], [0.5, 0.5, 0, 0])
    np.testing.assert_allclose(probs[0, 1], [0.25] * 4)
    np.testing.assert_allclose(probs[2, 0], [0, 1 / 3, 1 / 3, 1 / 3], rtol=1e-6)
    np.testing.assert_array_equal(probs[2, 1], 0.0)
    assert np.all(probs[~mask] == 0)
    assert isinstance(policy.uniform_policy_fn, policy.PolicyFn)
    with pytest.raises(ValueError, match=r"\[N, K, A\]"):
        policy.uniform_policy_fn(np.zeros((3, 5)), mask[:, 0])
    with pytest.raises(ValueError, match="rows"):
        policy.uniform_policy_fn(np.zeros((2, 5)), mask)


def test_masked_softmax_zero_on_illegal_and_matches_softmax_on_legal():
    mask = _mask()
    logits = jnp.asarray(np.arange(24, dtype=np.float32).reshape(3, 2, 4) / 7.0)
    probs = np.asarray(policy.masked_softmax(logits, mask))
    assert np.all(probs[~mask] == 0)
    legal = np.asarray(logits)[0, 0, :2]
    expected = np.exp(legal) / np.exp(legal).sum()
    np.testing.assert_allclose(probs[0, 0, :2], expected, rtol=1e-6)
    np.testing.assert_allclose(probs[1, :, 3], 1.0)
    np.testing.assert_array_equal(probs[2, 1], 0.0)  # no legal action: zeros, not NaN
    assert not np.isnan(probs).any()


def test_softmax_policy_fn_temperature():
    def logits_fn(observation, legal_mask):
        return jnp.broadcast_to(jnp.arange(4.0), legal_mask.shape)

    mask = np.ones((2, 1, 4), bool)
    obs = np.zeros((2, 3), np.float32)
    cold = np.asarray(policy.softmax_policy_fn(logits_fn, temperature=0.01)(obs, mask))
    np.testing.assert_allclose(cold[:, 0, 3], 1.0, atol=1e-6)
    warm = np.asarray(policy.softmax_policy_fn(logits_fn)(obs, mask))
    np.testing.assert_allclose(warm.sum(-1), 1.0, rtol=1e-6)
    assert warm[0, 0, 3] < 0.9
    with pytest.raises(ValueError, match="temperature"):
        policy.softmax_policy_fn(logits_fn, temperature=0.0)


def _constant(action):
    def policy_fn(observation, legal_mask):
        probs = np.zeros(legal_mask.shape, np.float32)
        probs[..., action] = 1.0
        return probs

    return policy_fn


def test_per_player_policy_routes_rows_by_seat_one_hot():
    # Observations from the OpenSpiel adapter end with the seat one-hot.
    env = OpenSpielEnv(pyspiel.load_game("goofspiel(num_cards=3)"), batch_size=2)
    step = env.reset(seed=0)
    observation = step.observation.reshape(4, -1)  # rows: (game 0, seat 0), (0, 1), (1, 0), ...
    mask = np.ones((4, 1, 3), bool)
    calls = []

    def recording(action):
        def policy_fn(obs, legal_mask):
            calls.append((action, len(obs)))
            return _constant(action)(obs, legal_mask)

        return policy_fn

    per_player = policy.PerPlayerPolicy([recording(0), recording(2)])
    probs = per_player(observation, mask)
    np.testing.assert_array_equal(np.argmax(probs[:, 0], axis=-1), [0, 2, 0, 2])
    assert sorted(calls) == [(0, 2), (2, 2)]  # one call per seat, on all its rows
    assert isinstance(per_player, policy.PolicyFn)


def test_per_player_policy_errors():
    with pytest.raises(ValueError, match="at least one"):
        policy.PerPlayerPolicy([])
    with pytest.raises(TypeError, match=r"policies\[1\]"):
        policy.PerPlayerPolicy([_constant(0), 3])
    per_player = policy.PerPlayerPolicy([_constant(0), _constant(1)])
    with pytest.raises(ValueError, match="one-hot of the 2 seats"):
        per_player(np.zeros((1, 4), np.float32), np.ones((1, 1, 2), bool))


def test_as_per_seat():
    fn = _constant(0)
    assert policy.as_per_seat(fn, 3) == [fn, fn, fn]
    assert policy.as_per_seat([fn, fn], 2) == [fn, fn]
    assert policy.as_per_seat(policy.PerPlayerPolicy([fn, fn]), 2) == [fn, fn]
    with pytest.raises(ValueError, match=r"one policy per seat \(3\), got 2"):
        policy.as_per_seat([fn, fn], 3)
    with pytest.raises(TypeError, match="seat 1"):
        policy.as_per_seat([fn, "x"], 2)
    with pytest.raises(TypeError, match="PolicyFn"):
        policy.as_per_seat(5, 2)


def test_public_names_have_docstrings():
    for name in (
        "PolicyFn",
        "uniform_policy_fn",
        "masked_softmax",
        "softmax_policy_fn",
        "PerPlayerPolicy",
        "as_per_seat",
    ):
        assert getattr(policy, name).__doc__, name
