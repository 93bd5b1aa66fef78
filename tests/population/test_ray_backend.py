"""Ray executor: same PSRO run as in-process, killed workers retried, errors propagate.

Runs on a local 2-CPU Ray instance started (and shut down) by the module fixture. Skipped
when Ray is not installed (`pip install 'detente[ray]'`).
"""

import os
import shutil
import tempfile

import pytest

ray = pytest.importorskip("ray")

import jax  # noqa: E402

from detente.lib.checkpoint import content_hash  # noqa: E402
from detente.population import (  # noqa: E402
    Member,
    OpponentTrainingConfig,
    Population,
    PSROConfig,
    run_psro,
)
from detente.population.execution import (  # noqa: E402
    InProcessExecutor,
    MatchTask,
    Recipe,
    TrainingTask,
    make_executor,
    run_match_task,
    run_training_task,
)
from detente.population.ray_backend import RayExecutor  # noqa: E402

# Ray starts its processes with fork + exec, which JAX's fork warning does not distinguish.
pytestmark = pytest.mark.filterwarnings("ignore:os.fork\\(\\) was called:RuntimeWarning")

PSRO = PSROConfig(
    game="kuhn_poker",
    iterations=1,
    meta_solver="zero_sum_nash",
    payoff_estimator="sampled",
    games_per_profile=16,
    exact_evaluation="never",
    hidden_sizes=(8,),
    best_response=OpponentTrainingConfig(
        batch_size=16, unroll_length=4, num_updates=4, num_groups=4, segment_length=2
    ),
)


@pytest.fixture(scope="module")
def ray_cluster():
    # A short temp dir: Ray's Unix socket paths must stay under ~107 characters.
    temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        _temp_dir=temp_dir,
    )
    yield
    ray.shutdown()
    shutil.rmtree(temp_dir, ignore_errors=True)


def _snapshot(result):
    rows = [{k: v for k, v in row.items() if k != "seconds"} for row in result.rows]
    return result.population.hashes(), result.payoffs.records, rows


def _tasks():
    """A match batch and a learner on two random members."""
    recipe = Recipe(PSRO.game, PSRO.hidden_sizes)
    _, network = recipe.build()
    population = Population(
        [Member.create(f"m{i}", network.init(jax.random.key(i))) for i in range(2)]
    )
    match = MatchTask.create(recipe, population, [("m0", "m1")], games_per_profile=8, seed=3)
    training = TrainingTask.create(
        recipe,
        PSRO.best_response,
        population,
        opponents=[None, {"m0": 0.5, "m1": 0.5}],
        learner_seats=[0],
        seed=4,
    )
    return [match, training]


def _run(task):
    if isinstance(task, MatchTask):
        return run_match_task(task)
    return run_training_task(task)


def _comparable(outcome):
    if isinstance(outcome, list):  # match results
        return [(r.members, r.returns.tolist()) for r in outcome]
    return content_hash(outcome.params), outcome.log


def test_psro_with_ray_equals_in_process(ray_cluster):
    with RayExecutor(max_retries=1) as executor:
        distributed = run_psro(PSRO, executor=executor)
    assert ray.is_initialized()  # the executor did not start Ray, so it left it running
    assert _snapshot(distributed) == _snapshot(run_psro(PSRO))


def test_a_killed_worker_is_retried_with_the_same_result(ray_cluster, tmp_path):
    marker_dir = tmp_path

    def learner_dies_on_first_try(task):
        # Defined here so that Ray ships it by value; the marker file outlives the worker.
        marker = marker_dir / "killed"
        if isinstance(task, TrainingTask) and not marker.exists():
            marker.touch()
            os._exit(1)  # the learner's worker process dies mid-task, as if killed
        return _run(task)

    tasks = _tasks()  # a match batch (runs normally) and a learner (killed once)
    executor = make_executor("ray", max_retries=2)
    assert isinstance(executor, RayExecutor)
    retried = executor.map(learner_dies_on_first_try, tasks)
    executor.close()
    assert (marker_dir / "killed").exists()
    expected = InProcessExecutor().map(_run, tasks)
    assert [_comparable(o) for o in retried] == [_comparable(o) for o in expected]


def test_failures_propagate(ray_cluster, tmp_path):
    marker_dir = tmp_path

    def always_dies(task):
        (marker_dir / "ran").touch()
        os._exit(1)

    with pytest.raises(ray.exceptions.RayError):
        RayExecutor(max_retries=0).map(always_dies, [0])
    assert (marker_dir / "ran").exists()

    def bad(task):
        raise ValueError(f"bad task {task}")

    # The task's own exceptions are not retried and keep their type.
    with pytest.raises(ValueError, match="bad task 7"):
        RayExecutor(max_retries=3).map(bad, [7])


def test_bad_options():
    with pytest.raises(ValueError, match="max_retries must be a non-negative integer"):
        RayExecutor(max_retries=-1)
    with pytest.raises(ValueError, match="num_gpus must be a non-negative number"):
        RayExecutor(num_gpus="one")
