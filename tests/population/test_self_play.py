"""Naive self-play: determinism, resumption, checkpoints, config validation."""

import dataclasses

import jax
import numpy as np
import pytest

from detente.agents import PPOConfig
from detente.lib import CheckpointError, load_metadata
from detente.population import SelfPlayConfig, train_self_play

TINY = SelfPlayConfig(
    game="kuhn_poker",
    batch_size=8,
    unroll_length=4,
    num_updates=4,
    hidden_sizes=(8,),
    log_every=2,
    checkpoint_every=2,
    ppo=PPOConfig(num_epochs=1, num_minibatches=2),
)


def _leaves(params):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(params)]


def _assert_identical(a, b):
    for x, y in zip(_leaves(a), _leaves(b), strict=True):
        assert x.tobytes() == y.tobytes()


def test_same_seed_byte_identical_params():
    first = train_self_play(TINY, progress=False)
    second = train_self_play(TINY, progress=False)
    _assert_identical(first.params, second.params)
    other = train_self_play(dataclasses.replace(TINY, seed=1), progress=False)
    assert any(
        x.tobytes() != y.tobytes()
        for x, y in zip(_leaves(first.params), _leaves(other.params), strict=True)
    )


def test_resume_equals_uninterrupted(tmp_path):
    uninterrupted = train_self_play(TINY, progress=False)
    # Stop after the first checkpoint, then resume in a new call to the full length.
    train_self_play(dataclasses.replace(TINY, num_updates=2), run_dir=tmp_path, progress=False)
    assert load_metadata(tmp_path / "checkpoint")["update"] == 2
    resumed = train_self_play(TINY, run_dir=tmp_path, progress=False)
    assert load_metadata(tmp_path / "checkpoint")["update"] == 4
    assert resumed.env_steps == uninterrupted.env_steps
    _assert_identical(resumed.params, uninterrupted.params)


def test_resume_with_parameter_averaging(tmp_path):
    config = dataclasses.replace(TINY, average_decay=0.9)
    uninterrupted = train_self_play(config, progress=False)
    train_self_play(dataclasses.replace(config, num_updates=2), run_dir=tmp_path, progress=False)
    resumed = train_self_play(config, run_dir=tmp_path, progress=False)
    _assert_identical(resumed.params, uninterrupted.params)
    # The result is the average, not the last iterate.
    assert any(
        x.tobytes() != y.tobytes()
        for x, y in zip(_leaves(resumed.params), _leaves(resumed.state.params), strict=True)
    )


def test_logger_and_callback_receive_metrics(tmp_path):
    written = []

    class ListLogger:
        def write(self, step, metrics):
            written.append((step, dict(metrics)))

        def close(self):
            pass

    calls = []

    def on_log(update, metrics, network, params):
        calls.append(update)
        return {"extra": 1.0}

    train_self_play(TINY, logger=ListLogger(), progress=False, on_log=on_log)
    assert [step for step, _ in written] == [2, 4] and calls == [2, 4]
    assert {"loss", "entropy", "steps_per_second", "extra"} <= set(written[0][1])


def test_checkpoint_of_another_game_is_refused(tmp_path):
    train_self_play(dataclasses.replace(TINY, num_updates=2), run_dir=tmp_path, progress=False)
    with pytest.raises(
        CheckpointError,
        match=r"is for game 'kuhn_poker\(\)' on backend 'openspiel', not 'leduc_poker\(\)'",
    ):
        train_self_play(
            dataclasses.replace(TINY, game="leduc_poker"), run_dir=tmp_path, progress=False
        )


def test_simultaneous_three_player_game_trains():
    config = dataclasses.replace(TINY, game="goofspiel(players=3,num_cards=3)")
    result = train_self_play(config, progress=False)
    assert result.spec.num_players == 3 and result.env_steps == 4 * 4 * 8


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("batch_size", 0, "batch_size must be a positive integer"),
        ("unroll_length", -1, "unroll_length must be a positive integer"),
        ("seed", -3, "seed must be a non-negative integer"),
        ("max_steps", 0, "max_steps must be None or a positive integer"),
        ("hidden_sizes", (0,), "hidden_sizes must be positive integers"),
        ("average_decay", 1.0, r"average_decay must be in \[0, 1\)"),
    ],
)
def test_bad_config(field, value, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(TINY, **{field: value})


def test_unknown_game_fails_before_training():
    with pytest.raises(ValueError, match="unknown game"):
        train_self_play(dataclasses.replace(TINY, game="kuhn_pokr"), progress=False)


@pytest.mark.parametrize("backend", ["openspiel", "jax"])
def test_warm_start_from_initial_params(backend):
    """`initial_params` replace the seed's initialisation on both backends; a tiny step size
    keeps the result next to them, and params of another network are refused."""
    from detente.agents import make_policy_value_network
    from detente.population.jax_self_play import train

    game = "kuhn_poker" if backend == "openspiel" else "matrix_rps"
    config = dataclasses.replace(
        TINY,
        game=game,
        num_updates=2,
        ppo=PPOConfig(num_epochs=1, num_minibatches=2, learning_rate=1e-9),
    )
    cold = train(config, backend=backend, progress=False)
    network = make_policy_value_network(cold.spec, hidden_sizes=config.hidden_sizes)
    start = network.init(jax.random.key(123))
    warm = train(config, backend=backend, progress=False, initial_params=start)
    for got, want in zip(jax.tree.leaves(warm.params), jax.tree.leaves(start), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-6)
    pairs = zip(jax.tree.leaves(cold.params), jax.tree.leaves(start), strict=True)
    assert not all(np.allclose(c, s, atol=1e-6) for c, s in pairs)  # the seed's own init
    wide = make_policy_value_network(cold.spec, hidden_sizes=(9,)).init(jax.random.key(0))
    with pytest.raises(ValueError, match="initial params do not fit the network"):
        train(config, backend=backend, progress=False, initial_params=wide)
