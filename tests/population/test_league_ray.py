"""The league on the executor interface: same run in-process and on Ray, tasks through `map`.

Runs on a local 2-CPU Ray instance started (and shut down) by the module fixture. Skipped
when Ray is not installed (`pip install 'detente[ray]'`).
"""

import shutil
import tempfile

import pytest

ray = pytest.importorskip("ray")

from detente.population import OpponentTrainingConfig  # noqa: E402
from detente.population.execution import InProcessExecutor  # noqa: E402
from detente.population.league import LeagueConfig, run_league  # noqa: E402
from detente.population.ray_backend import RayExecutor  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:os.fork\\(\\) was called:RuntimeWarning")

CONFIG = LeagueConfig(
    game="kuhn_poker",
    rounds=2,
    num_main=1,
    num_main_exploiters=1,
    num_league_exploiters=1,
    snapshot_every=8,  # the first round's snapshots come from the threshold checks
    snapshot_threshold=0.0,
    games_per_profile=4,
    hidden_sizes=(8,),
    trainer=OpponentTrainingConfig(
        batch_size=8, unroll_length=4, num_updates=2, num_groups=4, segment_length=2, log_every=2
    ),
)


@pytest.fixture(scope="module")
def ray_cluster():
    temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=temp_dir)
    yield
    ray.shutdown()
    shutil.rmtree(temp_dir, ignore_errors=True)


class CountingExecutor(InProcessExecutor):
    def __init__(self):
        self.calls = []

    def map(self, fn, tasks):
        self.calls.append((fn.__name__, len(tasks)))
        return super().map(fn, tasks)


def _snapshot(result):
    rows = [{k: v for k, v in row.items() if k != "seconds"} for row in result.rows]
    return result.population.hashes(), result.payoffs.records, rows, result.scores.to_json()


def test_league_same_with_inprocess_and_ray(ray_cluster):
    counting = CountingExecutor()
    local = run_league(CONFIG, executor=counting)
    # Every round's three learners go through one map call.
    assert counting.calls.count(("run_training_task", 3)) == CONFIG.rounds
    assert ("run_match_task", 1) in counting.calls
    assert len(local.population) > 1
    executor = RayExecutor()
    try:
        remote = run_league(CONFIG, executor=executor)
        assert executor._remote is not None  # its tasks ran on Ray
    finally:
        executor.close()
    assert _snapshot(remote) == _snapshot(local)
    assert _snapshot(run_league(CONFIG)) == _snapshot(local)  # config.executor="inprocess"
