"""Every registered experiment builds a valid default config; the CLI rejects bad input."""

import pytest

from detente.experiments import EXPERIMENTS, get_experiment
from detente.experiments.cli import main


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_default_configs_are_valid(name):
    experiment = EXPERIMENTS[name]
    config = experiment.config_class()
    assert type(config).__dataclass_params__.frozen
    assert experiment.description and experiment.run.__doc__


def test_unknown_experiment():
    with pytest.raises(ValueError, match="unknown experiment 'quikstart'; registered"):
        get_experiment("quikstart")


def test_cli_lists_games(capsys):
    assert main(["games", "--filter", "kuhn"]) == 0
    out = capsys.readouterr().out
    assert "kuhn_poker" in out and "sequential" in out and "zero_sum" in out


def test_cli_bad_input_is_a_clear_error(capsys):
    assert main(["run", "quickstart", "--set", "trainer.batch_sise=3"]) == 2
    assert "unknown config key 'trainer.batch_sise'" in capsys.readouterr().err
    assert main(["run", "nothing"]) == 2
    assert "unknown experiment 'nothing'" in capsys.readouterr().err


def test_cli_prints_config(capsys):
    assert main(["run", "quickstart", "--set", "trainer.num_updates=7", "--print-config"]) == 0
    assert '"num_updates": 7' in capsys.readouterr().out
