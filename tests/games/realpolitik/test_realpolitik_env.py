"""RealpolitikEnv: the environment contract, edge cases, and agreement with the OpenSpiel game."""

import numpy as np
import pytest

from detente import games
from detente.games.realpolitik import NO_OP, RealpolitikEnv, shipped_maps
from detente.lib import IllegalActionError, TimeStep


def _random_actions(ts: TimeStep, rng: np.random.Generator) -> np.ndarray:
    noise = rng.random(ts.legal_action_mask.shape)
    return np.argmax(np.where(ts.legal_action_mask, noise, -1.0), axis=-1).astype(np.int32)


def _check_timestep(ts: TimeStep, env: RealpolitikEnv) -> None:
    spec, batch = env.spec, env.batch_size
    players, slots, actions = spec.num_players, spec.num_slots, spec.num_actions
    assert ts.observation.shape == (batch, players, *spec.obs_shape)
    assert ts.observation.dtype == np.float32
    assert ts.legal_action_mask.shape == (batch, players, slots, actions)
    assert ts.legal_action_mask.dtype == bool
    assert ts.acting.shape == (batch, players) and ts.acting.dtype == bool
    assert ts.rewards.shape == (batch, players) and ts.rewards.dtype == np.float32
    assert ts.terminated.shape == (batch,) and ts.terminated.dtype == bool
    assert ts.truncated.shape == (batch,) and ts.truncated.dtype == bool
    done = ts.terminated
    assert not ts.truncated.any()  # every end is an end by the rules (year limit included)
    assert not ts.acting[done].any()
    assert ts.legal_action_mask[done].all()
    assert ts.legal_action_mask[ts.acting].any(axis=-1).all()  # every slot has a legal action
    assert ts.legal_action_mask[~ts.acting].all()
    assert ts.acting[~done].any(axis=-1).all()


@pytest.mark.parametrize("name", shipped_maps())
def test_contract(name):
    years = 2 if name == "classic" else 4
    env = RealpolitikEnv(name, batch_size=3, max_years=years, auto_reset=True)
    assert env.spec.dynamics == "simultaneous" and env.spec.num_slots == env.rules.num_slots
    ts = env.reset(seed=1)
    _check_timestep(ts, env)
    assert not ts.rewards.any()
    rng = np.random.default_rng(0)
    episode = np.zeros((3, env.spec.num_players))
    finished = 0
    for _ in range(env.spec.max_steps + 2):
        previous = ts
        ts = env.step(_random_actions(ts, rng))
        _check_timestep(ts, env)
        reset = previous.terminated | previous.truncated
        assert not ts.rewards[reset].any()
        episode[reset] = 0
        episode += ts.rewards
        for b in np.flatnonzero(ts.terminated | ts.truncated):
            finished += 1
            assert episode[b].sum() == pytest.approx(1.0)  # sum of squares is constant-sum
    assert finished > 0


def test_step_after_end_and_auto_reset():
    env = RealpolitikEnv("duel", batch_size=2, max_years=1)
    first = env.reset(seed=0)
    rng = np.random.default_rng(0)
    ts = first
    while not (ts.terminated | ts.truncated).all():
        ts = env.step(_random_actions(ts, rng))
    # The year limit ends the game by its rules (final scores paid): terminated, no bootstrap.
    assert ts.terminated.all() and not ts.truncated.any()
    again = env.step(np.zeros((2, 2, env.spec.num_slots), np.int32))
    assert not again.rewards.any() and again.terminated.all()
    np.testing.assert_array_equal(again.observation, ts.observation)

    env = RealpolitikEnv("duel", batch_size=1, max_years=1, auto_reset=True)
    first = env.reset(seed=0)
    ts = first
    while not ts.terminated[0]:
        ts = env.step(_random_actions(ts, rng))
    assert ts.rewards.sum() == pytest.approx(1.0)  # final scores arrive with the last phase
    restarted = env.step(np.zeros((1, 2, env.spec.num_slots), np.int32))  # ignored
    assert not restarted.rewards.any() and not restarted.terminated[0]
    np.testing.assert_array_equal(restarted.observation, first.observation)


def test_illegal_actions_raise_and_leave_batch_unchanged():
    env = RealpolitikEnv("triad", batch_size=2, max_years=1)
    ts = env.reset(seed=0)
    actions = np.zeros((2, 3, env.spec.num_slots), np.int32)
    actions[:, :, 0] = np.argmax(ts.legal_action_mask[:, :, 0], axis=-1)
    actions[:, :, 1] = np.argmax(ts.legal_action_mask[:, :, 1], axis=-1)
    bad = actions.copy()
    bad[1, 2, 0] = NO_OP  # a unit must be ordered
    before = env.positions
    with pytest.raises(IllegalActionError, match=r"player 2 .* slot 0 \(unit at .*\) in game 1"):
        env.step(bad)
    bad = actions.copy()
    bad[0, 1, 2] = 5  # unused slot (K = 3 on triad; two units each at the start)
    with pytest.raises(IllegalActionError, match="unused slot 2"):
        env.step(bad)
    with pytest.raises(IllegalActionError, match="shape"):
        env.step(actions[:, :, :2])
    assert env.positions == before
    env.step(actions)


def test_bad_parameters():
    with pytest.raises(ValueError, match="unknown map"):
        RealpolitikEnv("atlantis", batch_size=1)
    with pytest.raises(ValueError, match="unknown scoring"):
        RealpolitikEnv("duel", batch_size=1, scoring="elo")
    with pytest.raises(ValueError, match="max_years"):
        RealpolitikEnv("duel", batch_size=1, max_years=0)


@pytest.mark.parametrize(
    "name, scoring, years", [("triad", "sum_of_squares", 3), ("quartet", "welfare", 3)]
)
def test_same_as_openspiel_game(name, scoring, years):
    """Random orders played phase by phase in the env and sub-step by sub-step in the game."""
    env = RealpolitikEnv(name, batch_size=1, scoring=scoring, max_years=years)
    game = games.load(f"realpolitik(map={name},scoring={scoring},max_years={years})")
    state = game.new_initial_state()
    ts = env.reset(seed=0)
    rng = np.random.default_rng(3)
    returns = np.zeros(env.spec.num_players)
    phases = 0
    while not (ts.terminated[0] or ts.truncated[0]):
        assert state.position == env.positions[0]
        actions = _random_actions(ts, rng)
        slots = state.slots
        for s in range(state.num_substeps):
            joint = []
            for p in range(env.spec.num_players):
                legal = state.legal_actions(p)
                if s < len(slots.locations[p]):
                    np.testing.assert_array_equal(
                        legal, np.flatnonzero(ts.legal_action_mask[0, p, s])
                    )
                    joint.append(int(actions[0, p, s]))
                else:
                    assert legal == [NO_OP]
                    joint.append(NO_OP)
            state.apply_actions(joint)
        ts = env.step(actions)
        returns += ts.rewards[0]
        phases += 1
        np.testing.assert_allclose(state.returns(), returns, atol=1e-6)
    assert state.is_terminal() and state.position == env.positions[0]
    assert phases > 4
