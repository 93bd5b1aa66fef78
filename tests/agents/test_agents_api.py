"""The public surface of detente.agents: every exported name exists and is documented."""

import inspect

import detente.agents as agents


def test_all_names_exist_and_have_docstrings():
    assert sorted(agents.__all__) == sorted(set(agents.__all__))
    for name in agents.__all__:
        obj = getattr(agents, name)
        if name.isupper():  # constants
            continue
        assert inspect.getdoc(obj), f"detente.agents.{name} has no docstring"


def test_agents_imports_only_lib_from_detente():
    import pathlib

    root = pathlib.Path(agents.__file__).parent
    for path in root.glob("*.py"):
        for line in path.read_text().splitlines():
            if line.startswith(("import detente", "from detente")):
                module = line.split()[1]
                assert module.startswith(("detente.lib", "detente.agents")), (path.name, line)
