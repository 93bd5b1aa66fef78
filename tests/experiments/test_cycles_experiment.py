"""End-to-end test of the `cycles` experiment at tiny settings, through the CLI."""

from __future__ import annotations

import csv
import json

import pytest

from detente.experiments.cli import main
from detente.experiments.cycles_experiment import CyclesConfig
from detente.experiments.registry import get_experiment


def test_registered():
    assert get_experiment("cycles").config_class is CyclesConfig


def test_rejects_unknown_method():
    with pytest.raises(ValueError, match="methods"):
        CyclesConfig(methods=("self_play", "league_of_legends"))


def test_tiny_run_on_rps(tmp_path):
    run_dir = tmp_path / "cycles"
    status = main(
        [
            "run",
            "cycles",
            "--no-progress",
            "--run-dir",
            str(run_dir),
            "--set",
            "games=matrix_rps",
            "--set",
            "methods=self_play,psro",
            "--set",
            "self_play.num_updates=20",
            "--set",
            "self_play.batch_size=32",
            "--set",
            "self_play.unroll_length=2",
            "--set",
            "self_play.ppo.num_epochs=1",
            "--set",
            "self_play.ppo.num_minibatches=1",
            "--set",
            "evaluate_every=10",
            "--set",
            "psro.iterations=3",
            "--set",
            "psro.best_response.batch_size=32",
            "--set",
            "psro.best_response.num_groups=4",
            "--set",
            "psro.best_response.num_updates=15",
            "--set",
            "psro.best_response.unroll_length=2",
            "--set",
            "psro.best_response.ppo.num_epochs=1",
            "--set",
            "psro.best_response.ppo.num_minibatches=1",
        ]
    )
    assert status == 0
    assert (run_dir / "cycles_matrix_rps.png").stat().st_size > 0
    with open(run_dir / "curves.csv") as f:
        rows = list(csv.DictReader(f))
    methods = {row["method"] for row in rows}
    assert methods == {"self_play", "psro"}
    for row in rows:
        # RPS NashConv is between 0 (equilibrium) and 2 (both players pure).
        assert -1e-9 <= float(row["nash_conv"]) <= 2.0 + 1e-9
    psro = [float(row["nash_conv"]) for row in rows if row["method"] == "psro"]
    assert len(psro) == 4
    # PSRO starts from a policy biased toward rock (NashConv ~1.36) and, once its population
    # holds rock, paper and scissors responses, mixes them toward the equilibrium.
    assert psro[-1] < psro[0]
    self_play = [row for row in rows if row["method"] == "self_play"]
    assert [int(row["step"]) for row in self_play] == [10, 20]
    summary = json.loads((run_dir / "results.json").read_text())
    assert {row["method"] for row in summary} == methods


def test_tiny_league_run_and_resume(tmp_path):
    run_dir = tmp_path / "cycles"
    argv = [
        "run",
        "cycles",
        "--no-progress",
        "--run-dir",
        str(run_dir),
        "--set",
        "games=matrix_rps",
        "--set",
        "methods=league",
        "--set",
        "league.rounds=2",
        "--set",
        "league.num_main_exploiters=0",
        "--set",
        "league.num_league_exploiters=0",
        "--set",
        "league.snapshot_every=2",
        "--set",
        "league.games_per_profile=4",
        "--set",
        "league.trainer.batch_size=16",
        "--set",
        "league.trainer.num_updates=2",
        "--set",
        "league.trainer.unroll_length=2",
        "--set",
        "league.trainer.ppo.num_epochs=1",
        "--set",
        "league.trainer.ppo.num_minibatches=1",
    ]
    assert main(argv) == 0
    with open(run_dir / "curves.csv") as f:
        rows = list(csv.DictReader(f))
    # The initial member, then the main agent's snapshot after each of the 2 rounds; and the
    # meta-Nash mixture of the league's members after rounds 0, 1, 2.
    assert [(row["method"], int(row["step"])) for row in rows] == [
        ("league", 0),
        ("league", 1),
        ("league", 2),
        ("league_nash", 0),
        ("league_nash", 1),
        ("league_nash", 2),
    ]
    assert all(0.0 <= float(row["nash_conv"]) <= 2.0 + 1e-9 for row in rows)
    # Round 0: the league is its initial member alone, so both curves start at the same value.
    assert rows[0]["nash_conv"] == rows[3]["nash_conv"]
    # A second call reuses the finished curve instead of training again.
    stored = (run_dir / "matrix_rps" / "league" / "curve.json").read_text()
    assert main(argv) == 0
    with open(run_dir / "curves.csv") as f:
        assert list(csv.DictReader(f)) == rows
    assert (run_dir / "matrix_rps" / "league" / "curve.json").read_text() == stored
    # ...and refuses one stored under another config.
    assert main([*argv, "--set", "league.trainer.num_updates=3"]) == 2
