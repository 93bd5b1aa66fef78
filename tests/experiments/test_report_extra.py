"""`detente evaluate` and `detente report` on PSRO-shaped runs: every evaluator, every plot."""

import json

import numpy as np
import pytest

from detente.experiments.cli import main
from detente.experiments.report import load_payoffs
from detente.lib import CsvLogger
from detente.population.payoffs import MatchRecord, PayoffStore

PNG = b"\x89PNG\r\n\x1a\n"
RPS_WEAK = {
    "members": ["rock", "paper", "scissors", "weak"],
    "payoffs": [[0, -1, 1, 1], [1, 0, -1, 1], [-1, 1, 0, 1], [-1, -1, -1, 0]],
}


def test_evaluate_prints_and_writes_every_measure(tmp_path, capsys):
    path = tmp_path / "payoffs.json"
    path.write_text(json.dumps(RPS_WEAK))
    assert main(["evaluate", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    population = result["population"]
    # RPS + a dominated member: one intransitive triple of C(4, 3) = 4, layers [3, 1],
    # effective diversity 1/3 (Balduzzi et al. 2019), Nash averaging gives "weak" -1.
    assert population["intransitive_triples"] == {"count": 1, "total": 4, "fraction": 0.25}
    assert population["nash_clustering"]["sizes"] == [3, 1]
    assert population["nash_clustering"]["layers"][1] == ["weak"]
    assert population["effective_diversity"] == pytest.approx(1 / 3, abs=1e-5)
    assert population["nash_averaging"]["ratings"][3] == pytest.approx(-1.0, abs=1e-5)
    assert set(population["melo"]) >= {"elo_rmse", "melo2_rmse"}
    assert result["meta_game"] is None

    out = tmp_path / "eval"
    assert main(["evaluate", str(path), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "intransitive triples" in text and "effective diversity" in text
    for name in ("payoffs_evaluation", "spinning_top_evaluation", "response_graph_evaluation"):
        assert (out / f"{name}.png").read_bytes().startswith(PNG)
    assert json.loads((out / "evaluation.json").read_text())["population"]["kind"] == "payoff"


def test_evaluate_a_three_player_meta_game(tmp_path, capsys):
    # 3 players, 2 members per seat (unequal ids): meta-game analyses only.
    rng = np.random.default_rng(0)
    seats = [["a0", "a1"], ["b0", "b1"], ["c0", "c1"]]
    path = tmp_path / "meta.json"
    path.write_text(
        json.dumps({"seat_members": seats, "meta_game": rng.normal(size=(3, 2, 2, 2)).tolist()})
    )
    out = tmp_path / "eval"
    assert main(["evaluate", str(path), "--out", str(out)]) == 0
    meta = json.loads((out / "evaluation.json").read_text())["meta_game"]
    assert meta["max_gini_cce_gap"] == pytest.approx(0.0, abs=1e-6)
    assert meta["max_entropy_nash"] is None  # 3-player general-sum
    assert (out / "response_graph_evaluation.png").read_bytes().startswith(PNG)
    assert "3-player meta-game" in capsys.readouterr().out


@pytest.mark.parametrize(
    "payload, match",
    [
        ({"members": ["a", "b"], "payoffs": [[0, 1, 2], [1, 0, 2]]}, "shape"),
        ({"members": ["a", "b"], "payoffs": [[0, float("nan")], [1, 0]]}, "finite"),
        ({"payoffs": [[0, 1], [-1, 0]]}, "'members' is missing"),
        ({"seat_members": [["a"], ["b", "c"]], "meta_game": [[[0, 0]]]}, "shape"),
        ({"seat_members": [["a"], ["b"]]}, "'meta_game' is missing"),
        ({"seat_members": [["a"], ["b"]], "meta_game": [[[0.0]], [[float("inf")]]]}, "finite"),
        ({"table": 1}, "expected 'members' and 'payoffs'"),
    ],
)
def test_bad_payoff_files_fail_clearly(tmp_path, capsys, payload, match):
    path = tmp_path / "payoffs.json"
    path.write_text(json.dumps(payload))
    assert main(["evaluate", str(path)]) == 2
    error = capsys.readouterr().err
    assert match in error and str(path) in error


def _psro_like(root):
    """The files `detente run psro` writes: results.json, metrics.csv, checkpoint/."""
    u = np.array([[0.0, -0.5], [0.5, 0.25]])  # player 0's exact payoffs, zero-sum
    store = PayoffStore(2)
    for i, a in enumerate(["p0_it0", "p0_it1"]):
        for j, b in enumerate(["p1_it0", "p1_it1"]):
            store.add(MatchRecord.exact_values((a, b), (u[i, j], -u[i, j])))
    store.add(MatchRecord.exact_values(("p0_it2", "p1_it0"), (9.0, -9.0)))  # interrupted
    (root / "checkpoint").mkdir(parents=True)
    store.save(root / "checkpoint" / "payoffs.json")
    state = {
        "format_version": 1,
        "iteration": 1,
        "populations": [["p0_it0", "p0_it1"], ["p1_it0", "p1_it1"]],
        "num_payoff_records": 4,
        "config": {"hidden_sizes": [8]},
    }
    (root / "checkpoint" / "state.json").write_text(json.dumps(state))
    rows = [
        {
            "iteration": k,
            "population_size": k + 1,
            "meta_nash_conv": 0.1 / (k + 1),
            "nash_conv": 0.9 / (k + 1),
            "seconds": 1.0,
        }
        for k in range(2)
    ]
    results = {
        "game": "kuhn_poker()",
        "rows": rows,
        "populations": state["populations"],
        "final_meta_strategies": [[0.0, 1.0], [0.0, 1.0]],
    }
    (root / "results.json").write_text(json.dumps(results))
    logger = CsvLogger(root, "metrics")
    for row in rows:
        logger.write(row["iteration"], row)
    logger.close()


def test_report_of_a_psro_run_dir(tmp_path, capsys):
    _psro_like(tmp_path)
    data = load_payoffs(tmp_path / "checkpoint" / "payoffs.json")
    assert data.seat_members == [["p0_it0", "p0_it1"], ["p1_it0", "p1_it1"]]  # state's lists
    assert data.members == ["p0_it0+p1_it0", "p0_it1+p1_it1"]
    # Paired table M[0, 1] = (u0(p0_it0, p1_it1) + u1(p0_it1, p1_it0)) / 2 = (-0.5 - 0.5) / 2;
    # the interrupted iteration's record (9.0) is dropped.
    np.testing.assert_allclose(data.table, [[0.0, -0.5], [0.5, 0.0]])
    assert main(["report", str(tmp_path)]) == 0
    text = (tmp_path / "report.md").read_text()
    assert "## PSRO on kuhn_poker()" in text and "| 1 | 2 | 0.4500 | 0.0500 |" in text
    assert "2-player meta-game" in text and "meta NashConv: max-entropy Nash" in text
    for png in ("response_graph_checkpoint", "spinning_top_checkpoint", "curves_run"):
        assert (tmp_path / "report" / f"{png}.png").read_bytes().startswith(PNG)
        assert f"report/{png}.png" in text
