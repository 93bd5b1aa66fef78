"""PSRO: NashConv decreases on a matrix game, determinism, exact resume, bad input."""

import dataclasses
import math

import jax
import numpy as np
import pytest

from detente.agents import PPOConfig
from detente.lib import CheckpointError
from detente.population import OpponentTrainingConfig, PSROConfig, run_psro
from detente.population.psro import _network

BEST_RESPONSE = OpponentTrainingConfig(
    batch_size=32,
    unroll_length=2,
    num_updates=20,
    num_groups=4,
    segment_length=10,
    ppo=PPOConfig(num_epochs=2, num_minibatches=2, learning_rate=1e-2, entropy_cost=0.0),
)
RPS = PSROConfig(
    game="matrix_rps",
    iterations=3,
    meta_solver="zero_sum_nash",
    hidden_sizes=(8,),
    warm_start=False,
    best_response=BEST_RESPONSE,
)
KUHN = PSROConfig(
    game="kuhn_poker",
    iterations=2,
    meta_solver="zero_sum_nash",
    hidden_sizes=(8,),
    best_response=dataclasses.replace(
        BEST_RESPONSE, batch_size=16, unroll_length=4, num_updates=4, segment_length=2
    ),
)


def rock_params(config):
    """Initial parameters that play rock with probability ~0.995 (far from equilibrium)."""
    from detente.games import load
    from detente.lib import env_spec_for

    network = _network(env_spec_for(load(config.game)), config.hidden_sizes)
    params = jax.tree.map(np.zeros_like, network.init(jax.random.key(0)))
    head = next(k for k in params if k.endswith("policy_head"))
    params[head]["b"][0] = 6.0
    return params


def test_psro_reduces_nash_conv_on_rock_paper_scissors():
    result = run_psro(RPS, initial_params=[rock_params(RPS)] * 2)
    nash_conv = [row["nash_conv"] for row in result.rows]
    assert [row["iteration"] for row in result.rows] == [0, 1, 2, 3]
    assert nash_conv[0] > 1.9  # both players nearly always play rock: each gains ~1
    assert nash_conv[-1] < 0.5 * nash_conv[0]
    assert result.populations == [
        ["p0_it0", "p0_it1", "p0_it2", "p0_it3"],
        ["p1_it0", "p1_it1", "p1_it2", "p1_it3"],
    ]
    # The exact estimator fills every seat assignment of the two populations.
    assert len(result.payoffs) == 16
    assert result.population["p0_it1"].role == "best_response"
    assert all(math.isclose(sum(s), 1.0) for it in result.meta_strategies for s in it)


def test_best_response_gains_are_bounded_by_exact_best_responses():
    # The diagnostic rows: a learned best response never gains more than the exact one, and the
    # exact gains sum to the row's NashConv. 3-player Kuhn exercises per-seat populations.
    config = dataclasses.replace(
        KUHN, game="kuhn_poker(players=3)", iterations=1, meta_solver="regret_matching"
    )
    result = run_psro(config)
    first, last = result.rows
    for p in range(3):
        assert first[f"br_gain_p{p}"] <= first[f"exact_gain_p{p}"] + 1e-9
        assert first[f"exact_gain_p{p}"] >= 0.0
    assert math.isclose(sum(first[f"exact_gain_p{p}"] for p in range(3)), first["nash_conv"])
    assert "br_gain_p0" not in last  # the last iteration trains no best responses


@pytest.mark.parametrize("shared", [False, True])
def test_meta_best_response_gains_equal_the_exact_gains_with_exact_payoffs(shared):
    from detente.population.psro import _Run

    if shared:  # the learner plays both seats of rock-paper-scissors
        config = dataclasses.replace(RPS, iterations=2, population="shared")
        result = run_psro(config, initial_params=[rock_params(RPS)])
    else:
        config = KUHN
        result = run_psro(config)
    run = _Run(config, None)
    for k, row in enumerate(result.rows[:-1]):
        populations = [ids[: k + 2] for ids in result.populations]
        sigma = result.meta_strategies[k]
        gains = run.meta_best_response_gains(result.payoffs, populations, sigma)
        exact = [row[f"br_gain_p{p}"] for p in range(2)]
        if shared:  # the seat-averaged meta-game: the mean of the seats' gains
            assert gains == {"meta_br_gain": pytest.approx(np.mean(exact), abs=1e-9)}
        else:
            assert [gains[f"meta_br_gain_p{p}"] for p in range(2)] == pytest.approx(exact, abs=1e-9)
    assert all(abs(v) > 1e-3 for v in gains.values())


