"""Executors: in-process map, specs, no Ray unless asked, tasks equal direct calls, PSRO wiring."""

import dataclasses
import math
import subprocess
import sys

import jax
import numpy as np
import pytest

from detente.agents import PPOConfig
from detente.lib.checkpoint import content_hash
from detente.population import (
    Member,
    OpponentTrainingConfig,
    Population,
    PSROConfig,
    play_matches,
    run_psro,
    train_against_opponents,
)
from detente.population.execution import (
    Executor,
    InProcessExecutor,
    LogRecorder,
    MatchTask,
    Recipe,
    TrainingTask,
    executor_scope,
    make_executor,
    members_subset,
    replay,
    run_match_task,
    run_training_task,
)

RECIPE = Recipe("kuhn_poker", (8,))
TRAINING = OpponentTrainingConfig(
    batch_size=16,
    unroll_length=4,
    num_updates=4,
    num_groups=4,
    segment_length=2,
    log_every=2,
    ppo=PPOConfig(num_epochs=2, num_minibatches=2, learning_rate=1e-2, entropy_cost=0.0),
)
PSRO = PSROConfig(
    game="kuhn_poker",
    iterations=1,
    meta_solver="zero_sum_nash",
    payoff_estimator="sampled",
    games_per_profile=16,
    exact_evaluation="never",
    hidden_sizes=(8,),
    best_response=TRAINING,
)


def _population():
    _, network = RECIPE.build()
    members = [Member.create("a", network.init(jax.random.key(0)))]
    members.append(Member.create("b", network.init(jax.random.key(1)), parent="a"))
    members.append(Member.create("c", network.init(jax.random.key(2)), parent="b"))
    return Population(members)


def _snapshot(result):
    rows = [{k: v for k, v in row.items() if k != "seconds"} for row in result.rows]
    return result.population.hashes(), result.payoffs.records, rows


def test_in_process_map_keeps_order_and_checks_arguments():
    executor = InProcessExecutor()
    assert isinstance(executor, Executor)
    assert executor.map(math.sqrt, [9.0, 4.0, 1.0]) == [3.0, 2.0, 1.0]
    assert executor.map(math.sqrt, []) == []
    with pytest.raises(TypeError, match="needs a callable fn"):
        executor.map(3, [1])
    with pytest.raises(TypeError, match="needs a sequence of tasks"):
        executor.map(math.sqrt, "abc")


def test_make_executor_specs():
    assert isinstance(make_executor(), InProcessExecutor)
    assert isinstance(make_executor("inprocess"), InProcessExecutor)
    executor = InProcessExecutor()
    assert make_executor(executor) is executor
    with pytest.raises(ValueError, match=r"unknown executor 'dask'; accepted: inprocess, ray"):
        make_executor("dask")
    with pytest.raises(ValueError, match="must be an Executor or one of"):
        make_executor(3)
    with pytest.raises(ValueError, match="in-process executor takes no options"):
        make_executor("inprocess", max_retries=2)


def test_executor_scope_closes_only_what_it_built():
    closed = []

    class Tracking(InProcessExecutor):
        def close(self):
            closed.append(self)

    mine = Tracking()
    with executor_scope(mine) as executor:
        assert executor is mine
    assert closed == []
    with executor_scope(None) as executor:
        assert isinstance(executor, InProcessExecutor)


def test_asking_for_ray_without_ray_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` fail as if not installed
    for spec in ("ray", "ray://head:10001", "10.0.0.1:6379", "auto"):
        with pytest.raises(ImportError, match=r"pip install 'detente\[ray\]'"):
            make_executor(spec)
    with pytest.raises(ImportError, match=r"detente\[ray\]"):
        run_psro(PSRO, executor="ray")


def test_nothing_imports_ray_unless_asked():
    code = (
        "import sys\n"
        "import detente.population, detente.population.execution\n"
        "import detente.population.psro, detente.population.ray_backend\n"
        "from detente.population.execution import make_executor\n"
        "make_executor('inprocess')\n"
        "assert 'ray' not in sys.modules, 'ray was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_members_subset_keeps_order_params_and_hashes():
    population = _population()
    subset = members_subset(population, ["c", "a"])
    assert subset.ids == ["a", "c"]  # the population's order, not the request's
    assert subset["c"].parent is None  # "b" was left out
    assert subset.hashes() == {"a": population["a"].hash, "c": population["c"].hash}
    assert subset["a"].params is population["a"].params
    with pytest.raises(ValueError, match="members_subset: unknown member id 'z'"):
        members_subset(population, ["a", "z"])


def test_match_task_equals_play_matches():
    population = _population()
    profiles = [("c", "a"), ("a", "a")]
    task = MatchTask.create(RECIPE, population, profiles, games_per_profile=8, seed=5)
    assert task.population.ids == ["a", "c"]
    game, network = RECIPE.build()
    direct = play_matches(game, network, population, profiles, games_per_profile=8, seed=5)
    (results,) = InProcessExecutor().map(run_match_task, [task])
    assert [r.members for r in results] == [("c", "a"), ("a", "a")]
    for got, want in zip(results, direct, strict=True):
        np.testing.assert_array_equal(got.returns, want.returns)


def test_training_task_equals_train_against_opponents():
    population = _population()
    opponents = [None, {"b": 0.25, "c": 0.75}]
    task = TrainingTask.create(
        RECIPE,
        TRAINING,
        population,
        opponents=opponents,
        learner_seats=[0],
        seed=11,
        initial_params=population["a"].params,
        log_step_offset=100,
    )
    assert task.population.ids == ["b", "c"]
    game, network = RECIPE.build()
    recorder = LogRecorder()
    direct = train_against_opponents(
        TRAINING,
        game=game,
        network=network,
        population=population,
        opponents=opponents,
        learner_seats=[0],
        seed=11,
        initial_params=population["a"].params,
        logger=recorder,
        log_step_offset=100,
    )
    (outcome,) = InProcessExecutor().map(run_training_task, [task])
    assert all(isinstance(leaf, np.ndarray) for leaf in jax.tree.leaves(outcome.params))
    assert content_hash(outcome.params) == content_hash(jax.device_get(direct.params))
    assert outcome.log == recorder.rows and [step for step, _ in outcome.log] == [102, 104]
    replayed = LogRecorder()
    replay(outcome.log, replayed)
    assert replayed.rows == outcome.log


class CountingExecutor(InProcessExecutor):
    """In-process, recording which task functions ran and how many tasks each call had."""

    def __init__(self):
        self.calls = []
        self.closed = False

    def map(self, fn, tasks):
        self.calls.append((fn.__name__, len(tasks)))
        return super().map(fn, tasks)

    def close(self):
        self.closed = True


def test_psro_runs_learners_and_match_batches_through_the_executor():
    executor = CountingExecutor()
    learner_rows = LogRecorder()
    result = run_psro(PSRO, executor=executor, learner_logger=learner_rows)
    assert executor.calls == [
        ("run_match_task", 1),  # iteration 0: the initial profile
        ("run_training_task", 2),  # one best response per player, together
        ("run_match_task", 1),  # the 3 new profiles, one batch
    ]
    assert not executor.closed  # the caller's executor is left open
    assert _snapshot(result) == _snapshot(run_psro(PSRO))
    assert [step for step, _ in learner_rows.rows] == [2, 4, 2, 4]  # player 0's, then player 1's
    shared = dataclasses.replace(PSRO, game="matrix_rps", population="shared")
    assert _snapshot(run_psro(shared, executor="inprocess")) == _snapshot(run_psro(shared))
