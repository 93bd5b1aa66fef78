"""Public surface and contract edge cases of the JAX realpolitik engine."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import detente.games.realpolitik_jax as rpj
from detente.games.realpolitik import initial_position, load_map
from detente.games.realpolitik_jax._check import shared_engine


def test_public_names_have_docstrings():
    for name in rpj.__all__:
        obj = getattr(rpj, name)
        if callable(obj):
            assert obj.__doc__, name


def test_board_arrays_shapes():
    b = rpj.board_arrays(load_map("classic"))
    assert (b.num_players, b.num_provinces, b.num_locations) == (7, 75, 81)
    assert b.e_kind.shape == (81, b.num_actions)
    assert (b.e_kind[:, 0] == 0).all()  # entry 0 is the no-op everywhere


def test_init_shapes_and_from_position():
    engine, step, init = shared_engine("duel")
    b = engine.board
    s = init(jax.random.split(jax.random.key(0), 20))
    assert s.legal_action_mask.shape == (20, b.num_players, b.num_slots, b.num_actions)
    assert s.observation.shape == (20, b.num_players, b.obs_size)
    one = jax.tree.map(lambda x: x[0], s)
    again = engine.from_position(initial_position(b.map))
    for f in ("legal_action_mask", "observation", "unit_owner", "center_owner", "acting"):
        np.testing.assert_array_equal(getattr(one, f), getattr(again, f), err_msg=f)
    assert engine.to_position(one) == initial_position(b.map) | {"contested": []}


def test_illegal_action_terminates_with_penalty():
    engine, step, init = shared_engine("duel")
    s = init(jax.random.split(jax.random.key(0), 20))
    actions = jnp.zeros((20, 2, engine.board.num_slots), jnp.int32)  # no-op: illegal in movement
    out = step(s, actions, jax.random.split(jax.random.key(1), 20))
    assert bool(out.terminated.all())
    assert bool(out.illegal.all())
    np.testing.assert_allclose(out.rewards, rpj.ILLEGAL_REWARD)
    # A finished game stays as it is, with zero rewards.
    again = step(out, actions, jax.random.split(jax.random.key(2), 20))
    np.testing.assert_array_equal(again.unit_owner, out.unit_owner)
    assert not np.asarray(again.rewards).any()
    assert bool(again.legal_action_mask.all())


def test_bad_parameters_raise():
    with pytest.raises(ValueError, match="scoring"):
        rpj.RealpolitikJax("duel", scoring="nope")