def _snapshot(result):
    rows = [{k: v for k, v in row.items() if k != "seconds"} for row in result.rows]
    return result.population.hashes(), result.payoffs.records, rows


def test_resume_after_a_kill_equals_the_uninterrupted_run(tmp_path):
    uninterrupted = run_psro(KUHN)
    # "Kill" after iteration 1, then resume in a new call to the full length.
    run_psro(dataclasses.replace(KUHN, iterations=1), run_dir=tmp_path)
    resumed = run_psro(KUHN, run_dir=tmp_path)
    assert _snapshot(resumed) == _snapshot(uninterrupted)
    assert len(resumed.population) == 6 and all(
        isinstance(row["nash_conv"], float) for row in resumed.rows
    )
    # Running a finished run again changes nothing.
    again = run_psro(KUHN, run_dir=tmp_path)
    assert _snapshot(again) == _snapshot(uninterrupted)
    # Another seed gives other members.
    other = run_psro(dataclasses.replace(KUHN, seed=1, iterations=1))
    assert other.population.hashes()["p0_it1"] != uninterrupted.population.hashes()["p0_it1"]
    with pytest.raises(CheckpointError, match=r"different config \(fields \['meta_solver'\]\)"):
        run_psro(dataclasses.replace(KUHN, meta_solver="uniform"), run_dir=tmp_path)


def test_resume_ignores_what_an_interrupted_iteration_left(tmp_path):
    from detente.population import MatchRecord
    from detente.population.run_state import load_run

    run_psro(dataclasses.replace(KUHN, iterations=1), run_dir=tmp_path)
    # Simulate a kill after payoffs.json was written but before state.json: extra records.
    state, population, payoffs = load_run(tmp_path, rock_params(KUHN))
    payoffs.add(MatchRecord.exact_values(("p0_it0", "p1_it0"), [9.0, -9.0]))
    payoffs.save(tmp_path / "checkpoint" / "payoffs.json")
    resumed = run_psro(KUHN, run_dir=tmp_path)
    assert _snapshot(resumed) == _snapshot(run_psro(KUHN))


def test_sampled_estimator_and_shared_population():
    sampled = run_psro(
        dataclasses.replace(
            KUHN,
            iterations=1,
            payoff_estimator="sampled",
            games_per_profile=16,
            exact_evaluation="always",
        )
    )
    table = sampled.payoffs.payoff_tensor(sampled.populations)
    assert table.counts.tolist() == [[16, 16], [16, 16]] and not table.exact.any()
    assert all(np.isfinite(row["nash_conv"]) for row in sampled.rows)
    shared = run_psro(
        dataclasses.replace(RPS, iterations=1, population="shared", meta_solver="uniform"),
        initial_params=[rock_params(RPS)],
    )
    assert shared.shared and shared.populations == [["it0", "it1"]]
    np.testing.assert_allclose(shared.meta_strategies[-1][0], [0.5, 0.5])


