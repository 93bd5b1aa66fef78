"""The `psro` experiment runs from the command line and writes its outputs."""

import csv
import json

from detente.experiments.cli import main


def test_cli_runs_psro_and_writes_metrics_and_population(tmp_path, capsys):
    overrides = [
        "game=matrix_rps",
        "iterations=1",
        "meta_solver=zero_sum_nash",
        "hidden_sizes=8",
        "best_response.batch_size=32",
        "best_response.unroll_length=2",
        "best_response.num_updates=2",
        "best_response.num_groups=4",
        "best_response.ppo.num_epochs=2",
        "best_response.ppo.num_minibatches=2",
        "best_response.ppo.learning_rate=0.01",
        "best_response.ppo.entropy_cost=0.0",
    ]
    argv = ["run", "psro", "--run-dir", str(tmp_path), "--no-progress"]
    for override in overrides:
        argv += ["--set", override]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "PSRO on matrix_rps()" in out and "NashConv" in out and "BR/exact gain" in out
    with open(tmp_path / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(row["step"]) for row in rows] == [0, 1] and "nash_conv" in rows[0]
    # The best responses' exact gains against the exact best responses', per seat.
    assert float(rows[0]["br_gain_p0"]) <= float(rows[0]["exact_gain_p0"]) + 1e-9
    results = json.loads((tmp_path / "results.json").read_text())
    assert len(results["rows"]) == 2 and len(results["member_hashes"]) == 4
    assert (tmp_path / "checkpoint" / "population" / "index.json").is_file()
    assert main(["run", "psro", "--set", "meta_solver=nash"]) == 2
    assert "meta_solver 'nash' is not one of" in capsys.readouterr().err
