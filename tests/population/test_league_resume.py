"""A league run killed with SIGKILL and resumed ends as an uninterrupted run with the same seed."""

import dataclasses
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from detente.agents import PPOConfig
from detente.lib import CheckpointError
from detente.population import OpponentTrainingConfig
from detente.population.league import LeagueConfig, run_league

# The same shapes as tests/population/test_league.py, so one pytest process compiles once.
CONFIG = LeagueConfig(
    game="kuhn_poker(players=3)",
    rounds=4,
    hidden_sizes=(8,),
    games_per_profile=2,
    snapshot_every=2,
    snapshot_threshold=None,
    trainer=OpponentTrainingConfig(
        batch_size=12,
        unroll_length=4,
        num_updates=2,
        num_groups=4,
        segment_length=2,
        log_every=2,
        ppo=PPOConfig(num_epochs=1, num_minibatches=1),
    ),
)
OVERRIDES = {
    "game": "kuhn_poker(players=3)",
    "rounds": "4",
    "hidden_sizes": "8",
    "games_per_profile": "2",
    "snapshot_every": "2",
    "snapshot_threshold": "none",
    "trainer.num_groups": "4",  # before batch_size: each override is validated in turn
    "trainer.batch_size": "12",
    "trainer.unroll_length": "4",
    "trainer.num_updates": "2",
    "trainer.segment_length": "2",
    "trainer.log_every": "2",
    "trainer.ppo.num_epochs": "1",
    "trainer.ppo.num_minibatches": "1",
}


def _round(run_dir: pathlib.Path) -> int:
    try:
        return json.loads((run_dir / "checkpoint" / "state.json").read_text())["round"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return -1


def _same(a, b):
    assert a.population.hashes() == b.population.hashes()
    assert a.payoffs.records == b.payoffs.records
    assert a.scores.to_json() == b.scores.to_json()
    for name in a.states:
        jax.tree.map(np.testing.assert_array_equal, a.states[name].params, b.states[name].params)


def test_sigkill_and_resume(tmp_path):
    killed = tmp_path / "killed"
    command = [sys.executable, "-m", "detente", "run", "league", "--run-dir", str(killed)]
    command += ["--no-progress"]
    for key, value in OVERRIDES.items():
        command += ["--set", f"{key}={value}"]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ}
    )
    try:
        deadline = time.monotonic() + 240
        while _round(killed) < 1 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    stopped_at = _round(killed)
    assert 1 <= stopped_at < CONFIG.rounds

    resumed = run_league(CONFIG, run_dir=killed)
    uninterrupted = run_league(CONFIG, run_dir=tmp_path / "whole")
    _same(resumed, uninterrupted)
    assert len(resumed.population) == 1 + 3 * CONFIG.rounds  # every learner snapshots each round
    # Resuming a finished run changes nothing; another config is refused.
    _same(run_league(CONFIG, run_dir=killed), uninterrupted)
    with pytest.raises(CheckpointError, match="different config"):
        run_league(dataclasses.replace(CONFIG, seed=1), run_dir=killed)
