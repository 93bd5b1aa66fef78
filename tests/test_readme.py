"""The README's tour runs as written (an example no test runs is not an example)."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_readme_tour_runs(tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert blocks, "the README has no python tour"
    monkeypatch.chdir(tmp_path)  # the tour writes runs/ relative to the working directory
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    # The tour's own claims: uniform Kuhn NashConv is 11/12 and the run left a checkpoint.
    assert (tmp_path / "runs" / "kuhn" / "checkpoint" / "metadata.json").exists()
    assert namespace["results"], "the adjudication example returned no results"
