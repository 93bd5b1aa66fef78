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
    for bad in (0, -4, 2.5, True, "32"):
        with pytest.raises(ValueError, match=f"dispatch_chunk must be a positive integer.*{bad!r}"):
            rpj.RealpolitikJax("duel", dispatch_chunk=bad)


def test_dispatch_chunk_changes_speed_only():
    """Chunks of 4 games (at batch 64 the rule's are 16) give every game the same states."""
    from detente.games.jax_games import auto_reset
    from detente.games.realpolitik_jax._check import random_legal_actions

    engines = [rpj.RealpolitikJax("duel", max_years=2, dispatch_chunk=c) for c in (None, 4)]
    steps = [jax.jit(jax.vmap(auto_reset(e.init, e.step))) for e in engines]
    state = jax.vmap(engines[0].init)(jax.random.split(jax.random.key(0), 64))
    rng = np.random.default_rng(0)
    kinds = set()
    for t in range(12):
        actions = jnp.asarray(random_legal_actions(rng, np.asarray(state.legal_action_mask)))
        keys = jax.random.split(jax.random.key(t), 64)
        default, small = (step(state, actions, keys) for step in steps)
        for x, y in zip(jax.tree.leaves(default), jax.tree.leaves(small), strict=True):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=f"step {t}")
        kinds.update(np.asarray(state.phase_kind).tolist())
        state = default
    assert kinds == {0, 1, 2}  # movement, retreats and adjustments were all dispatched
    # The setting reaches the dispatch: the programs differ (chunks of 16 against 4).
    programs = [step.lower(state, actions, keys).as_text() for step in steps]
    assert programs[0] != programs[1]


def test_game_string_sets_dispatch_chunk():
    """`realpolitik_jax(dispatch_chunk=N)` reaches the engine; 0 is the engine's own rule."""
    from detente.games import jax_games

    def program(name):
        game = jax_games.make(name)
        state = jax.vmap(game.init)(jax.random.split(jax.random.key(0), 64))
        actions = jnp.zeros((64, 2, game.spec.num_slots), jnp.int32)
        keys = jax.random.split(jax.random.key(1), 64)
        return jax.jit(jax.vmap(game.step)).lower(state, actions, keys).as_text()

    base = "realpolitik_jax(map=duel,max_years=2"
    default, zero, small = (
        program(base + end) for end in (")", ",dispatch_chunk=0)", ",dispatch_chunk=4)")
    )
    assert zero == default
    assert small != default
    with pytest.raises(ValueError, match=r"dispatch_chunk=-2 must be a positive integer.*or 0"):
        jax_games.make(base + ",dispatch_chunk=-2)")


def test_adjudicate_is_the_rules_part_of_step():
    """`adjudicate` gives the position `step` reaches, phase after phase of random legal play.

    Also one game alone (`lax.switch` runs its phase kind's transition) against the batch
    (under `vmap` on the CPU, the batched dispatch: games sorted by phase kind, each kind's
    transition run on chunks of 16 of its games at this batch of 64).
    """
    from detente.games.realpolitik_jax._check import random_legal_actions

    engine, step, init = shared_engine("duel")
    adjudicate = jax.jit(jax.vmap(engine.adjudicate))
    one_game = jax.jit(engine.adjudicate)
    rng = np.random.default_rng(0)
    s = init(jax.random.split(jax.random.key(3), 64))
    kinds, kinds_alone = set(), set()
    for t in range(20):
        actions = jnp.asarray(random_legal_actions(rng, np.asarray(s.legal_action_mask)))
        live = ~np.asarray(s.terminated | s.truncated)
        nxt = adjudicate(s, actions)
        assert isinstance(nxt, rpj.Position)
        s_before = s
        kinds.update(np.asarray(s.phase_kind)[live].tolist())
        s = step(s, actions, jax.random.split(jax.random.key(10 + t), 64))
        for field, got in zip(rpj.Position._fields, rpj.position_of(s), strict=True):
            np.testing.assert_array_equal(
                np.asarray(getattr(nxt, field))[live], np.asarray(got)[live], err_msg=field
            )
        kind_before = np.asarray(s_before.phase_kind)
        for kind in np.unique(kind_before):  # one game of each phase kind, alone
            g = int(np.argmax(kind_before == kind))
            kinds_alone.add(int(kind))
            alone = one_game(jax.tree.map(lambda x, g=g: x[g], s_before), actions[g])
            for field, got in zip(rpj.Position._fields, alone, strict=True):
                np.testing.assert_array_equal(
                    np.asarray(getattr(nxt, field))[g], np.asarray(got), err_msg=f"{field} {g}"
                )
    assert kinds == kinds_alone == {0, 1, 2}  # every phase kind was adjudicated


