"""`JaxGameEnv`: a JAX game behind the host interface, checked against `RealpolitikEnv`."""

import numpy as np
import pytest

from detente.games.jax_games import make
from detente.games.jax_games.host_env import JaxGameEnv
from detente.games.realpolitik import RealpolitikEnv
from detente.games.realpolitik_jax._check import random_legal_actions
from detente.lib.openspiel_env import IllegalActionError

DUEL = "realpolitik_jax(map=duel,max_years=2)"


def _assert_same(a, b, what):
    for field in a._fields:
        x, y = getattr(a, field), getattr(b, field)
        assert x.dtype == y.dtype and x.shape == y.shape, (what, field, x.dtype, y.dtype)
        np.testing.assert_array_equal(x, y, err_msg=f"{what}: {field}")


@pytest.mark.parametrize("auto_reset", [True, False])
def test_equals_the_reference_environment_bit_for_bit(auto_reset):
    """Random legal play on the 2-power board, past the games' ends: the same timesteps as the
    numpy `RealpolitikEnv` (observations, masks, acting, rewards, flags)."""
    env = JaxGameEnv(DUEL, 16, auto_reset=auto_reset)
    reference = RealpolitikEnv("duel", 16, max_years=2, auto_reset=auto_reset)
    assert env.spec.num_players == reference.spec.num_players and env.batch_size == 16
    assert (env.spec.obs_shape, env.spec.num_slots) == (
        reference.spec.obs_shape,
        reference.spec.num_slots,
    )
    ours, theirs = env.reset(0), reference.reset(0)
    rng = np.random.default_rng(1)
    ended = 0
    for t in range(24):
        _assert_same(ours, theirs, f"step {t}")
        ended += int(ours.terminated.sum())
        actions = random_legal_actions(rng, ours.legal_action_mask)
        ours, theirs = env.step(actions), reference.step(actions)
    assert ended > 0  # games ended (and, with auto-reset, restarted) along the way
    if not auto_reset:  # a finished game stays as it is, with zero rewards
        assert ours.terminated.all() and not ours.rewards.any()


def test_illegal_actions_are_errors_and_step_nothing():
    env = JaxGameEnv(DUEL, 16, auto_reset=True)  # the shape of the test above: no new compile
    reference = RealpolitikEnv("duel", 16, max_years=2, auto_reset=True)
    ts = env.reset(0)
    reference.reset(0)
    actions = random_legal_actions(np.random.default_rng(0), ts.legal_action_mask)
    bad = actions.copy()
    illegal = int(np.flatnonzero(~ts.legal_action_mask[2, 1, 0])[0])
    bad[2, 1, 0] = illegal
    with pytest.raises(
        IllegalActionError,
        match=rf"illegal action {illegal} of player 1, slot 0, in game 2 \(legal: ",
    ):
        env.step(bad)
    bad[2, 1, 0] = 50
    with pytest.raises(IllegalActionError, match="illegal action 50 .* accepted: 0 to 49"):
        env.step(bad)
    with pytest.raises(IllegalActionError, match=r"shape \[B, P, K\] = \(16, 2, 2\)"):
        env.step(actions[:, :, :1])
    with pytest.raises(IllegalActionError, match="must be integers"):
        env.step(actions.astype(np.float32))
    # Nothing was stepped: the next legal step still matches the reference's first.
    _assert_same(env.step(actions), reference.step(actions), "after the errors")


def test_bad_construction_and_seeds():
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        JaxGameEnv(DUEL, 0)
    with pytest.raises(ValueError, match="unknown JAX game 'realpolitik_jx'"):
        JaxGameEnv("realpolitik_jx(map=duel)", 2)
    with pytest.raises(TypeError, match="JAX game string or a JaxGame"):
        JaxGameEnv(3, 2)
    env = JaxGameEnv(make("matrix_rps"), 2)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros((2, 2, 1), np.int32))
    with pytest.raises(ValueError, match="seed must be a non-negative integer, got -1"):
        env.reset(-1)


def test_chance_follows_the_seed():
    """Random ends are drawn from the seed's keys: the same seed plays the same games."""
    name = "realpolitik_jax(map=duel,max_years=4,random_end_prob=0.5,random_end_after=1)"

    def lengths(seed):
        env = JaxGameEnv(name, 32)
        ts = env.reset(seed)
        rng = np.random.default_rng(0)
        steps = np.zeros(32, int)
        for _ in range(env.spec.max_steps):
            steps += ~ts.terminated
            ts = env.step(random_legal_actions(rng, ts.legal_action_mask))
        return steps

    np.testing.assert_array_equal(lengths(3), lengths(3))
    assert not np.array_equal(lengths(3), lengths(4))
