"""End-to-end test of the `crossplay` experiment at tiny settings, through the CLI."""

from __future__ import annotations

import csv
import itertools
import json

import pytest

from detente.experiments.cli import main
from detente.experiments.crossplay_experiment import AGENTS, CrossplayConfig
from detente.experiments.registry import get_experiment


def test_registered_and_self_play_config():
    assert get_experiment("crossplay").config_class is CrossplayConfig
    self_play = CrossplayConfig().self_play_config()
    assert (self_play.num_main_exploiters, self_play.num_league_exploiters) == (0, 0)
    assert self_play.self_play_fraction == 1.0


def test_backend_reaches_both_runs():
    jax_duel = "realpolitik_jax(map=duel,max_years=2)"
    config = CrossplayConfig(game=jax_duel, backend="jax")
    for league in (config.league_config(), config.self_play_config()):
        assert (league.game, league.backend) == (jax_duel, "jax")
    assert CrossplayConfig().self_play_config().backend == "host"
    with pytest.raises(ValueError, match="needs a JAX-only game"):
        CrossplayConfig(backend="jax")  # the default game runs on the host's RealpolitikEnv


def test_rejects_bad_games_per_profile():
    with pytest.raises(ValueError, match="games_per_profile"):
        CrossplayConfig(games_per_profile=0)


def test_tiny_run(tmp_path):
    run_dir = tmp_path / "crossplay"
    argv = ["run", "crossplay", "--no-progress", "--run-dir", str(run_dir)]
    for override in (
        "league.rounds=1",
        "league.trainer.batch_size=8",
        "league.trainer.num_updates=2",
        "league.snapshot_every=2",
        "league.trainer.ppo.num_epochs=1",
        "league.trainer.ppo.num_minibatches=1",
        "games_per_profile=2",
    ):
        argv += ["--set", override]
    assert main(argv) == 0
    with open(run_dir / "crossplay.csv") as f:
        rows = list(csv.DictReader(f))
    # Every ordered pair of agents on the duel board's two seats, both orders.
    assert [(r["seat0"], r["seat1"]) for r in rows] == list(itertools.product(AGENTS, repeat=2))
    for row in rows:
        assert int(row["games"]) == 2
        for p in range(2):
            assert -1.0 - 1e-9 <= float(row[f"return{p}"]) <= 1.0 + 1e-9
    results = json.loads((run_dir / "results.json").read_text())
    assert results["league_updates"] == results["self_play_updates"] > 0
    assert set(results["member_hashes"]) == set(AGENTS)
