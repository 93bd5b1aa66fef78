"""Self-play on the JAX backend: determinism, resumption, checkpoints, dispatch, learning.

Every run here shares one static configuration (game, network, PPO, T, averaging), so the
jitted iteration compiles once for the whole file.
"""

import dataclasses

import jax
import numpy as np
import pytest

from detente.agents import Learner, PPOConfig, make_policy_value_network, make_ppo
from detente.games import jax_games
from detente.lib import CheckpointError, load_metadata, save_checkpoint, split_batch
from detente.population import jax_self_play
from detente.population.jax_rollout import init_env_states, make_rollout
from detente.population.jax_self_play import train, train_jax_self_play
from detente.population.self_play import SelfPlayConfig

TINY = SelfPlayConfig(
    game="matrix_pd",
    batch_size=8,
    unroll_length=2,
    num_updates=4,
    hidden_sizes=(8,),
    log_every=2,
    checkpoint_every=2,
    average_decay=0.5,  # the average is checkpointed and resumed too
    ppo=PPOConfig(learning_rate=3e-2, num_epochs=1, num_minibatches=2, entropy_cost=0.0),
)


def _leaves(tree):
    return [
        np.asarray(
            jax.random.key_data(x) if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key) else x
        )
        for x in jax.tree_util.tree_leaves(tree)
    ]


def _assert_identical(a, b):
    for x, y in zip(_leaves(a), _leaves(b), strict=True):
        assert x.tobytes() == y.tobytes()


def test_same_seed_byte_identical_and_other_seed_differs():
    first = train_jax_self_play(TINY, progress=False)
    second = train_jax_self_play(TINY, progress=False)
    _assert_identical(first.params, second.params)
    _assert_identical(first.state, second.state)
    other = train_jax_self_play(dataclasses.replace(TINY, seed=1), progress=False)
    assert any(
        x.tobytes() != y.tobytes()
        for x, y in zip(_leaves(first.params), _leaves(other.params), strict=True)
    )
    assert first.env_steps == 4 * 2 * 8 and first.spec.name == "matrix_pd()"


def test_resume_equals_uninterrupted(tmp_path):
    uninterrupted = train_jax_self_play(TINY, progress=False)
    train_jax_self_play(dataclasses.replace(TINY, num_updates=2), run_dir=tmp_path, progress=False)
    metadata = load_metadata(tmp_path / "checkpoint")
    assert metadata["update"] == 2 and metadata["backend"] == "jax"
    resumed = train_jax_self_play(TINY, run_dir=tmp_path, progress=False)
    assert load_metadata(tmp_path / "checkpoint")["update"] == 4
    assert resumed.env_steps == uninterrupted.env_steps
    _assert_identical(resumed.params, uninterrupted.params)
    _assert_identical(resumed.state, uninterrupted.state)


def test_logger_and_callback_receive_metrics():
    written, calls = [], []

    class ListLogger:
        def write(self, step, metrics):
            written.append((step, dict(metrics)))

        def close(self):
            pass

    def on_log(update, metrics, network, params):
        calls.append(update)
        return {"extra": 1.0}

    train_jax_self_play(TINY, logger=ListLogger(), progress=False, on_log=on_log)
    assert [step for step, _ in written] == [2, 4] and calls == [2, 4]
    metrics = written[0][1]
    assert {"loss", "entropy", "steps_per_second", "extra", "episode_return_p0"} <= set(metrics)
    # T=2: every game finishes one episode per update, paying 0, 1, 5 or 10 to each seat.
    assert 0.0 <= metrics["episode_return_p0"] <= 10.0 and metrics["env_steps"] == 32


