"""End-to-end test of the `psro_comparison` experiment at tiny settings, through the CLI."""

from __future__ import annotations

import csv
import dataclasses
import random

import numpy as np
import pytest

from detente.experiments.cli import main
from detente.experiments.psro_comparison import PSROComparisonConfig, _openspiel_curve
from detente.experiments.registry import get_experiment

# NashConv of the uniform random policy in 2-player Kuhn poker: 11/12 (OpenSpiel's
# exploitability_test.py gives exploitability 11/24 = NashConv / 2).
_UNIFORM_KUHN_NASH_CONV = 11 / 12


def test_registered():
    assert get_experiment("psro_comparison").config_class is PSROComparisonConfig


def test_rejects_nash_meta_solver():
    with pytest.raises(ValueError, match="openspiel_meta_solver"):
        PSROComparisonConfig(openspiel_meta_solver="nash")


def test_tiny_run_on_kuhn(tmp_path):
    run_dir = tmp_path / "comparison"
    status = main(
        [
            "run",
            "psro_comparison",
            "--no-progress",
            "--run-dir",
            str(run_dir),
            "--set",
            "games=kuhn_poker",
            "--set",
            "iterations=1",
            "--set",
            "detente.best_response.batch_size=32",
            "--set",
            "detente.best_response.num_groups=4",
            "--set",
            "detente.best_response.num_updates=3",
            "--set",
            "detente.best_response.unroll_length=2",
            "--set",
            "detente.best_response.ppo.num_epochs=1",
            "--set",
            "detente.best_response.ppo.num_minibatches=1",
            "--set",
            "openspiel_sims_per_entry=10",
            "--set",
            "openspiel_prd_iterations=100",
        ]
    )
    assert status == 0
    assert (run_dir / "psro_kuhn_poker.png").stat().st_size > 0
    with open(run_dir / "curves.csv") as f:
        rows = list(csv.DictReader(f))
    openspiel = [row for row in rows if row["implementation"] == "openspiel"]
    detente = [row for row in rows if row["implementation"] == "detente"]
    assert [int(r["iteration"]) for r in openspiel] == [0, 1]
    assert [int(r["iteration"]) for r in detente] == [0, 1]
    # OpenSpiel starts from the uniform policy; one exact best response per player lowers
    # NashConv.
    assert float(openspiel[0]["nash_conv"]) == pytest.approx(_UNIFORM_KUHN_NASH_CONV, abs=1e-9)
    assert float(openspiel[1]["nash_conv"]) < float(openspiel[0]["nash_conv"])
    assert {r["oracle"] for r in openspiel} == {"exact"}
    assert detente[0]["oracle"].startswith("ppo(")
    for row in detente:
        assert 0.0 <= float(row["nash_conv"]) < 3.0


def test_openspiel_curve_is_seeded_and_leaves_the_global_generators_as_they_were():
    config = PSROComparisonConfig(
        iterations=2, openspiel_sims_per_entry=5, openspiel_prd_iterations=100
    )
    random.seed(7)
    np.random.seed(7)  # noqa: NPY002
    python_state, numpy_draw = random.getstate(), np.random.get_state()[1].copy()  # noqa: NPY002

    def curve(seed):
        points = _openspiel_curve(dataclasses.replace(config, openspiel_seed=seed), "kuhn_poker")
        return [p.nash_conv for p in points]

    first = curve(0)
    assert curve(0) == first  # bit for bit
    assert curve(1) != first  # psro_v2's payoff sampling draws from the seeded generators
    assert random.getstate() == python_state
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_draw)  # noqa: NPY002
    with pytest.raises(ValueError, match="openspiel_seed must be a non-negative integer"):
        PSROComparisonConfig(openspiel_seed=-1)
