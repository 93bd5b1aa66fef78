"""Packaging and public-surface checks: every package is installed and documented."""

import importlib
import pathlib
import typing

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _declared_packages() -> list[str]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["setuptools"]["packages"]


def test_every_package_folder_is_declared():
    found = {"detente"}
    for init in ROOT.rglob("__init__.py"):
        relative = init.parent.relative_to(ROOT)
        if relative.parts and relative.parts[0] in ("tests", "bench", "build", ".venv"):
            continue
        if any(part.startswith(".") for part in relative.parts):
            continue
        if relative.parts:
            found.add("detente." + ".".join(relative.parts))
    assert found == set(_declared_packages())


def test_tests_are_not_a_package():
    assert not list((ROOT / "tests").rglob("__init__.py"))


def test_public_names_have_docstrings():
    for package in _declared_packages():
        module = importlib.import_module(package)
        assert module.__doc__, f"{package} has no module docstring"
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if typing.get_origin(obj) is not None:  # a type alias such as Callable[..., X]
                continue
            if callable(obj) or isinstance(obj, type):
                assert obj.__doc__, f"{package}.{name} has no docstring"
