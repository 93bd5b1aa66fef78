"""The payoffs.json export of a PayoffStore, leaderboard win-rate tables and Population pools."""

import json

import jax
import numpy as np
import pytest

from detente.agents import make_policy_value_network
from detente.experiments.report import load_payoffs
from detente.games import load
from detente.lib import env_spec_for
from detente.population.leaderboard_runner import (
    PAYOFFS_JSON,
    load_pool,
    pairwise_win_rates,
    run_leaderboard,
)
from detente.population.members import Member, Population
from detente.population.payoffs import MatchRecord, PayoffStore, write_payoffs_json

RPS = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
IDS = ["rock", "paper", "scissors"]


def _rps_store(rows=IDS, columns=IDS):
    store = PayoffStore(2)
    for a in rows:
        for b in columns:
            value = RPS[IDS.index(a), IDS.index(b)]
            store.add(MatchRecord.exact_values((a, b), (value, -value)))
    return store


def test_shared_population_export_is_the_one_vs_rest_table(tmp_path):
    # Shared population of a symmetric zero-sum game: M[a, b] = (u0(a, b) + u1(b, a)) / 2 is
    # RPS itself (docs/population.md, one_vs_rest).
    value = _rps_store().to_report_json([IDS, IDS])
    assert value["members"] == IDS and value["table"] == "one_vs_rest"
    np.testing.assert_allclose(value["payoffs"], RPS)
    assert np.shape(value["meta_game"]) == (2, 3, 3)
    path = tmp_path / "payoffs.json"
    write_payoffs_json(path, _rps_store(), [IDS, IDS])
    data = load_payoffs(path)
    np.testing.assert_allclose(data.antisymmetric, RPS)
    np.testing.assert_allclose(data.meta_game[0], RPS)


def test_per_player_populations_are_paired_by_index():
    store = PayoffStore(2)
    rows, columns = ["a0", "a1"], ["b0", "b1"]
    u = np.array([[1.0, -1.0], [2.0, 0.5]])  # player 0's payoff; zero-sum
    for i, a in enumerate(rows):
        for j, b in enumerate(columns):
            store.add(MatchRecord.exact_values((a, b), (u[i, j], -u[i, j])))
    value = store.to_report_json([rows, columns])
    assert value["members"] == ["a0+b0", "a1+b1"] and value["table"] == "paired"
    # M[k, l] = (u0(a_k, b_l) + u1(a_l, b_k)) / 2; M[0, 1] = (-1 - 2) / 2.
    np.testing.assert_allclose(value["payoffs"], [[0.0, -1.5], [1.5, 0.0]])


def test_unequal_populations_export_only_the_meta_game():
    value = _rps_store(["rock", "paper"], IDS).to_report_json([["rock", "paper"], IDS])
    assert "members" not in value and np.shape(value["meta_game"]) == (2, 2, 3)


def test_missing_profile_is_named():
    store = _rps_store(["rock"], IDS)
    with pytest.raises(ValueError, match="no recorded match"):
        store.to_report_json([IDS, IDS])


def test_pairwise_win_rates_from_a_match_log():
    records = [
        {"members": ["a", "b"], "returns": [[1.0, -1.0], [1.0, -1.0], [0.0, 0.0]]},
        {"members": ["b", "a"], "returns": [[1.0, -1.0]]},
    ]
    value = pairwise_win_rates(["a", "b", "c"], records)
    # a vs b: wins, win, tie, loss -> (1 + 1 + 0.5 + 0) / 4 = 0.625; c never played.
    assert value["payoffs"][0][1] == pytest.approx(0.625)
    assert value["payoffs"][1][0] == pytest.approx(0.375)
    assert value["games"][0][1] == 4 and value["unmet"] == [["a", "c"], ["b", "c"]]
    assert value["kind"] == "win_rate"


def _saved_population(directory, hidden=(8,)):
    network = make_policy_value_network(env_spec_for(load("kuhn_poker")), hidden_sizes=hidden)
    population = Population()
    population.add(Member.create("p0", network.init(jax.random.key(0)), role="initial"))
    population.add(Member.create("p1", network.init(jax.random.key(1)), parent="p0"))
    population.save(directory / "checkpoint" / "population")
    return population


def test_population_directory_is_a_pool(tmp_path):
    population = _saved_population(tmp_path)
    with pytest.raises(ValueError, match="hidden_sizes"):  # no run state to read it from
        load_pool(tmp_path, "kuhn_poker")
    pool = load_pool(tmp_path / "checkpoint" / "population", "kuhn_poker", hidden_sizes=(8,))
    assert pool.ids == ("p0", "p1")
    assert [m.content_hash for m in pool.members] == list(population.hashes().values())
    state = {"config": {"hidden_sizes": [8]}, "populations": [["p0", "p1"]]}
    (tmp_path / "checkpoint" / "state.json").write_text(json.dumps(state))
    assert load_pool(tmp_path, "kuhn_poker").ids == ("p0", "p1")  # a run directory
    with pytest.raises(ValueError, match="hidden sizes"):
        load_pool(tmp_path, "kuhn_poker", hidden_sizes=(4,))

    out = tmp_path / "lb"
    run_leaderboard(pool.with_uniform(), "kuhn_poker", out, games_per_pair=8, num_bootstrap=10)
    data = load_payoffs(out / PAYOFFS_JSON)
    assert data.kind == "win_rate" and data.members == ["p0", "p1", "uniform_random"]
    np.testing.assert_allclose(data.table + data.table.T, 1.0)
