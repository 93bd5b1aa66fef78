"""Fictitious (self-)play: every new member is a best response to the uniform mixture of all
past members.

Brown 1951, "Iterative solution of games by fictitious play"; with learned best responses and
populations this is the fictitious self-play of Heinrich et al. 2015 in its simplest form, and
PSRO with the uniform meta-solver (Lanctot et al. 2017, Sec. 3: "fictitious play" as a special
case). It is therefore run by the PSRO loop (`population.psro.run_psro`) with
`meta_solver="uniform"`; `payoff_estimator="none"` skips the payoff bookkeeping the uniform
meta-solver does not need. Naive self-play, the other baseline, is `population.self_play`.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from detente.population.psro import PSROConfig, PSROResult, run_psro


def fictitious_play_config(base: PSROConfig | None = None, **overrides: Any) -> PSROConfig:
    """A PSRO config whose meta-solver is the uniform distribution (fictitious play).

    Args:
      base: the config to start from (default `PSROConfig()`).
      **overrides: further fields to replace (e.g. `payoff_estimator="none"`).

    Raises:
      ValueError: `overrides` sets another meta-solver, or a field is invalid.
    """
    if overrides.get("meta_solver", "uniform") != "uniform":
        raise ValueError(
            f"fictitious play uses the uniform meta-solver, got meta_solver="
            f"{overrides['meta_solver']!r}; use run_psro for other solvers"
        )
    base = base if base is not None else PSROConfig()
    return dataclasses.replace(base, **{**overrides, "meta_solver": "uniform"})


def run_fictitious_play(
    config: PSROConfig, *, run_dir: str | os.PathLike | None = None, **kwargs: Any
) -> PSROResult:
    """Runs fictitious play: `run_psro` with the uniform meta-solver.

    Args:
      config: a config with `meta_solver="uniform"` (see `fictitious_play_config`).
      run_dir: checkpoint directory (resumes if it holds a run).
      **kwargs: the other keyword arguments of `run_psro`.

    Raises:
      ValueError: `config.meta_solver` is not "uniform".
    """
    if config.meta_solver != "uniform":
        raise ValueError(
            f"fictitious play needs meta_solver='uniform', got {config.meta_solver!r}; build "
            "the config with fictitious_play_config"
        )
    return run_psro(config, run_dir=run_dir, **kwargs)
