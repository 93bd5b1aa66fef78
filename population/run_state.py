"""Checkpoints of population runs (PSRO, fictitious play): everything needed to resume exactly.

A run directory's `checkpoint/` holds

* `population/`: the members (`Population.save`: one npz+JSON checkpoint per member and an
  index with content hashes);
* `payoffs.json`: the payoff store;
* `state.json`: the iteration index, each population's member ids, the meta-strategies and
  metric rows of every finished iteration, the number of payoff records they cover, and the
  run's config (the seed in it determines every key).

`state.json` is written last, atomically, and is the truth: members or payoff records written
by an iteration that was killed before its `state.json` are ignored on load (and rewritten
identically when the iteration is replayed), so a run killed at any moment resumes from its
last finished iteration as if it had never stopped.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import Any

from detente.lib.checkpoint import CheckpointError
from detente.population._io import read_json, write_json_atomic
from detente.population.members import Population
from detente.population.payoffs import PayoffStore

CHECKPOINT_DIR = "checkpoint"
STATE_FILE = "state.json"
FORMAT_VERSION = 1


@dataclasses.dataclass
class RunState:
    """The bookkeeping of a population run between iterations.

    Attributes:
      iteration: iterations finished (members added and payoffs filled).
      populations: member ids of each population, in order (one list for a shared
        population, one per player otherwise).
      meta_strategies: per finished iteration, each population's meta-strategy.
      rows: per finished iteration, its metrics (JSON scalars).
      num_payoff_records: payoff records that belong to finished iterations.
      config: the run's config as a dict.
    """

    iteration: int
    populations: list[list[str]]
    meta_strategies: list[list[list[float]]]
    rows: list[dict[str, Any]]
    num_payoff_records: int
    config: dict[str, Any]


def checkpoint_path(run_dir: str | os.PathLike) -> pathlib.Path:
    """The checkpoint directory of a run directory."""
    return pathlib.Path(run_dir) / CHECKPOINT_DIR


def save_run(
    run_dir: str | os.PathLike, state: RunState, population: Population, payoffs: PayoffStore
) -> None:
    """Saves the population, the payoffs and then, atomically, the state."""
    directory = checkpoint_path(run_dir)
    population.save(directory / "population")
    payoffs.save(directory / "payoffs.json")
    write_json_atomic(
        directory / STATE_FILE, {"format_version": FORMAT_VERSION, **dataclasses.asdict(state)}
    )


def has_run(run_dir: str | os.PathLike | None) -> bool:
    """Whether `run_dir` holds a run checkpoint."""
    return run_dir is not None and (checkpoint_path(run_dir) / STATE_FILE).is_file()


def load_run(run_dir: str | os.PathLike, template: Any) -> tuple[RunState, Population, PayoffStore]:
    """Loads a run checkpoint, dropping whatever an interrupted iteration left behind.

    Args:
      run_dir: the run directory.
      template: a parameter pytree of the members' structure.

    Raises:
      CheckpointError: missing or corrupt files, or a member whose content hash does not
        match the index (named in the message).
    """
    directory = checkpoint_path(run_dir)
    try:
        raw = read_json(directory / STATE_FILE, "run state")
    except (FileNotFoundError, ValueError) as error:
        raise CheckpointError(str(error)) from error
    if not isinstance(raw, dict) or raw.pop("format_version", None) != FORMAT_VERSION:
        raise CheckpointError(
            f"corrupt run state {directory / STATE_FILE}: format_version {FORMAT_VERSION} expected"
        )
    try:
        state = RunState(**raw)
    except TypeError as error:
        raise CheckpointError(f"corrupt run state {directory / STATE_FILE}: {error}") from error
    member_ids = list(dict.fromkeys(m for ids in state.populations for m in ids))
    population = Population.load(directory / "population", template, member_ids=member_ids)
    try:
        payoffs = PayoffStore.load(directory / "payoffs.json")
    except (FileNotFoundError, ValueError) as error:
        raise CheckpointError(f"run {directory}: {error}") from error
    if len(payoffs) < state.num_payoff_records:
        raise CheckpointError(
            f"run {directory}: payoffs.json holds {len(payoffs)} records but the state needs "
            f"{state.num_payoff_records}"
        )
    payoffs.truncate(state.num_payoff_records)
    return state, population, payoffs
