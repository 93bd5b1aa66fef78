"""The `self_play` experiment: both backends end to end, a learning check, its score, bad input."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

from detente.agents import Learner, PPOConfig, make_policy_value_network
from detente.experiments.cli import main
from detente.experiments.registry import get_experiment
from detente.experiments.self_play_experiment import (
    SelfPlayExperimentConfig,
    _game_scores,
    run_self_play_experiment,
)
from detente.games import jax_games
from detente.population.pfsp import pairwise_score
from detente.population.self_play import SelfPlayConfig, run_initial_params


def _cli(run_dir, game, *overrides):
    argv = ["run", "self_play", "--no-progress", "--run-dir", str(run_dir), "--set", f"game={game}"]
    for override in overrides:
        argv += ["--set", override]
    assert main(argv) == 0
    return json.loads((run_dir / "results.json").read_text())


def test_learns_to_defect_on_the_jax_backend_reproducibly(tmp_path):
    """Self-play on the prisoner's dilemma learns to defect, which beats the near-uniform
    initial policy (score about 3/4: it beats cooperation and ties defection)."""
    settings = (
        "trainer.batch_size=64",
        "trainer.unroll_length=4",
        "trainer.num_updates=30",
        "trainer.ppo.learning_rate=0.01",
        "eval_games=400",
    )
    results = _cli(tmp_path / "a", "matrix_pd", *settings)
    assert results["backend"] == "jax" and results["updates"] == 30
    assert results["env_steps"] == 30 * 4 * 64
    assert results["score_vs_initial"] > 0.72  # 0.63 after one update, 0.77 after 30
    assert [p["seats"] for p in results["profiles"]] == [
        ["trained", "initial"],
        ["initial", "trained"],
    ]
    # Defection earns more than the initial policy's mixture at both seats.
    first, second = (p["mean_returns"] for p in results["profiles"])
    assert first[0] > first[1] and second[1] > second[0]
    again = _cli(tmp_path / "b", "matrix_pd", *settings)
    for key in ("score_vs_initial", "profiles", "member_hashes"):
        assert again[key] == results[key]


def test_host_backend_and_resume(tmp_path):
    config = SelfPlayExperimentConfig(
        game="kuhn_poker(players=3)",
        trainer=SelfPlayConfig(
            batch_size=16, unroll_length=4, num_updates=3, checkpoint_every=3, log_every=1
        ),
        eval_games=16,
    )
    assert config.resolved_backend() == "openspiel"
    result = run_self_play_experiment(config, tmp_path, progress=False)
    assert result.backend == "openspiel" and result.env_steps == 3 * 4 * 16
    # One profile per seat, the trained policy at that seat.
    assert [tuple(p["seats"]) for p in result.profiles] == [
        ("trained", "initial", "initial"),
        ("initial", "trained", "initial"),
        ("initial", "initial", "trained"),
    ]
    assert 0.0 <= result.score_vs_initial <= 1.0
    resumed = run_self_play_experiment(config, tmp_path, progress=False)
    assert resumed.env_steps == result.env_steps  # nothing trained again
    assert result.steady_steps_per_second > 0 and resumed.steady_steps_per_second is None
    assert resumed.score_vs_initial == result.score_vs_initial
    assert (tmp_path / "metrics.csv").exists()


def test_run_initial_params_are_the_learners():
    network = make_policy_value_network(jax_games.make("matrix_rps").spec, hidden_sizes=(8,))
    learner = Learner(network, PPOConfig(), jax.random.fold_in(jax.random.key(7), 0))
    for x, y in zip(
        jax.tree.leaves(run_initial_params(network, 7)),
        jax.tree.leaves(learner.params),
        strict=True,
    ):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_game_scores_are_pairwise_scores_game_by_game():
    rng = np.random.default_rng(0)
    returns = rng.integers(0, 3, size=(50, 3)).astype(np.float64)
    scores = _game_scores(returns, 1)
    expected = np.mean([pairwise_score(returns[:, 1], returns[:, q]) for q in (0, 2)])
    np.testing.assert_allclose(scores.mean(), expected)
    np.testing.assert_allclose(_game_scores(np.array([[1.0, 0.0, 1.0]]), 0), [0.75])


def test_bad_config_names_the_value():
    assert get_experiment("self_play").config_class is SelfPlayExperimentConfig
    with pytest.raises(ValueError, match="backend must be one of .* got 'gpu'"):
        SelfPlayExperimentConfig(backend="gpu")
    with pytest.raises(ValueError, match="eval_games must be an integer >= 1, got 0"):
        SelfPlayExperimentConfig(eval_games=0)
    with pytest.raises(ValueError, match="host_parts=2 .* JAX backend only"):
        SelfPlayExperimentConfig(game="kuhn_poker", host_parts=2)
    with pytest.raises(ValueError, match="unknown JAX game 'realpolitik_jx'"):
        SelfPlayExperimentConfig(game="realpolitik_jx(map=duel)", backend="jax")
    with pytest.raises(ValueError, match="map"):
        SelfPlayExperimentConfig(game="realpolitik_jax(map=nowhere)")
    with pytest.raises(ValueError, match="unknown game 'kuhn_pokr'"):
        SelfPlayExperimentConfig(game="kuhn_pokr", backend="openspiel")
    # The host backend takes a JAX-only game too (on `JaxGameEnv`).
    host = SelfPlayExperimentConfig(game="realpolitik_jax(map=duel)", backend="openspiel")
    assert host.resolved_backend() == "openspiel"
