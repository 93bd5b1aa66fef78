"""The league: opponents per role, snapshot and reset rules, 3-player seats, payoffs, config."""

import dataclasses

import numpy as np
import pytest

from detente.agents import PPOConfig
from detente.population import OpponentTrainingConfig
from detente.population.league import (
    INITIAL_ID,
    LeagueConfig,
    ScoreTable,
    live_id,
    opponent_distribution,
    profiles_one_vs_rest,
    run_league,
)
from detente.population.members import Member

TRAINER = OpponentTrainingConfig(
    batch_size=12,
    unroll_length=4,
    num_updates=2,
    num_groups=4,
    segment_length=2,
    log_every=2,
    ppo=PPOConfig(num_epochs=1, num_minibatches=1),
)
# Three players, so every game seats the learner with two league opponents.
TINY = LeagueConfig(
    game="kuhn_poker(players=3)",
    rounds=2,
    hidden_sizes=(8,),
    games_per_profile=2,
    snapshot_every=2,
    snapshot_threshold=None,
    trainer=TRAINER,
)


def _members(*specs):
    members = [Member.create(INITIAL_ID, {"w": np.zeros(1)}, role="initial")]
    for member_id, role in specs:
        members.append(Member.create(member_id, {"w": np.ones(1)}, role=role, parent=INITIAL_ID))
    return members


def _scores(pairs):
    table = ScoreTable()
    for (a, b), score in pairs.items():
        wins = int(round(score * 4))
        returns = np.array([[1.0, 0.0]] * wins + [[0.0, 1.0]] * (4 - wins))
        table.add_games([a, b], returns)
    return table


MEMBERS = _members(
    ("main_0_s0", "main"), ("main_0_s1", "main"), ("league_exploiter_0_s0", "league_exploiter")
)


def _distribution(config, role, reference, scores, learner="x_0"):
    return opponent_distribution(
        config,
        role,
        learner=learner,
        reference=reference,
        members=MEMBERS,
        main_learners=["main_0"],
        main_references=["main_0_s1"],
        scores=scores,
    )


def test_score_table_is_pairwise_score():
    table = _scores({("a", "b"): 0.75})
    assert table.score("a", "b") == 0.75
    assert table.score("b", "a") == 0.25
    assert table.score("a", "a") == table.score("a", "zzz") == 0.5
    assert ScoreTable(table.to_json()).to_json() == table.to_json()


def test_main_agent_mixes_self_play_pfsp_and_forgotten():
    config = dataclasses.replace(
        TINY, self_play_fraction=0.2, pfsp_fraction=0.5, forgotten_fraction=0.3
    )
    # main_0_s1 beats its past self main_0_s0 (not forgotten) but loses to nobody else.
    scores = _scores(
        {("main_0_s1", "main_0_s0"): 0.75, ("main_0_s1", "league_exploiter_0_s0"): 0.25}
    )
    dist = _distribution(config, "main", "main_0_s1", scores, learner="main_0")
    assert sum(dist.values()) == pytest.approx(1.0)
    # No forgotten main snapshot (score 0.75 and 0.5 >= 0.3): its share goes to self-play.
    assert dist[live_id("main_0")] == pytest.approx(0.5)
    # "squared" PFSP over every frozen member: weights (1 - x)^2 with x = 0.5, 0.75, 0.5, 0.25.
    weights = np.array([0.25, 0.0625, 0.25, 0.5625])
    expected = 0.5 * weights / weights.sum()
    ids = [m.id for m in MEMBERS]
    np.testing.assert_allclose([dist[i] for i in ids], expected)
    # A forgotten past self (score 0.0 < 0.3) gets the forgotten share.
    scores = _scores({("main_0_s1", "main_0_s0"): 0.0})
    dist = _distribution(config, "main", "main_0_s1", scores, learner="main_0")
    assert dist[live_id("main_0")] == pytest.approx(0.2)
    assert dist["main_0_s0"] > 0.3
    # Deterministic: the same inputs give the same distribution.
    assert dist == _distribution(config, "main", "main_0_s1", scores, learner="main_0")


def test_baselines_are_league_configs():
    # Naive self-play: only main agents, self-play fraction 1.
    naive = dataclasses.replace(
        TINY,
        num_main_exploiters=0,
        num_league_exploiters=0,
        self_play_fraction=1.0,
        pfsp_fraction=0.0,
        forgotten_fraction=0.0,
    )
    assert _distribution(naive, "main", "main_0_s1", ScoreTable()) == {live_id("main_0"): 1.0}
    # Fictitious self-play: uniform over every past member, whatever the scores.
    fictitious = dataclasses.replace(
        naive, self_play_fraction=0.0, pfsp_fraction=1.0, main_weighting="uniform"
    )
    scores = _scores({("main_0_s1", "main_0_s0"): 1.0})
    dist = _distribution(fictitious, "main", "main_0_s1", scores)
    assert dist == pytest.approx({m.id: 0.25 for m in MEMBERS})


