"""The environment contract, checked over OpenSpiel games of every kind."""

import numpy as np
import pyspiel
import pytest

from detente import games
from detente.lib import IllegalActionError, OpenSpielEnv, TimeStep

# Sequential, simultaneous, with and without chance, 2 and 3+ players, general-sum, C++ and
# Python implementations, games without any observation tensor (coin_game).
CONTRACT_GAMES = [
    "kuhn_poker",
    "kuhn_poker(players=3)",
    "leduc_poker",
    "goofspiel(players=3,num_cards=4)",
    "matrix_rps",
    "blotto",
    "coin_game",
    "bargaining",
    "tic_tac_toe",
    "python_kuhn_poker",
    "python_iterated_prisoners_dilemma(max_game_length=5)",
]


def _random_actions(ts: TimeStep, rng: np.random.Generator) -> np.ndarray:
    noise = rng.random(ts.legal_action_mask.shape)
    return np.argmax(np.where(ts.legal_action_mask, noise, -1.0), axis=-1).astype(np.int32)


def _check_timestep(ts: TimeStep, env: OpenSpielEnv) -> None:
    spec, batch = env.spec, env.batch_size
    players, actions = spec.num_players, spec.num_actions
    assert ts.observation.shape == (batch, players, *spec.obs_shape)
    assert ts.observation.dtype == np.float32
    assert ts.legal_action_mask.shape == (batch, players, 1, actions)
    assert ts.legal_action_mask.dtype == bool
    assert ts.acting.shape == (batch, players) and ts.acting.dtype == bool
    assert ts.rewards.shape == (batch, players) and ts.rewards.dtype == np.float32
    assert ts.terminated.shape == (batch,) and ts.terminated.dtype == bool
    assert ts.truncated.shape == (batch,) and ts.truncated.dtype == bool
    done = ts.terminated | ts.truncated
    assert not np.any(ts.terminated & ts.truncated)
    # Finished games: nobody acts and every action is "legal" (masks never empty).
    assert not ts.acting[done].any()
    assert ts.legal_action_mask[done].all()
    # Every acting player has at least one legal action; non-acting players' masks are all True.
    assert ts.legal_action_mask[ts.acting].any(axis=-1).all()
    assert ts.legal_action_mask[~ts.acting].all()
    assert ts.acting[~done].any(axis=-1).all()
    if spec.dynamics == "sequential":
        assert (ts.acting.sum(-1) <= 1).all()
    # The observing seat's one-hot closes every observation.
    np.testing.assert_array_equal(
        ts.observation[:, :, -players:], np.broadcast_to(np.eye(players), (batch, players, players))
    )


@pytest.mark.parametrize("name", CONTRACT_GAMES)
def test_contract(name):
    game = games.load(name)
    env = OpenSpielEnv(game, batch_size=4, auto_reset=True)
    ts = env.reset(seed=1)
    _check_timestep(ts, env)
    assert not ts.rewards.any()
    rng = np.random.default_rng(0)
    episode_returns = np.zeros((4, game.num_players()))
    finished = 0
    for _ in range(3 * env.spec.max_steps + 3):
        previous = ts
        ts = env.step(_random_actions(ts, rng))
        _check_timestep(ts, env)
        reset = previous.terminated | previous.truncated
        assert not ts.rewards[reset].any()  # auto-reset step earns nothing
        episode_returns[reset] = 0
        episode_returns += ts.rewards
        for b in np.flatnonzero(ts.terminated):
            finished += 1
            if game.get_type().utility == pyspiel.GameType.Utility.ZERO_SUM:
                assert abs(episode_returns[b].sum()) < 1e-5
    assert finished > 0


def test_returns_match_pyspiel_replay():
    """Rewards summed over an episode equal the pyspiel returns of the same action sequence."""
    game = games.load("leduc_poker")
    env = OpenSpielEnv(game, batch_size=1)
    ts = env.reset(seed=3)
    rng = np.random.default_rng(1)
    total = np.zeros(2)
    while not ts.terminated[0]:
        ts = env.step(_random_actions(ts, rng))
        total += ts.rewards[0]
    state = env._states[0]  # the finished game; replay its history independently
    replay = game.new_initial_state()
    for action in state.history():
        replay.apply_action(action)
    np.testing.assert_allclose(total, replay.returns())


def test_step_after_end_is_unchanged_without_auto_reset():
    env = OpenSpielEnv(games.load("matrix_rps"), batch_size=2)
    env.reset(seed=0)
    final = env.step(np.zeros((2, 2, 1), np.int32))
    assert final.terminated.all()
    again = env.step(np.zeros((2, 2, 1), np.int32))
    assert again.terminated.all() and not again.rewards.any()
    np.testing.assert_array_equal(again.observation, final.observation)


