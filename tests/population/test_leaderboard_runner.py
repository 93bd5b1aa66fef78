"""Reproducible leaderboards: frozen pools, seeded schedules, resumable match logs."""

import functools
import json
import shutil

import jax
import numpy as np
import pytest

from detente.agents import make_policy_value_network
from detente.games import load
from detente.lib import env_spec_for, save_checkpoint
from detente.population.leaderboard_runner import (
    LEADERBOARD_JSON,
    LEADERBOARD_MD,
    MATCH_LOG,
    Pool,
    load_pool,
    make_schedule,
    network_member,
    run_leaderboard,
    uniform_member,
    uniform_params,
    write_pool,
)

GAME = "kuhn_poker"
FAST = {"games_per_pair": 12, "games_per_match": 6, "num_bootstrap": 50}


@functools.lru_cache  # one Network object per game: its jitted functions compile once
def _network(game=GAME, hidden=(8,)):
    return make_policy_value_network(env_spec_for(load(game)), hidden_sizes=hidden)


@pytest.fixture(scope="module")
def pool_dir(tmp_path_factory):
    network = _network()
    members = [network_member(f"net{i}", network.init(jax.random.key(i)), (8,)) for i in (1, 2)]
    directory = tmp_path_factory.mktemp("pool")
    write_pool(directory, Pool(tuple(members) + (uniform_member(),)))
    return directory


def _files(directory):
    return {name: (directory / name).read_bytes() for name in (LEADERBOARD_JSON, LEADERBOARD_MD)}


def test_same_pool_and_seed_give_byte_identical_leaderboards(pool_dir, tmp_path):
    pool = load_pool(pool_dir, GAME)
    first = run_leaderboard(pool, GAME, tmp_path / "a", seed=7, **FAST)
    run_leaderboard(load_pool(pool_dir / "pool.json", GAME), GAME, tmp_path / "b", seed=7, **FAST)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert (tmp_path / "a" / MATCH_LOG).read_bytes() == (tmp_path / "b" / MATCH_LOG).read_bytes()
    assert first.played == len(first.schedule) == 3 * 2 * 1  # 3 pairs, 2 seatings, 6 games each
    table = json.loads((tmp_path / "a" / LEADERBOARD_JSON).read_text())
    assert [row["rank"] for row in table["rows"]] == [1, 2, 3]
    assert table["anchor"] == "uniform_random"
    anchor_row = next(row for row in table["rows"] if row["id"] == "uniform_random")
    assert anchor_row["rating"] == 0.0 and anchor_row["games"] == 24
    assert all(row["ci_low"] <= row["rating"] <= row["ci_high"] for row in table["rows"])
    lines = [json.loads(line) for line in (tmp_path / "a" / MATCH_LOG).read_text().splitlines()]
    assert [line["match"] for line in lines] == list(range(6))
    assert all(len(line["returns"]) == 6 and len(line["returns"][0]) == 2 for line in lines)
    # Kuhn poker is zero-sum: the log's per-seat returns must say so.
    assert all(sum(game) == 0 for line in lines for game in line["returns"])
    other = run_leaderboard(pool, GAME, tmp_path / "c", seed=8, **FAST)
    assert other.schedule[0].seed != first.schedule[0].seed


def test_interrupted_run_resumes_to_the_same_files(pool_dir, tmp_path):
    pool = load_pool(pool_dir, GAME)
    full = run_leaderboard(pool, GAME, tmp_path / "full", seed=1, **FAST)
    partial = tmp_path / "partial"
    partial.mkdir()
    lines = (tmp_path / "full" / MATCH_LOG).read_text().splitlines(keepends=True)
    # Two finished matches and a third torn mid-line by a crash.
    (partial / MATCH_LOG).write_text("".join(lines[:2]) + lines[2][:25])
    resumed = run_leaderboard(pool, GAME, partial, seed=1, **FAST)
    assert resumed.played == len(full.schedule) - 2
    assert _files(partial) == _files(tmp_path / "full")
    assert (partial / MATCH_LOG).read_bytes() == (tmp_path / "full" / MATCH_LOG).read_bytes()
    # A log written for another seed is refused, not silently mixed in.
    with pytest.raises(ValueError, match="does not match this run's schedule"):
        run_leaderboard(pool, GAME, partial, seed=2, **FAST)


