"""A small, fast version of the quickstart run end to end through the CLI."""

import json

from detente.experiments.cli import main


def test_quickstart_end_to_end(tmp_path, capsys):
    status = main(
        [
            "run",
            "quickstart",
            "--run-dir",
            str(tmp_path),
            "--no-progress",
            "--set",
            "trainer.num_updates=4",
            "--set",
            "trainer.batch_size=16",
            "--set",
            "trainer.hidden_sizes=16",
            "--set",
            "trainer.log_every=2",
            "--set",
            "evaluate_every=2",
        ]
    )
    assert status == 0
    out = capsys.readouterr().out
    assert "NashConv uniform" in out and "kuhn_poker(players=3)" in out
    rows = json.loads((tmp_path / "results.json").read_text())
    assert [row["game"] for row in rows] == ["kuhn_poker", "kuhn_poker(players=3)"]
    # Uniform 2-player Kuhn: NashConv 11/12 (OpenSpiel exploitability_test.py).
    assert abs(rows[0]["uniform_nash_conv"] - 11 / 12) < 1e-9
    assert all(row["env_steps"] == 4 * 8 * 16 for row in rows)
    assert (tmp_path / "kuhn_poker" / "metrics.csv").exists()
    assert list((tmp_path / "kuhn_poker").glob("events.out.tfevents.*"))
    assert (tmp_path / "kuhn_poker" / "checkpoint" / "metadata.json").exists()
