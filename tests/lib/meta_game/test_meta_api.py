"""The public surface of detente.lib.meta_game: every name exported and documented."""

import inspect

from detente.lib import meta_game


def test_every_public_name_is_exported_and_documented():
    assert meta_game.__doc__
    for name in meta_game.__all__:
        obj = getattr(meta_game, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert inspect.getdoc(obj), name
    assert sorted(meta_game.__all__) == sorted(set(meta_game.__all__))


def test_every_registered_solver_is_public_and_documented():
    for name, solver in meta_game.META_SOLVERS.items():
        assert solver.__name__ in meta_game.__all__, name
        assert solver.__doc__, name
