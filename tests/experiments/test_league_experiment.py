"""The `league` experiment end to end with tiny settings, through the command line."""

import json

from detente.experiments.cli import main
from detente.experiments.registry import get_experiment
from detente.population.league import LeagueConfig

TINY = [
    "game=kuhn_poker(players=3)",
    "rounds=2",
    "hidden_sizes=8",
    "games_per_profile=2",
    "snapshot_every=2",
    "trainer.num_groups=4",
    "trainer.batch_size=12",
    "trainer.unroll_length=4",
    "trainer.num_updates=2",
    "trainer.segment_length=2",
    "trainer.log_every=2",
    "trainer.ppo.num_epochs=1",
    "trainer.ppo.num_minibatches=1",
]


def test_registered_with_valid_defaults():
    experiment = get_experiment("league")
    assert experiment.config_class is LeagueConfig
    config = LeagueConfig()
    assert config.game == "realpolitik(map=duel,max_years=2)"
    assert len(config.learner_names()) == 3


def test_league_end_to_end(tmp_path, capsys):
    argv = ["run", "league", "--run-dir", str(tmp_path), "--no-progress"]
    for override in TINY:
        argv += ["--set", override]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "League on kuhn_poker(players=3)" in out
    assert "vs initial policy" in out and "intransitive triples" in out
    assert "exact NashConv: main agent" in out
    results = json.loads((tmp_path / "results.json").read_text())
    assert len(results["member_hashes"]) == 1 + 3 * 2
    evaluation = results["evaluation"]
    assert evaluation["order"][0] in results["member_hashes"]
    assert abs(evaluation["transitive_fraction"] + evaluation["cyclic_fraction"] - 1) < 1e-9
    assert evaluation["nash_conv_main"] > 0
    assert (tmp_path / "metrics.csv").read_text().count("\n") == 1 + 2
    assert (tmp_path / "leaderboard.txt").is_file()
    assert (tmp_path / "checkpoint" / "state.json").is_file()