def test_changed_member_is_named(pool_dir, tmp_path):
    copy = tmp_path / "pool"
    shutil.copytree(pool_dir, copy)
    network = _network()
    save_checkpoint(
        copy / "members" / "net2", network.init(jax.random.key(99)), {"hidden_sizes": [8]}
    )
    with pytest.raises(ValueError, match="member 'net2' changed"):
        load_pool(copy, GAME)
    (copy / "members" / "net1" / "arrays.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="member 'net1'"):
        load_pool(copy, GAME)


def test_pool_input_errors(pool_dir, tmp_path):
    with pytest.raises(ValueError, match="no pool.json and no checkpoints"):
        load_pool(tmp_path, GAME)
    with pytest.raises(ValueError, match="neither"):
        load_pool(tmp_path / "missing", GAME)
    with pytest.raises(ValueError):  # networks built for Kuhn do not fit Leduc's observations
        load_pool(pool_dir, "leduc_poker")
    with pytest.raises(ValueError, match="distinct"):
        Pool((uniform_member("u"), uniform_member("u")))
    with pytest.raises(ValueError, match="anchor 'nobody'"):
        run_leaderboard(load_pool(pool_dir, GAME), GAME, tmp_path / "o", anchor="nobody", **FAST)


def test_directory_of_checkpoints_is_a_pool(pool_dir):
    pool = load_pool(pool_dir / "members", GAME)  # no manifest: scanned, sorted by id
    assert pool.ids == ("net1", "net2")
    manifest = json.loads((pool_dir / "pool.json").read_text())
    assert [m.content_hash for m in pool.members] == [
        m["content_hash"] for m in manifest["members"][:2]
    ]


def test_schedule_is_derived_from_the_seed():
    schedule = make_schedule(["a", "b", "c"], 2, seed=5, games_per_pair=10, games_per_match=4)
    assert schedule == make_schedule(
        ["a", "b", "c"], 2, seed=5, games_per_pair=10, games_per_match=4
    )
    seatings = [m.members for m in schedule]
    assert seatings.count(("a", "b")) == seatings.count(("b", "a")) == 2  # 5 games: 4 + 1
    assert sum(m.num_games for m in schedule) == 3 * 10
    assert len({m.seed for m in schedule}) == len(schedule)
    three = make_schedule(["a", "b", "c", "d"], 3, seed=0, games_per_pair=6, games_per_match=4)
    assert sum(m.num_games for m in three) == 12  # 6 * C(4,2) / C(3,2)
    assert all(len(set(m.members)) == 3 for m in three)
    with pytest.raises(ValueError, match="games_per_pair"):
        make_schedule(["a", "b"], 2, seed=0, games_per_pair=0)


def test_uniform_params_play_uniformly():
    network = _network()
    obs = np.random.default_rng(0).normal(size=(5,) + network.obs_shape).astype(np.float32)
    mask = np.array([[[True, False]], [[True, True]]] * 2 + [[[False, True]]])
    logits, _ = network.apply(uniform_params(network), obs, mask)
    probs = np.asarray(jax.nn.softmax(logits, axis=-1))
    np.testing.assert_allclose(probs, mask / mask.sum(-1, keepdims=True), atol=1e-6)


def test_three_player_leaderboard(tmp_path):
    game = "kuhn_poker(players=3)"
    network = _network(game)
    members = [network_member(f"n{i}", network.init(jax.random.key(i)), (8,)) for i in range(2)]
    pool = Pool(tuple(members)).with_uniform()
    result = run_leaderboard(pool, game, tmp_path, seed=0, games_per_pair=6, num_bootstrap=20)
    lines = [json.loads(line) for line in (tmp_path / MATCH_LOG).read_text().splitlines()]
    assert all(len(line["members"]) == 3 for line in lines)
    assert result.ratings.games.min() > 0


def test_realpolitik_pool_is_rated_on_the_league_env(tmp_path):
    """Realpolitik members have the league's K-slot networks (RealpolitikEnv's spec); the
    leaderboard loads and plays them there, reproducibly."""
    from detente.population.league_env import league_spec

    game = "realpolitik(map=duel,max_years=1)"
    network = make_policy_value_network(league_spec(game), hidden_sizes=(8,))
    members = [network_member(f"rp{i}", network.init(jax.random.key(i)), (8,)) for i in (1, 2)]
    write_pool(tmp_path / "pool", Pool(tuple(members)))
    pool = load_pool(tmp_path / "pool", game).with_uniform()
    first = run_leaderboard(pool, game, tmp_path / "a", seed=1, **FAST)
    board = json.loads((tmp_path / "a" / LEADERBOARD_JSON).read_text())
    assert board["game"].startswith("realpolitik(map=duel")
    assert first.played == len(first.schedule) == 6  # 3 members, both seatings of each pair
    returns = [json.loads(line)["returns"] for line in (tmp_path / "a" / MATCH_LOG).open()]
    sums = np.array([sum(game_returns) for match in returns for game_returns in match])
    np.testing.assert_allclose(sums, 1.0, atol=1e-5)  # sum-of-squares scores add up to 1
    run_leaderboard(
        load_pool(tmp_path / "pool", game).with_uniform(), game, tmp_path / "b", seed=1, **FAST
    )
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    with pytest.raises(ValueError, match="max_steps=5 does not apply"):
        run_leaderboard(pool, game, tmp_path / "c", max_steps=5, **FAST)
