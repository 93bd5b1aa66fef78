"""`detente leaderboard` end to end: manifests, self-play run directories, bad pools."""

import dataclasses
import functools
import json
import shutil

import jax

from detente.agents import make_policy_value_network, make_ppo
from detente.experiments.cli import main
from detente.games import load
from detente.lib import env_spec_for, save_checkpoint
from detente.population import SelfPlayConfig
from detente.population.leaderboard_runner import Pool, network_member, write_pool

ARGS = ["--game", "kuhn_poker", "--seed", "3", "--games-per-pair", "8", "--bootstrap", "30"]


@functools.lru_cache  # one Network object: its jitted init compiles once
def _network():
    return make_policy_value_network(env_spec_for(load("kuhn_poker")), hidden_sizes=(8,))


def _pool(tmp_path):
    network = _network()
    members = [network_member(f"m{i}", network.init(jax.random.key(i)), (8,)) for i in (0, 1)]
    return write_pool(tmp_path / "pool", Pool(tuple(members)))


def test_cli_writes_and_reproduces_a_leaderboard(tmp_path, capsys):
    manifest = _pool(tmp_path)
    out = tmp_path / "out"
    assert main(["leaderboard", str(manifest), *ARGS, "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "| rank | member |" in printed and "uniform_random" in printed
    table = json.loads((out / "leaderboard.json").read_text())
    assert {row["id"] for row in table["rows"]} == {"m0", "m1", "uniform_random"}
    first = (out / "leaderboard.md").read_bytes()
    # Rerunning into the same directory plays nothing and rewrites the same bytes.
    assert main(["leaderboard", str(manifest), *ARGS, "--out", str(out), "--no-progress"]) == 0
    assert "0 matches played" in capsys.readouterr().out
    assert (out / "leaderboard.md").read_bytes() == first


def test_cli_names_the_changed_member(tmp_path, capsys):
    manifest = _pool(tmp_path)
    network = _network()
    save_checkpoint(
        manifest.parent / "members" / "m1", network.init(jax.random.key(7)), {"hidden_sizes": [8]}
    )
    status = main(["leaderboard", str(manifest), *ARGS, "--out", str(tmp_path / "o")])
    assert status == 2
    assert "member 'm1' changed" in capsys.readouterr().err
    assert main(["leaderboard", str(tmp_path / "nothing"), *ARGS, "--out", str(tmp_path)]) == 2


def test_self_play_run_directories_form_a_pool(tmp_path, capsys):
    # The checkpoint layout of detente.population.self_play (run_dir/checkpoint holding
    # (TrainingState, result params) and the config), written without training to keep the
    # test fast: the metadata is built from SelfPlayConfig exactly as train_self_play does.
    config = SelfPlayConfig(game="kuhn_poker", hidden_sizes=(8,))
    state = make_ppo(_network(), config.ppo)[0](jax.random.key(0))
    runs = tmp_path / "runs"
    metadata = {
        "update": 1,
        "env_steps": 32,
        "game": "kuhn_poker()",
        "config": dataclasses.asdict(config),
    }
    save_checkpoint(runs / "a" / "checkpoint", (state, state.params), metadata)
    shutil.copytree(runs / "a", runs / "b")
    out = tmp_path / "out"
    assert main(["leaderboard", str(runs), *ARGS, "--out", str(out), "--no-progress"]) == 0
    pool = json.loads((out / "pool.json").read_text())
    assert [m["id"] for m in pool["members"]] == ["a", "b", "uniform_random"]
    assert pool["members"][0]["content_hash"] == pool["members"][1]["content_hash"]
