"""`detente render` end to end: a position with orders, a replay, and bad input (exit status 2)."""

import json
import re
import xml.etree.ElementTree as ET

import pytest

from detente.experiments.cli import main
from detente.games import realpolitik as rp


def _write(path, obj):
    path.write_text(json.dumps(obj))
    return str(path)


def test_render_position_with_orders(tmp_path, capsys):
    m = rp.load_map("classic")
    position = _write(tmp_path / "pos.json", rp.initial_position(m))
    orders = _write(
        tmp_path / "orders.json", {"FRANCE": ["A PAR - BUR"], "GERMANY": ["A MUN - BUR"]}
    )
    out = tmp_path / "board.svg"
    assert main(["render", position, "--orders", orders, "--out", str(out), "--text"]) == 0
    ET.fromstring(out.read_text())
    printed = capsys.readouterr().out
    assert "A PAR - BUR" in printed and "bounce" in printed and f"wrote {out}" in printed
    # No --out: the text summary is printed.
    assert main(["render", position, "--map", "classic"]) == 0
    assert "FRANCE (France): 3 centres" in capsys.readouterr().out


def test_render_replay_end_to_end(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    replay = _write(tmp_path / "replay.json", rp.make_random_replay("duel", 3, seed=1))
    out = tmp_path / "frames"
    assert main(["render", "--replay", replay, "--out", str(out), "--text"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"phase_{i:03d}.{ext}" for i in range(3) for ext in ("png", "svg", "txt")]
    assert (out / "phase_001.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote 9 files for 3 phases" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, match",
    [
        (["render", "{tmp}/missing.json"], "position file '.*missing.json' does not exist"),
        (["render", "{tmp}/broken.json"], "position file '.*broken.json' is not valid JSON"),
        (["render", "{tmp}/pos.json", "--map", "atlantis"], "unknown map 'atlantis'"),
        (["render", "{tmp}/pos.json", "--orders", "{tmp}/bad_orders.json"], "orders file"),
        (["render", "{tmp}/pos.json", "--out", "{tmp}/board.gif"], "expected a file ending in"),
        (["render", "--replay", "{tmp}/broken.json", "--out", "{tmp}/o"], "replay file"),
        (["render", "--replay", "{tmp}/pos.json", "--out", "{tmp}/o"], "replay file .*'map'"),
        (["render", "--replay", "{tmp}/pos.json"], "needs --out"),
        (["render"], "give a POSITION.json"),
    ],
)
def test_bad_input_exits_2(tmp_path, capsys, argv, match):
    _write(tmp_path / "pos.json", rp.initial_position(rp.load_map("classic")))
    _write(tmp_path / "bad_orders.json", {"FRANCE": ["A PAR to BUR"]})
    (tmp_path / "broken.json").write_text("{not json")
    status = main([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("detente: error: ") and "Traceback" not in err
    assert re.search(match, err), err
