"""The payoff store: aggregation, counts, exact records, symmetric reductions, persistence."""

import itertools

import numpy as np
import pytest

from detente.lib.meta_game import symmetric_reduction
from detente.population import MatchRecord, PayoffStore


def test_payoff_tensor_is_the_game_weighted_mean_with_counts():
    store = PayoffStore(2)
    store.add(MatchRecord.from_games(("a", "x"), [[1.0, -1.0], [3.0, -3.0]], seed=0))
    store.add(MatchRecord.from_games(("a", "x"), [[0.0, 0.5]], seed=1))  # general-sum
    store.add(MatchRecord.from_games(("b", "x"), [[2.0, 1.0]], seed=2))
    table = store.payoff_tensor([["a", "b"], ["x"]])
    assert table.payoffs.shape == (2, 2, 1)
    np.testing.assert_allclose(table.payoffs[:, 0, 0], [4.0 / 3.0, -3.5 / 3.0])
    np.testing.assert_allclose(table.payoffs[:, 1, 0], [2.0, 1.0])
    assert table.counts.tolist() == [[3], [1]] and not table.exact.any()
    # Sample standard error of seat 0's three returns (1, 3, 0).
    np.testing.assert_allclose(table.stderr[0, 0, 0], np.std([1, 3, 0], ddof=1) / np.sqrt(3))
    assert store.mean(("b", "x"))[1:] == (1, False)


def test_exact_records_take_precedence():
    store = PayoffStore(2)
    store.add(MatchRecord.from_games(("a", "b"), [[1.0, -1.0]], seed=0))
    store.add(MatchRecord.exact_values(("a", "b"), [0.25, -0.25]))
    values, games, exact = store.mean(("a", "b"))
    assert values.tolist() == [0.25, -0.25] and games == 1 and exact


def test_missing_profiles_and_bad_input():
    store = PayoffStore(3)
    store.add(MatchRecord.exact_values(("a", "a", "a"), [0, 0, 0]))
    assert store.missing([["a"], ["a", "b"], ["a"]]) == [("a", "b", "a")]
    with pytest.raises(ValueError, match=r"1 seat assignment\(s\) have no recorded match, e.g. "):
        store.payoff_tensor([["a"], ["a", "b"], ["a"]])
    with pytest.raises(ValueError, match="must list members for each of the 3 seats, got 2"):
        store.payoff_tensor([["a"], ["a"]])
    with pytest.raises(ValueError, match=r"seat_members\[1\] is empty"):
        store.payoff_tensor([["a"], [], ["a"]])
    with pytest.raises(ValueError, match="record has 2 seats"):
        store.add(MatchRecord.exact_values(("a", "b"), [0, 0]))
    with pytest.raises(KeyError, match="no match recorded for the seat assignment"):
        store.mean(("b", "b", "b"))
    with pytest.raises(ValueError, match="has 2 seats but 1 returns"):
        MatchRecord(("a", "b"), (1.0,), (1.0,), num_games=1)
    with pytest.raises(ValueError, match="needs num_games >= 1"):
        MatchRecord(("a",), (1.0,), (1.0,), num_games=0)
    with pytest.raises(ValueError, match="returns must be finite"):
        MatchRecord(("a",), (np.nan,), (1.0,), num_games=1)
    with pytest.raises(ValueError, match=r"shape \[B >= 1, N=2\]"):
        MatchRecord.from_games(("a", "b"), np.zeros((3, 3)), seed=0)
    with pytest.raises(ValueError, match="num_players must be a positive integer"):
        PayoffStore(0)


def _random_store(num_players, members, seed):
    rng = np.random.default_rng(seed)
    store = PayoffStore(num_players)
    full = np.zeros((num_players,) + (len(members),) * num_players)
    for index in itertools.product(range(len(members)), repeat=num_players):
        values = rng.normal(size=num_players)
        store.add(MatchRecord.exact_values(tuple(members[i] for i in index), values))
        full[(slice(None),) + index] = values
    return store, full


def test_one_vs_rest_equals_lib_symmetric_reduction_of_the_full_tensor():
    members = ["a", "b", "c"]
    store, full = _random_store(3, members, seed=0)
    reduction = store.one_vs_rest(members)
    expected = symmetric_reduction(full)
    np.testing.assert_allclose(reduction.one_vs_rest, expected.one_vs_rest)
    np.testing.assert_allclose(reduction.antisymmetric, expected.antisymmetric)
    # It only needs the "one a, the rest b" profiles.
    sparse = PayoffStore(3, [r for r in store.records if len(set(r.members)) <= 2])
    np.testing.assert_allclose(sparse.one_vs_rest(members).one_vs_rest, expected.one_vs_rest)
    with pytest.raises(ValueError, match="needs the profile"):
        PayoffStore(3, store.records[:1]).one_vs_rest(members)


def test_seat_averaged_tensor_two_players_known_case():
    # Seat 0 wins 1 as a against b; seat 1 as a against b (b at seat 0) wins 3.
    store = PayoffStore(2)
    store.add(MatchRecord.exact_values(("a", "b"), [1.0, -1.0]))
    store.add(MatchRecord.exact_values(("b", "a"), [-3.0, 3.0]))
    store.add(MatchRecord.exact_values(("a", "a"), [0.5, -0.5]))
    store.add(MatchRecord.exact_values(("b", "b"), [0.0, 0.0]))
    tensor = store.seat_averaged_tensor(["a", "b"])
    np.testing.assert_allclose(tensor[0], [[0.0, 2.0], [-2.0, 0.0]])
    np.testing.assert_allclose(tensor[1], tensor[0].T)


def test_seat_averaged_tensor_is_a_symmetric_game():
    members = ["a", "b"]
    store, _ = _random_store(3, members, seed=1)
    tensor = store.seat_averaged_tensor(members)
    for perm in itertools.permutations(range(3)):
        # Permuting players and strategy axes together leaves a symmetric game unchanged.
        permuted = np.transpose(tensor[list(perm)], (0,) + tuple(1 + np.array(perm)))
        np.testing.assert_allclose(permuted, tensor, atol=1e-12)
    with pytest.raises(ValueError, match="no seating of the members"):
        PayoffStore(3).seat_averaged_tensor(members)


def test_json_round_trip_and_truncate(tmp_path):
    store = PayoffStore(2)
    store.add(MatchRecord.from_games(("a", "b"), [[1.0, -1.0], [0.0, 0.0]], seed=4))
    store.add(MatchRecord.exact_values(("b", "a"), [0.5, 0.5]))
    store.save(tmp_path / "payoffs.json")
    loaded = PayoffStore.load(tmp_path / "payoffs.json")
    assert loaded.records == store.records
    loaded.truncate(1)
    assert len(loaded) == 1 and not loaded.has(("b", "a"))
    with pytest.raises(ValueError, match="cannot truncate 1 records to 5"):
        loaded.truncate(5)
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="corrupt payoff store"):
        PayoffStore.load(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="not a payoff store"):
        PayoffStore.from_json({"format_version": 7})