def test_auto_reset_keeps_final_observation_then_resets():
    env = OpenSpielEnv(games.load("matrix_rps"), batch_size=1, auto_reset=True)
    first = env.reset(seed=0)
    final = env.step(np.array([[[0], [1]]]))  # rock vs paper
    assert final.terminated[0]
    np.testing.assert_array_equal(final.rewards, [[-1.0, 1.0]])
    restarted = env.step(np.array([[[2], [2]]]))  # ignored: the game resets
    assert not restarted.terminated[0] and not restarted.rewards.any()
    np.testing.assert_array_equal(restarted.observation, first.observation)


def test_truncation_is_not_termination():
    env = OpenSpielEnv(games.load("tic_tac_toe"), batch_size=3, max_steps=2)
    ts = env.reset(seed=0)
    rng = np.random.default_rng(0)
    ts = env.step(_random_actions(ts, rng))
    assert not ts.truncated.any()
    ts = env.step(_random_actions(ts, rng))
    assert ts.truncated.all() and not ts.terminated.any()
    assert env.spec.max_steps == 2


def test_same_seed_same_trajectory_and_batch_size_independent():
    game = games.load("leduc_poker")

    def run(batch_size, seed):
        env = OpenSpielEnv(game, batch_size=batch_size, auto_reset=True)
        ts = env.reset(seed=seed)
        observations = [ts.observation[:1]]
        for _ in range(20):
            # Deterministic actions: always the lowest legal one, so only chance varies.
            ts = env.step(np.argmax(ts.legal_action_mask, axis=-1))
            observations.append(ts.observation[:1])
        return np.stack(observations)

    np.testing.assert_array_equal(run(1, 7), run(1, 7))
    np.testing.assert_array_equal(run(1, 7), run(5, 7))  # game 0 is the same in any batch
    assert not np.array_equal(run(1, 7), run(1, 8))


def test_illegal_action_names_game_player_action():
    env = OpenSpielEnv(games.load("tic_tac_toe"), batch_size=2)
    ts = env.reset(seed=0)
    ts = env.step(np.full((2, 2, 1), 4))  # both games: X takes the centre
    with pytest.raises(IllegalActionError, match=r"tic_tac_toe.*illegal action 4.*player 1"):
        env.step(np.full((2, 2, 1), 4))
    # Nothing was stepped: the legal move still works in both games.
    ts = env.step(np.full((2, 2, 1), 0))
    assert ts.acting[:, 0].all()


@pytest.mark.parametrize(
    "actions, message",
    [
        (np.zeros((2, 2, 2), np.int32), r"shape"),
        (np.zeros((3, 2), np.int32), r"shape"),
        (np.full((2, 2, 1), 0.5), r"integers"),
        (np.full((2, 2, 1), 7), r"out of range"),
        (np.full((2, 2, 1), -1), r"out of range"),
    ],
)
def test_malformed_actions(actions, message):
    env = OpenSpielEnv(games.load("kuhn_poker"), batch_size=2)
    env.reset(seed=0)
    with pytest.raises(IllegalActionError, match=message):
        env.step(actions)


def test_bad_constructor_arguments():
    game = games.load("kuhn_poker")
    with pytest.raises(ValueError, match="batch_size"):
        OpenSpielEnv(game, batch_size=0)
    with pytest.raises(ValueError, match="max_steps"):
        OpenSpielEnv(game, batch_size=1, max_steps=0)
    with pytest.raises(ValueError, match="observation_type"):
        OpenSpielEnv(game, batch_size=1, observation_type="pixels")
    with pytest.raises(ValueError, match="information-state"):
        OpenSpielEnv(games.load("tic_tac_toe"), batch_size=1, observation_type="info_state")
    with pytest.raises(TypeError, match="pyspiel.Game"):
        OpenSpielEnv("kuhn_poker", batch_size=1)
    with pytest.raises(ValueError, match="seed"):
        OpenSpielEnv(game, batch_size=1).reset(seed=-1)
    with pytest.raises(RuntimeError, match="reset"):
        OpenSpielEnv(game, batch_size=1).step(np.zeros((1, 2, 1), np.int32))


def test_mean_field_games_are_rejected():
    with pytest.raises(ValueError, match="MEAN_FIELD"):
        OpenSpielEnv(games.load("mfg_crowd_modelling"), batch_size=1)
