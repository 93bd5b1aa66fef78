"""Named, typed experiment configs and the entry points that assemble the parts; the CLI."""

from detente.experiments.overrides import apply_overrides, config_to_dict
from detente.experiments.quickstart import (
    QuickstartConfig,
    QuickstartRow,
    format_table,
    run_quickstart,
)
from detente.experiments.registry import EXPERIMENTS, Experiment, get_experiment

__all__ = [
    "EXPERIMENTS",
    "Experiment",
    "QuickstartConfig",
    "QuickstartRow",
    "apply_overrides",
    "config_to_dict",
    "format_table",
    "get_experiment",
    "run_quickstart",
]