def test_exploiters_opponents():
    # A main exploiter beaten by the main agents trains on their past snapshots (PFSP variance).
    beaten = _scores(
        {("main_exploiter_0_s0", "main_0_s1"): 0.0, ("main_exploiter_0_s0", "main_0_s0"): 0.5}
    )
    dist = _distribution(TINY, "main_exploiter", "main_exploiter_0_s0", beaten)
    assert set(dist) == {"main_0_s0", "main_0_s1"}
    assert dist["main_0_s0"] == pytest.approx(1.0)  # variance weight x(1-x) is 0 at x = 0
    # Otherwise it trains against the current main agents.
    even = _scores({("main_exploiter_0_s0", "main_0_s1"): 0.5})
    assert _distribution(TINY, "main_exploiter", "main_exploiter_0_s0", even) == {
        live_id("main_0"): 1.0
    }
    # League exploiters: PFSP over the whole league.
    dist = _distribution(TINY, "league_exploiter", INITIAL_ID, ScoreTable())
    assert dist == pytest.approx({m.id: 0.25 for m in MEMBERS})
    with pytest.raises(ValueError, match="unknown league role"):
        _distribution(TINY, "coach", INITIAL_ID, ScoreTable())


def test_profiles_for_three_players():
    assert profiles_one_vs_rest("a", "b", 3) == [
        ("a", "b", "b"),
        ("b", "a", "b"),
        ("b", "b", "a"),
        ("b", "a", "a"),
        ("a", "b", "a"),
        ("a", "a", "b"),
    ]
    assert profiles_one_vs_rest("a", "a", 3) == [("a", "a", "a")]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"self_play_fraction": 0.5}, "must sum to 1"),
        ({"main_weighting": "cubic"}, "main_weighting"),
        ({"num_main": 0}, "num_main"),
        ({"league_exploiter_reset_prob": 1.5}, "league_exploiter_reset_prob"),
        ({"snapshot_threshold": -0.1}, "snapshot_threshold"),
        ({"game": "kuhn_pokr"}, "kuhn_pokr"),
        ({"trainer": {"batch_size": 3}}, "OpponentTrainingConfig"),
        ({"hidden_sizes": ()}, "hidden_sizes"),
        ({"backend": "gpu"}, r"backend must be one of \('host', 'jax'\)"),
        ({"backend": "jax"}, "needs a JAX-only game .* got 'kuhn_poker"),
    ],
)
def test_config_validation(change, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(TINY, **change)


def test_three_player_league_rules():
    config = dataclasses.replace(TINY, league_exploiter_reset_prob=1.0)
    result = run_league(config)
    population, payoffs = result.population, result.payoffs
    # 2 updates per round and snapshot_every=2: every learner snapshots every round.
    assert [m.id for m in population] == [
        INITIAL_ID,
        "main_0_s0",
        "main_exploiter_0_s0",
        "league_exploiter_0_s0",
        "main_0_s1",
        "main_exploiter_0_s1",
        "league_exploiter_0_s1",
    ]
    main_1 = population["main_0_s1"]
    assert (main_1.role, main_1.parent, main_1.step) == ("main", "main_0_s0", 4)
    # Main exploiters always reset after a snapshot (parent: the initial member again).
    assert population["main_exploiter_0_s1"].parent == INITIAL_ID
    # League exploiters reset with probability 1 here.
    assert population["league_exploiter_0_s1"].parent == INITIAL_ID
    records = {r.name: r for r in result.learners}
    assert records["main_0"].reference == "main_0_s1" and records["main_0"].resets == 0
    assert records["main_exploiter_0"].resets == 2
    assert records["league_exploiter_0"].reference == INITIAL_ID
    # Payoffs: every member against every member, one-vs-rest for each of the 3 seats.
    reduction = payoffs.one_vs_rest(population.ids)
    assert reduction.one_vs_rest.shape == (7, 7)
    assert result.scores.score("main_0_s1", INITIAL_ID) != 0.5 or payoffs.has(
        ("main_0_s1", INITIAL_ID, INITIAL_ID)
    )
    # Deterministic for a seed.
    again = run_league(config)
    assert again.population.hashes() == population.hashes()


def test_snapshot_threshold_and_no_reset():
    every_never = dataclasses.replace(
        TINY, rounds=1, snapshot_every=100, snapshot_threshold=0.0, league_exploiter_reset_prob=0.0
    )
    result = run_league(every_never)
    reasons = {m.id: m.metadata["reason"] for m in result.population if m.id != INITIAL_ID}
    assert set(reasons.values()) == {"threshold"} and len(reasons) == 3
    records = {r.name: r for r in result.learners}
    assert records["league_exploiter_0"].reference == "league_exploiter_0_s0"
    never = dataclasses.replace(every_never, snapshot_threshold=None)
    assert run_league(never).population.ids == [INITIAL_ID]


def test_learner_seat_sets_cover_every_seat_equally():
    from detente.population.league import learner_seat_sets

    rng = np.random.default_rng(0)
    assert sorted(learner_seat_sets(np.random.default_rng(0), 4, 1)) == [0, 1, 2, 3]
    sets = learner_seat_sets(rng, 5, 2)
    assert len(sets) == 5 and all(len(set(s)) == 2 for s in sets)
    counts = np.bincount([p for s in sets for p in s], minlength=5)
    assert (counts == 2).all()


def test_league_with_the_learner_in_two_of_three_seats():
    config = dataclasses.replace(TINY, learner_seats=2, rounds=1)
    result = run_league(config)
    assert [m.id for m in result.population][:2] == [INITIAL_ID, "main_0_s0"]
    assert all(np.isfinite(row["main_0_return"]) for row in result.rows)
    again = run_league(config)
    assert again.population.hashes() == result.population.hashes()
    with pytest.raises(ValueError, match=r"learner_seats must be in \[1, 2\]"):
        dataclasses.replace(TINY, learner_seats=3)


def test_league_warm_start_and_resume(tmp_path):
    """The initial member is `initial_params`; a resume keeps it, and other params are refused."""
    import jax

    from detente.lib import CheckpointError, content_hash
    from detente.population.league import _League

    network = _League(TINY).network
    start = network.init(jax.random.key(77))
    one = dataclasses.replace(TINY, rounds=1)
    result = run_league(one, run_dir=tmp_path, initial_params=start)
    assert result.population["init"].hash == content_hash(start)
    resumed = run_league(TINY, run_dir=tmp_path)  # one more round, initial member kept
    assert resumed.population["init"].hash == content_hash(start)
    other = network.init(jax.random.key(78))
    with pytest.raises(CheckpointError, match="other initial params"):
        run_league(TINY, run_dir=tmp_path, initial_params=other)
    with pytest.raises(ValueError, match="initial_params do not fit"):
        run_league(TINY, initial_params={"w": np.zeros(3)})
    # The same warm start from the config (the CLI's --set init_from=... init_member=...).
    from_dir = dataclasses.replace(TINY, rounds=0, init_from=str(tmp_path), init_member="init")
    assert run_league(from_dir).population["init"].hash == content_hash(start)
    with pytest.raises(ValueError, match="name one with init_member"):
        run_league(dataclasses.replace(from_dir, init_member=None))
    with pytest.raises(ValueError, match="hidden sizes"):
        run_league(dataclasses.replace(from_dir, hidden_sizes=(4,)))
    with pytest.raises(ValueError, match="needs init_from"):
        LeagueConfig(game="kuhn_poker", init_member="init")


def test_league_with_learners_on_the_device(tmp_path):
    """`backend="jax"`: the learners' rollouts (`train_jax_against_opponents`) and the matches
    (`play_env_matches(on_device=True)`) run on the device."""
    from detente.population.league import _comparable

    config = dataclasses.replace(
        TINY,
        game="realpolitik_jax(map=duel,max_years=2)",  # compiled by the JaxGameEnv tests too
        backend="jax",
        trainer=dataclasses.replace(TRAINER, num_groups=2, batch_size=8),
    )
    result = run_league(config, run_dir=tmp_path)
    assert len(result.population) > 1
    assert all(record.updates == 4 for record in result.learners)  # 2 rounds x 2 updates
    assert result.population.ids[1:] == [  # snapshots every 2 updates, as on the host
        "main_0_s0",
        "main_exploiter_0_s0",
        "league_exploiter_0_s0",
        "main_0_s1",
        "main_exploiter_0_s1",
        "league_exploiter_0_s1",
    ]
    host = dataclasses.replace(config, backend="host")
    # A checkpoint written before the field existed trained on the host.
    old = {k: v for k, v in dataclasses.asdict(host).items() if k != "backend"}
    assert _comparable(old) == _comparable(dataclasses.asdict(host))
    assert _comparable(old) != _comparable(dataclasses.asdict(config))