def test_nested_batched_dispatch_equals_each_game_alone(monkeypatch):
    """The CPU's batched phase dispatch (games sorted by phase kind, each kind's transition run
    on chunks of its games; at batch 64 in the test above, chunks of 16) under nested `vmap`,
    with chunks smaller than the inner batch and actions batched only outside; chunks of 16
    whose retreats and adjustments end in chunks of 4; chunks of 16 whose movement games left
    undecided after one sweep continue in sub-chunks of 2; and the accelerators' select: every
    game gets the position its own `lax.switch` gives."""
    from detente.games.realpolitik_jax import _engine, _movement
    from detente.games.realpolitik_jax._check import random_legal_actions

    monkeypatch.setattr(_engine, "DISPATCH_CHUNK", 4)
    engine, step, init = shared_engine("duel")
    one_game = jax.jit(lambda s, a: jax.lax.map(lambda x: engine.adjudicate(*x), (s, a)))
    # [8 groups, 8 games]: each group's games get the group's orders (unbatched inside).
    nested = jax.jit(jax.vmap(jax.vmap(engine.adjudicate, in_axes=(0, None))))
    rng = np.random.default_rng(1)
    s = init(jax.random.split(jax.random.key(5), 64))
    # The accelerators' form (a select over every phase kind's transition), here on the CPU.
    monkeypatch.setattr(_engine, "CHUNKED_BACKENDS", ())
    no_orders = jnp.zeros(s.legal_action_mask.shape[:3], jnp.int32)
    select = jax.jit(jax.vmap(engine.adjudicate)).lower(s, no_orders).compile()
    monkeypatch.setattr(_engine, "CHUNKED_BACKENDS", ("cpu",))
    # Chunks of 16 (a quarter of the batch), the last retreats and adjustments in chunks of 4.
    monkeypatch.setattr(_engine, "DISPATCH_CHUNK", 16)
    monkeypatch.setattr(_engine, "DISPATCH_TAIL", 4)
    monkeypatch.setattr(_engine, "DISPATCH_TAIL_MIN", 4)
    tails = jax.jit(jax.vmap(engine.adjudicate)).lower(s, no_orders).compile()
    # Movement chunks of 16 sweeping once before their undecided games continue in sub-chunks
    # of 2: several sub-chunks per chunk, each written back.
    names = ("RESOLVE_FIRST_SWEEPS", "RESOLVE_STRAGGLERS", "RESOLVE_STRAGGLERS_MIN")
    defaults = [getattr(_movement, name) for name in names]
    for name, value in zip(names, (1, 8, 1), strict=True):
        monkeypatch.setattr(_movement, name, value)
    stragglers = jax.jit(jax.vmap(engine.adjudicate)).lower(s, no_orders).compile()
    for name, value in zip(names, defaults, strict=True):
        monkeypatch.setattr(_movement, name, value)
    monkeypatch.setattr(_engine, "DISPATCH_CHUNK", 4)
    kinds = set()
    for t in range(12):
        actions = jnp.asarray(random_legal_actions(rng, np.asarray(s.legal_action_mask)))
        group_actions = actions[::8]  # [8, P, K]
        want = one_game(s, jnp.repeat(group_actions, 8, axis=0))
        got = nested(jax.tree.map(lambda x: x.reshape(8, 8, *x.shape[1:]), s), group_actions)
        for field, w, g in zip(rpj.Position._fields, want, got, strict=True):
            np.testing.assert_array_equal(np.asarray(g).reshape(w.shape), w, err_msg=field)
        alone = one_game(s, actions)
        for form, run in (("select", select), ("tails", tails), ("stragglers", stragglers)):
            got = run(s, actions)
            for field, w, g in zip(rpj.Position._fields, alone, got, strict=True):
                np.testing.assert_array_equal(np.asarray(g), w, err_msg=f"{form} {field}")
        kinds.update(np.unique(np.asarray(s.phase_kind)).tolist())
        s = step(s, actions, jax.random.split(jax.random.key(20 + t), 64))
    assert kinds == {0, 1, 2}


def test_adjudicate_checks_action_shape():
    engine, _, init = shared_engine("duel")
    one = jax.tree.map(lambda x: x[0], init(jax.random.split(jax.random.key(0), 1)))
    with pytest.raises(AssertionError, match="shape"):
        engine.adjudicate(one, jnp.zeros((3, 1), jnp.int32))


def test_from_position_with_more_units_than_slots_raises():
    engine = rpj.RealpolitikJax("duel")  # solo victory at 3 centres: K = 2
    assert engine.board.num_slots == 2
    assert rpj.RealpolitikJax("duel", scoring="welfare").board.num_slots == 4
    pos = initial_position(engine.board.map)
    pos["units"]["NORTH"] = ["A NOR", "A EAS", "A WES"]
    with pytest.raises(ValueError, match=r"power NORTH has 3 .* K = 2 slots"):
        engine.from_position(pos)