def test_checkpoint_of_another_game_or_backend_is_refused(tmp_path):
    train_jax_self_play(dataclasses.replace(TINY, num_updates=2), run_dir=tmp_path, progress=False)
    with pytest.raises(CheckpointError, match=r"not 'matrix_rps\(\)' on 'jax'"):
        train_jax_self_play(dataclasses.replace(TINY, game="matrix_rps"), run_dir=tmp_path)
    # The OpenSpiel backend writes no "backend" entry: its checkpoints are refused here.
    other = tmp_path / "openspiel" / "checkpoint"
    save_checkpoint(other, {"x": np.zeros(1)}, {"update": 2, "env_steps": 4, "game": "matrix_pd()"})
    with pytest.raises(CheckpointError, match="on backend 'openspiel'"):
        train(TINY, run_dir=tmp_path / "openspiel", progress=False)


def test_dispatch_and_validation(monkeypatch):
    seen = []
    monkeypatch.setattr(jax_self_play, "train_self_play", lambda config, **kw: seen.append(config))
    kuhn = dataclasses.replace(TINY, game="kuhn_poker")
    train(kuhn)  # not a JAX game: the OpenSpiel adapter
    train(TINY, backend="openspiel")
    assert seen == [kuhn, TINY]
    monkeypatch.setattr(jax_self_play, "train_jax_self_play", lambda config, **kw: "jax")
    assert train(TINY) == "jax" and train(TINY, backend="jax") == "jax"
    monkeypatch.undo()
    with pytest.raises(ValueError, match="unknown JAX game 'kuhn_poker'"):
        train(kuhn, backend="jax", progress=False)
    with pytest.raises(ValueError, match="backend must be one of"):
        train(TINY, backend="gpu")
    # A limit at or beyond the game's horizon (1 for one-shot games) truncates nothing.
    train_jax_self_play(dataclasses.replace(TINY, max_steps=1, num_updates=1), progress=False)


def test_learns_to_defect_in_prisoners_dilemma():
    # Defection (action 1) strictly dominates in OpenSpiel's prisoner's dilemma: a learner
    # that improves at all must move probability towards it (uniform start: 0.5).
    config = dataclasses.replace(TINY, num_updates=60, checkpoint_every=60)
    result = train_jax_self_play(config, progress=False)
    obs = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], np.float32)
    for params in (result.params, result.state.params):
        logits, _ = result.network.apply(params, obs, np.ones((2, 1, 2), bool))
        defect = np.asarray(jax.nn.softmax(logits)[:, 0, 1])
        assert np.all(defect > 0.9), defect


_TWO_DEVICES = """
import dataclasses, json, sys
import jax, numpy as np
from detente.agents import PPOConfig
from detente.population import SelfPlayConfig
from detente.population.jax_self_play import train_jax_self_play
assert jax.local_device_count() == 2, jax.local_devices()
config = SelfPlayConfig(game="matrix_rps", batch_size=8, unroll_length=4, num_updates=3,
    hidden_sizes=(8,), log_every=1, checkpoint_every=2, ppo=PPOConfig(num_minibatches=2))
one = train_jax_self_play(config, progress=False)
two = train_jax_self_play(config, progress=False, num_devices=2)
diff = max(float(np.max(np.abs(a - b)))
           for a, b in zip(jax.tree.leaves(one.params), jax.tree.leaves(two.params)))
try:
    train_jax_self_play(dataclasses.replace(config, batch_size=7), num_devices=2)
except ValueError as error:
    message = str(error)
print(json.dumps({"diff": diff, "steps": [one.env_steps, two.env_steps], "error": message}))
"""


