"""Metrics loggers: CSV files and TensorBoard event files, behind one small interface.

Training loops call `logger.write(step, metrics)` with a flat dict of scalars; nothing in
detente prints metrics directly.
"""

from __future__ import annotations

import csv
import math
import os
import pathlib
from collections.abc import Mapping, Sequence
from typing import Protocol


class Logger(Protocol):
    """Anything that records scalar metrics at a step."""

    def write(self, step: int, metrics: Mapping[str, float]) -> None:
        """Records `metrics` (name -> scalar) at `step`."""

    def close(self) -> None:
        """Flushes and releases files."""


class CsvLogger:
    """Appends rows to `<directory>/<name>.csv`; new metric names extend the header.

    Appending keeps earlier rows when a run resumes.
    """

    def __init__(self, directory: str | os.PathLike, name: str = "metrics"):
        self.path = pathlib.Path(directory) / f"{name}.csv"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fields: list[str] = []
        if self.path.exists() and self.path.stat().st_size:
            with open(self.path, newline="") as f:
                self._fields = next(csv.reader(f), [])

    def write(self, step: int, metrics: Mapping[str, float]) -> None:
        """Appends one row (step plus metrics)."""
        row = {"step": int(step), **{k: float(v) for k, v in metrics.items()}}
        new = [key for key in row if key not in self._fields]
        if new:
            self._rewrite_header(self._fields + new)
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, fieldnames=self._fields).writerow(row)

    def _rewrite_header(self, fields: list[str]) -> None:
        rows = []
        if self.path.exists():
            with open(self.path, newline="") as f:
                rows = list(csv.DictReader(f))
        self._fields = fields
        with open(self.path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)

    def close(self) -> None:
        """Nothing is held open between writes."""


class TensorBoardLogger:
    """Writes scalars to TensorBoard event files in `directory` (via tensorboardX)."""

    def __init__(self, directory: str | os.PathLike):
        from tensorboardX import SummaryWriter  # imported here: only this logger needs it

        self._writer = SummaryWriter(logdir=str(directory))

    def write(self, step: int, metrics: Mapping[str, float]) -> None:
        """Adds one scalar per metric at `step`."""
        for name, value in metrics.items():
            value = float(value)
            if math.isfinite(value):
                self._writer.add_scalar(name, value, global_step=int(step))
        self._writer.flush()

    def close(self) -> None:
        """Flushes and closes the event file."""
        self._writer.close()


class MultiLogger:
    """Forwards every write to several loggers."""

    def __init__(self, loggers: Sequence[Logger]):
        self._loggers = list(loggers)

    def write(self, step: int, metrics: Mapping[str, float]) -> None:
        """Writes to every logger."""
        for logger in self._loggers:
            logger.write(step, metrics)

    def close(self) -> None:
        """Closes every logger."""
        for logger in self._loggers:
            logger.close()


def make_run_logger(directory: str | os.PathLike, name: str = "metrics") -> MultiLogger:
    """CSV plus TensorBoard logging into one run directory."""
    return MultiLogger([CsvLogger(directory, name), TensorBoardLogger(directory)])
