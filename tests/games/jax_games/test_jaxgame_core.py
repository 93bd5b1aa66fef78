"""The shared machinery of JAX games: contract edge cases, auto-reset, jit/vmap invariants,
the registry."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from detente.games import jax_games

GAMES = ["matrix_rps", "matrix_shapleys_game", "blotto(players=3,coins=5,fields=3)"]


def _equal(a, b) -> None:
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def _random_actions(key, batch, spec):
    shape = (batch, spec.num_players, spec.num_slots)
    return jax.random.randint(key, shape, 0, spec.num_actions, jnp.int32)


@pytest.mark.parametrize("name", GAMES)
def test_jit_equals_no_jit_and_vmap_equals_loop(name):
    spec, init, step = jax_games.make(name)
    batch = 4
    keys = jax.random.split(jax.random.key(1), batch)
    actions = _random_actions(jax.random.key(2), batch, spec)
    reset_step = jax_games.auto_reset(init, step)
    batched = jax.jit(jax.vmap(reset_step))
    single = jax.jit(reset_step)
    state = jax.jit(jax.vmap(init))(keys)
    loop = [init(k) for k in keys]  # not jitted
    _equal(state, jax.tree.map(lambda *x: jnp.stack(x), *loop))
    _equal(single(loop[0], actions[0], keys[0]), reset_step(loop[0], actions[0], keys[0]))
    for t in range(3):  # play, restart, play
        state = batched(state, actions, keys)
        loop = [single(s, actions[b], keys[b]) for b, s in enumerate(loop)]
        _equal(state, jax.tree.map(lambda *x: jnp.stack(x), *loop))
        assert bool(jnp.all(state.terminated)) == (t != 1)


@pytest.mark.parametrize("name", GAMES)
def test_contract_edge_cases(name):
    spec, init, step = jax_games.make(name)
    key = jax.random.key(0)
    state = init(key)
    assert state.observation.shape == (spec.num_players,) + spec.obs_shape
    assert state.observation.dtype == jnp.float32
    assert state.legal_action_mask.shape == (spec.num_players, spec.num_slots, spec.num_actions)
    assert bool(jnp.all(state.acting)) and not bool(state.terminated | state.truncated)
    np.testing.assert_array_equal(np.asarray(state.rewards), 0.0)
    final = step(state, jnp.zeros((spec.num_players, 1), jnp.int32), key)
    assert bool(final.terminated) and not bool(final.truncated)
    assert not bool(jnp.any(final.acting))
    assert bool(jnp.all(final.legal_action_mask))  # all True at a terminal state
    # Stepping a finished game: unchanged, zero rewards, actions (even illegal ones) ignored.
    after = step(final, jnp.full((spec.num_players, 1), -7, jnp.int32), key)
    _equal(after, final._replace(rewards=jnp.zeros_like(final.rewards)))
    assert not bool(jnp.any(after.illegal))
    # Auto-reset keeps the final state for one step, then restarts with zero rewards.
    reset_step = jax_games.auto_reset(init, step)
    final2 = reset_step(state, jnp.zeros((spec.num_players, 1), jnp.int32), key)
    _equal(final2, final)
    restarted = reset_step(final2, jnp.full((spec.num_players, 1), -7, jnp.int32), key)
    _equal(restarted, init(key))


def test_actions_must_have_shape_p_k():
    spec, init, step = jax_games.make("matrix_rps")
    with pytest.raises(AssertionError):
        step(init(jax.random.key(0)), jnp.zeros((2,), jnp.int32), jax.random.key(0))
    with pytest.raises(AssertionError):
        step(init(jax.random.key(0)), jnp.zeros((2, 1), jnp.float32), jax.random.key(0))


def test_registry():
    names = {info.name for info in jax_games.list_games()}
    assert {"matrix_rps", "matrix_pd", "matrix_sh", "matrix_shapleys_game", "matrix_mp"} <= names
    assert "blotto" in names
    assert jax_games.is_registered("blotto(players=3)") and jax_games.is_registered("matrix_rps")
    assert not jax_games.is_registered("kuhn_poker") and not jax_games.is_registered("bad(")
    spec = jax_games.make("blotto(players=3,coins=10,fields=3)").spec
    assert spec.name == "blotto(coins=10,fields=3,players=3)" and spec.num_actions == 66
    assert jax_games.make(" blotto ").spec.name == "blotto(coins=10,fields=3,players=2)"
    assert jax_games.make("matrix_rps()").spec.name == "matrix_rps()"
    with pytest.raises(ValueError, match=r"unknown JAX game 'matrix_rsp'; did you mean matrix_rps"):
        jax_games.make("matrix_rsp")
    with pytest.raises(ValueError, match=r"has no parameter 'coin'; accepted parameters: coins"):
        jax_games.make("blotto(coin=3)")
    with pytest.raises(ValueError, match=r"parameter players='x' is not an integer"):
        jax_games.make("blotto(players=x)")
    with pytest.raises(ValueError, match="malformed"):
        jax_games.make("blotto(players=3")
    with pytest.raises(ValueError, match="already registered"):
        jax_games.register("blotto", jax_games.blotto_game)
    with pytest.raises(ValueError, match="non-empty string"):
        jax_games.make("")


def test_register_a_user_game():
    payoffs = np.array([[[3, 0], [0, 1]], [[1, 0], [0, 3]]], np.float32)  # battle of the sexes

    def factory(scale: float) -> jax_games.JaxGame:
        return jax_games.normal_form_game(scale * payoffs, name=f"bos(scale={scale})")

    jax_games.register("test_bos", factory, {"scale": 1.0}, replace=True)
    game = jax_games.make("test_bos(scale=2)")
    final = game.step(game.init(jax.random.key(0)), jnp.array([[0], [0]]), jax.random.key(0))
    np.testing.assert_array_equal(np.asarray(final.rewards), [6.0, 2.0])