def test_one_vs_rest_meta_game():
    # Two players: the one-vs-rest table is the seat-averaged game, so the runs are identical.
    config = dataclasses.replace(RPS, iterations=2, population="shared")
    full = run_psro(config, initial_params=[rock_params(RPS)])
    reduced = run_psro(
        dataclasses.replace(config, meta_game="one_vs_rest"), initial_params=[rock_params(RPS)]
    )
    assert reduced.population.hashes() == full.population.hashes()
    for a, b in zip(full.meta_strategies, reduced.meta_strategies, strict=True):
        np.testing.assert_allclose(a[0], b[0], atol=1e-9)
    # Three players, S = 3 members: S^2 N - S (N - 1) = 21 profiles instead of S^N = 27.
    kuhn3 = dataclasses.replace(
        KUHN,
        game="kuhn_poker(players=3)",
        population="shared",
        meta_solver="projected_replicator_dynamics",
        exact_evaluation="never",
    )
    small = run_psro(dataclasses.replace(kuhn3, meta_game="one_vs_rest"))
    assert len(small.payoffs) == 21
    assert np.isclose(small.meta_strategies[-1][0].sum(), 1.0)
    assert len(run_psro(kuhn3).payoffs) == 27
    with pytest.raises(ValueError, match="meta_game='one_vs_rest' needs one population shared"):
        run_psro(dataclasses.replace(KUHN, meta_game="one_vs_rest"))


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("meta_solver", "nash", "meta_solver 'nash' is not one of"),
        ("payoff_estimator", "guess", "payoff_estimator 'guess' is not one of"),
        ("payoff_estimator", "none", "payoff_estimator='none' needs meta_solver='uniform'"),
        ("population", "league", "population 'league' is not one of"),
        ("meta_game", "tensor", "meta_game 'tensor' is not one of"),
        ("exact_evaluation", "yes", "exact_evaluation 'yes' is not one of"),
        ("iterations", -1, "iterations must be a non-negative integer"),
        ("games_per_profile", 0, "games_per_profile must be a positive integer"),
        ("hidden_sizes", (), "hidden_sizes must be positive integers"),
        ("game", "kuhn_pokr", "unknown game"),
    ],
)
def test_bad_config(field, value, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(KUHN, **{field: value})


def test_bad_initial_params():
    with pytest.raises(ValueError, match=r"one parameter pytree per population \(2\), got 1"):
        run_psro(KUHN, initial_params=[rock_params(KUHN)])


def test_psro_on_a_jax_only_game(tmp_path):
    """A JAX-only game (no game tree): sampled payoffs, best responses and matches on the
    device (`backend="jax"`) or on `JaxGameEnv` from the host; the run resumes exactly."""
    from detente.population.psro import _comparable

    config = PSROConfig(
        game="realpolitik_jax(map=duel,max_years=2)",  # compiled by the league's tests too
        iterations=2,
        meta_solver="zero_sum_nash",
        payoff_estimator="sampled",
        games_per_profile=2,
        hidden_sizes=(8,),
        best_response=OpponentTrainingConfig(
            batch_size=8,
            unroll_length=4,
            num_updates=2,
            num_groups=2,
            segment_length=2,
            ppo=PPOConfig(num_epochs=1, num_minibatches=1),
        ),
        backend="jax",
    )
    run_psro(dataclasses.replace(config, iterations=1), run_dir=tmp_path)
    result = run_psro(config, run_dir=tmp_path)  # resumed after iteration 1
    assert result.populations == [["p0_it0", "p0_it1", "p0_it2"], ["p1_it0", "p1_it1", "p1_it2"]]
    table = result.payoffs.payoff_tensor(result.populations)
    assert (table.counts == 2).all() and not table.exact.any()
    # Constant-sum scoring: the two powers' mean returns split each game's points.
    np.testing.assert_allclose(table.payoffs.sum(0), table.payoffs.sum(0)[0, 0], atol=1e-5)
    assert all(row["nash_conv"] is None for row in result.rows)  # no exact evaluation
    # The best responses' gains in the empirical meta-game, for every iteration that trains.
    for row in result.rows[:-1]:
        assert all(np.isfinite(row[f"meta_br_gain_p{p}"]) for p in range(2))
    assert "meta_br_gain_p0" not in result.rows[-1]
    assert all(np.isfinite(row["meta_nash_conv"]) for row in result.rows)
    assert _snapshot(result) == _snapshot(run_psro(config))
    host_config = dataclasses.replace(config, backend="host")
    host = run_psro(dataclasses.replace(host_config, iterations=1))
    hashes = result.population.hashes()
    assert host.population.hashes()["p0_it0"] == hashes["p0_it0"]  # the same initial members
    assert host.population.hashes()["p0_it1"] != hashes["p0_it1"]  # keys consumed differently
    # A checkpoint written before the field existed trained on the host.
    old = {k: v for k, v in dataclasses.asdict(host_config).items() if k != "backend"}
    assert _comparable(old) == _comparable(dataclasses.asdict(host_config))
    assert _comparable(old) != _comparable(dataclasses.asdict(config))
    with pytest.raises(CheckpointError, match=r"fields \['backend'\]"):
        run_psro(host_config, run_dir=tmp_path)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"backend": "gpu"}, r"backend must be one of \('host', 'jax'\), got 'gpu'"),
        ({"backend": "jax"}, "backend='jax' needs a JAX-only game"),
        ({"game": "realpolitik_jax(map=duel)"}, "payoff_estimator='exact' needs a game tree"),
        (
            {
                "game": "realpolitik_jax(map=duel)",
                "payoff_estimator": "sampled",
                "exact_evaluation": "always",
            },
            "exact_evaluation='always' needs a game tree",
        ),
        ({"game": "realpolitik_jax(map=dule)", "payoff_estimator": "sampled"}, "dule"),
    ],
)
def test_bad_backend_or_jax_only_config(overrides, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(KUHN, **overrides)
