"""`detente report`: the Markdown report and its plots, from a fake quickstart-like run dir."""

import json

import numpy as np
import pytest

from detente.experiments.cli import main
from detente.experiments.report import read_payoffs
from detente.lib import CsvLogger

PNG = b"\x89PNG\r\n\x1a\n"


def _quickstart_like(root):
    """The files `detente run quickstart` writes (results.json, <game>/metrics.csv) plus the
    optional payoffs, leaderboard and approximate-exploitability files."""
    rows = [
        {
            "game": "kuhn_poker",
            "players": 2,
            "uniform_nash_conv": 11 / 12,
            "trained_nash_conv": 0.2,
            "wall_time": 3.0,
            "steps_per_second": 1000.0,
            "env_steps": 512,
        }
    ]
    (root / "results.json").write_text(json.dumps(rows))
    logger = CsvLogger(root / "kuhn_poker")
    for step in (2, 4, 6):
        metrics = {"loss": 1.0 / step, "policy_loss": -0.1, "value_loss": 0.5 / step}
        metrics.update(episode_return_p0=0.1 * step, episode_return_p1=-0.1 * step, entropy=0.6)
        if step % 4 == 0:
            metrics["nash_conv"] = 1.0 / step
        logger.write(step, metrics)
    members = ["rock", "paper", "scissors", "weak"]
    rps = [[0, -1, 1, 1], [1, 0, -1, 1], [-1, 1, 0, 1], [-1, -1, -1, 0]]
    (root / "payoffs.json").write_text(json.dumps({"members": members, "payoffs": rps}))
    board = root / "leaderboard"
    board.mkdir()
    table_rows = [
        {
            "rank": 1,
            "id": "net1",
            "hash": "abc",
            "rating": 50.0,
            "ci_low": 10.0,
            "ci_high": 90.0,
            "games": 20,
            "score": 0.6,
        },
        {
            "rank": 2,
            "id": "uniform_random",
            "hash": "def",
            "rating": 0.0,
            "ci_low": 0.0,
            "ci_high": 0.0,
            "games": 20,
            "score": 0.4,
        },
    ]
    (board / "leaderboard.json").write_text(
        json.dumps(
            {
                "game": "kuhn_poker()",
                "seed": 0,
                "anchor": "uniform_random",
                "anchor_rating": 0.0,
                "num_games": 20,
                "num_matches": 2,
                "rows": table_rows,
            }
        )
    )
    approx = {
        "game": "kuhn_poker()",
        "nash_conv_lower_bound": 0.9,
        "ci_low": 0.85,
        "ci_high": 0.95,
        "confidence": 0.95,
        "eval_games": 100,
        "per_player_gain": [0.4, 0.5],
        "learning_curves": [[[10, 0.2], [20, 0.4]], [[10, 0.1], [20, 0.3]]],
    }
    (root / "approx_exploitability.json").write_text(json.dumps(approx))


def test_report_of_a_quickstart_like_run(tmp_path, capsys):
    _quickstart_like(tmp_path)
    assert main(["report", str(tmp_path)]) == 0
    assert "report.md" in capsys.readouterr().out
    text = (tmp_path / "report.md").read_text()
    for heading in (
        "## Results (exact NashConv)",
        "## Leaderboards",
        "## Learning curves",
        "## Population meta-game",
        "## Approximate exploitability",
    ):
        assert heading in text
    assert "| kuhn_poker | 2 | 0.9167 | 0.2000 |" in text
    assert "layer 1: rock, paper, scissors" in text  # the RPS cycle beats "weak"
    assert "| 1 | net1 | `abc` | 50.0 | [10.0, 90.0] | 20 |" in text
    images = sorted(p.name for p in (tmp_path / "report").glob("*.png"))
    assert images == [
        "best_responses_run.png",
        "curves_kuhn_poker.png",
        "leaderboard_leaderboard.png",
        "payoffs_run.png",
        "response_graph_run.png",
        "spinning_top_run.png",
    ]
    for name in images:
        assert (tmp_path / "report" / name).read_bytes().startswith(PNG)
        assert f"report/{name}" in text


@pytest.mark.parametrize(
    "payload, match",
    [
        ({"members": ["a", "b"], "payoffs": [[0, float("nan")], [1, 0]]}, r"payoffs\[0\]\[1\]"),
        ({"members": ["a", "b", "c"], "payoffs": [[0, 1], [-1, 0]]}, r"shape \[S, S\] = \[3, 3\]"),
        ({"members": ["a"]}, "'members' and 'payoffs'"),
        ({"members": ["a", "b"], "payoffs": [[0, 1], [1, 0]], "kind": "elo"}, "'kind'"),
        (
            {"members": ["a", "b"], "payoffs": [[0.5, 0.9], [0.9, 0.5]], "kind": "win_rate"},
            "W \\+ W\\^T = 1",
        ),
    ],
)
def test_bad_payoffs_are_refused(tmp_path, payload, match):
    path = tmp_path / "payoffs.json"
    path.write_text(json.dumps(payload).replace("NaN", "NaN"))
    with pytest.raises(ValueError, match=match):
        read_payoffs(path)


def test_bad_run_dirs_exit_with_status_2(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert main(["report", str(tmp_path)]) == 2
    assert "nothing to report" in capsys.readouterr().err
    (tmp_path / "payoffs.json").write_text('{"members": ["a"], "payoffs": [[NaN]]}')
    assert main(["report", str(tmp_path)]) == 2
    assert not (tmp_path / "report.md").exists()


def test_win_rate_payoffs_are_antisymmetrised(tmp_path):
    path = tmp_path / "payoffs.json"
    path.write_text(
        json.dumps({"members": ["a", "b"], "payoffs": [[0.5, 0.8], [0.2, 0.5]], "kind": "win_rate"})
    )
    _, _, antisymmetric = read_payoffs(path)
    np.testing.assert_allclose(antisymmetric, [[0, 0.3], [-0.3, 0]])