def test_games_sharded_over_two_devices_match_one_device():
    """Data parallelism inside the learner: two host devices (XLA's CPU device count flag, in
    a subprocess since it must be set before JAX starts) give the one-device run's result."""
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    out = subprocess.run(
        [sys.executable, "-c", _TWO_DEVICES], env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["steps"] == [96, 96]
    assert result["diff"] < 1e-5
    assert "not a multiple of num_devices=2" in result["error"]


def test_num_devices_is_checked():
    with pytest.raises(ValueError, match="local device"):
        train_jax_self_play(TINY, progress=False, num_devices=64)


def _assert_close(a, b):
    # Separately compiled programs (rollout and update fused or apart) may round the last
    # float bit differently; integers and booleans must match exactly.
    for x, y in zip(_leaves(a), _leaves(b), strict=True):
        if np.issubdtype(x.dtype, np.floating):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
        else:
            np.testing.assert_array_equal(x, y)


def _one_iteration(iteration, env_state, config=TINY):
    game = jax_games.make(config.game)
    network = make_policy_value_network(game.spec, hidden_sizes=config.hidden_sizes)
    learner = Learner(network, config.ppo, jax.random.key(3))
    stats = jax_self_play._zero_stats(config.batch_size, game.spec.num_players)
    params = learner.state.params
    return iteration(learner.state, params, env_state, stats, jax.random.key(4), np.int32(2))


def test_parted_iteration_equals_the_fused_one_with_one_part_and_splits_the_keys():
    game = jax_games.make(TINY.game)
    network = make_policy_value_network(game.spec, hidden_sizes=TINY.hidden_sizes)
    build = (game, network, TINY.ppo, TINY.unroll_length)
    states = init_env_states(game.init, jax.random.key(5), TINY.batch_size)
    fused = _one_iteration(jax_self_play.make_iteration(*build, 0.5), states)
    one = _one_iteration(jax_self_play.make_parted_iteration(*build, 1, 0.5), [states])
    _assert_close(fused[:2] + fused[3:], one[:2] + one[3:])
    _assert_close(fused[2], one[2][0])
    # Two parts: part i rolls out its half with fold_in(acting_key, i), then one update on
    # the joined trajectory (time-major fields along [B], the learner mask along axis 0).
    two = _one_iteration(
        jax_self_play.make_parted_iteration(*build, 2, 0.5), split_batch(states, 2)
    )
    learner = Learner(network, TINY.ppo, jax.random.key(3))
    rollout = make_rollout(game.spec, game.init, game.step, network, TINY.unroll_length)
    acting_key = jax.random.fold_in(jax.random.fold_in(jax.random.key(4), 1), 2)
    stacked = jax.tree.map(lambda x: x[None], learner.state.params)
    seats = np.zeros((1, game.spec.num_players), np.int32)
    halves = [
        rollout(stacked, seats, part, jax.random.fold_in(acting_key, i))
        for i, part in enumerate(split_batch(states, 2))
    ]
    trajs = [traj for traj, _ in halves]
    joined = jax.tree.map(lambda *x: np.concatenate(x, axis=1), *trajs)
    joined = joined._replace(learner_mask=np.concatenate([t.learner_mask for t in trajs]))
    _, update = make_ppo(network, TINY.ppo)
    expected_state, _ = update(learner.state, joined)
    _assert_close(two[0], expected_state)
    _assert_close(two[2], [state for _, state in halves])


def test_host_parts_runs_are_reproducible_and_resume_exactly(tmp_path):
    first = train_jax_self_play(TINY, progress=False, host_parts=2)
    second = train_jax_self_play(TINY, progress=False, host_parts=2)
    _assert_identical(first.state, second.state)
    assert first.env_steps == 4 * 2 * 8
    train_jax_self_play(
        dataclasses.replace(TINY, num_updates=2), run_dir=tmp_path, progress=False, host_parts=2
    )
    resumed = train_jax_self_play(TINY, run_dir=tmp_path, progress=False, host_parts=2)
    _assert_identical(resumed.state, first.state)


@pytest.mark.parametrize(
    ("host_parts", "num_devices", "match"),
    [
        (0, 1, r"host_parts=0: accepted 1 to batch_size=8"),
        (9, 1, r"host_parts=9: accepted 1 to batch_size=8"),
        (True, 1, "host_parts must be an integer, got True"),
        (2, 2, "host_parts=2 with num_devices=2"),
    ],
)
def test_bad_host_parts_are_refused_before_any_work(host_parts, num_devices, match):
    with pytest.raises(ValueError, match=match):
        train_jax_self_play(TINY, progress=False, host_parts=host_parts, num_devices=num_devices)


def test_host_parts_are_refused_on_the_host_backend():
    with pytest.raises(ValueError, match="host_parts=2: only the JAX backend"):
        train(TINY, backend="openspiel", host_parts=2)
