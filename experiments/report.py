"""`detente report RUN_DIR`: a Markdown report with PNG plots of whatever a run directory holds.

What is read (all optional, found anywhere under RUN_DIR; docs/reports.md has the formats):

* `metrics.csv` (written by `detente.lib.CsvLogger`): learning curves against `step`: losses,
  per-seat episode returns and `nash_conv`, one figure per file.
* `results.json` (the quickstart): a table of exact NashConv, uniform versus trained.
* `payoffs.json`: a population's payoff table, `{"members": [S ids], "payoffs": [[S x S]],
  "kind": "payoff" | "win_rate"}`; row i column j is member i's mean payoff (or win rate, draws
  half) against member j. It gives a heatmap, the Nash-clustering "spinning top" and an
  alpha-rank summary (`detente.lib.meta_game`).
* `leaderboard.json` (`detente leaderboard`): the table and a ratings-with-intervals plot.
* `approx_exploitability.json` (`ApproxExploitability.to_json`): the NashConv lower bound and the
  best responses' learning curves.

Output: RUN_DIR/report.md and RUN_DIR/report/*.png (matplotlib, Agg backend). A malformed input
file raises `ValueError` naming the file and the problem; report.md is then not (re)written.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import pathlib
from typing import Any

import numpy as np

from detente.lib.meta_game import (
    alpha_rank,
    antisymmetrize,
    hodge_decomposition,
    nash_clustering,
    win_rate_to_antisymmetric,
)

__all__ = [
    "PAYOFFS_FILE",
    "add_report_parser",
    "read_metrics_csv",
    "read_payoffs",
    "run_report",
    "write_report",
]

PAYOFFS_FILE = "payoffs.json"
REPORT_FILE = "report.md"
PLOTS_DIR = "report"
_PAYOFF_KINDS = ("payoff", "win_rate")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display, also on headless machines
    import matplotlib.pyplot as plt

    return plt


def _read_json(path: pathlib.Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as error:
        raise ValueError(f"{path}: not readable JSON ({error})") from None


def read_metrics_csv(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Reads a metrics CSV (a `step` column plus metrics) into float columns (empty cells NaN).

    Raises:
      ValueError: if the file has no `step` column or a non-numeric cell.
    """
    path = pathlib.Path(path)
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
        fields = rows[0].keys() if rows else []
    if rows and "step" not in fields:
        raise ValueError(f"{path}: a metrics CSV needs a 'step' column, got {list(fields)}")
    columns: dict[str, np.ndarray] = {}
    for name in fields:
        values = []
        for number, row in enumerate(rows, start=2):
            cell = row.get(name)
            try:
                values.append(float(cell) if cell not in (None, "") else math.nan)
            except ValueError:
                raise ValueError(
                    f"{path}: line {number}, column {name!r} is not a number: {cell!r}"
                ) from None
        columns[name] = np.array(values)
    return columns


def read_payoffs(path: str | os.PathLike) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Reads and validates a `payoffs.json`.

    Returns:
      (member ids [S], the table float [S, S] as written, its antisymmetric form [S, S]:
      (M - M^T) / 2 for "payoff", W - 1/2 for "win_rate").

    Raises:
      ValueError: naming the problem: missing keys, unknown kind, a non-square table, a size
        that differs from the member list, duplicate ids, or non-finite entries.
    """
    path = pathlib.Path(path)
    data = _read_json(path)
    if not isinstance(data, dict) or "members" not in data or "payoffs" not in data:
        raise ValueError(f"{path}: expected an object with 'members' and 'payoffs'")
    members = data["members"]
    kind = data.get("kind", "payoff")
    if kind not in _PAYOFF_KINDS:
        raise ValueError(f"{path}: 'kind' must be one of {_PAYOFF_KINDS}, got {kind!r}")
    if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
        raise ValueError(f"{path}: 'members' must be a list of member ids (strings)")
    if len(set(members)) != len(members):
        raise ValueError(f"{path}: member ids must be distinct")
    try:
        table = np.array(data["payoffs"], dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{path}: 'payoffs' must be a square matrix of numbers") from None
    size = len(members)
    if table.shape != (size, size):
        raise ValueError(
            f"{path}: 'payoffs' must have shape [S, S] = [{size}, {size}] for the {size} "
            f"members, got {list(table.shape)}"
        )
    bad = np.argwhere(~np.isfinite(table))
    if bad.size:
        i, j = bad[0]
        raise ValueError(
            f"{path}: payoffs[{i}][{j}] ({members[i]} vs {members[j]}) is {table[i, j]}; "
            "every entry must be finite"
        )
    try:
        antisymmetric = (
            win_rate_to_antisymmetric(table) if kind == "win_rate" else antisymmetrize(table)
        )
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    return members, table, antisymmetric


# ----------------------------------------------------------------------------- sections


def _rel(path: pathlib.Path, root: pathlib.Path) -> str:
    return path.relative_to(root).as_posix()


def _slug(path: pathlib.Path, root: pathlib.Path) -> str:
    text = _rel(path.parent, root) if path.parent != root else "run"
    return "".join(c if c.isalnum() else "_" for c in text).strip("_") or "run"


def _plot_metrics(columns: dict[str, np.ndarray], title: str, out: pathlib.Path) -> list[str]:
    """One figure of losses / returns / NashConv against step; returns the panels drawn."""
    step = columns.get("step")
    if step is None or step.size == 0:
        return []
    panels = []
    losses = [k for k in columns if k.endswith("loss")]
    returns = [k for k in columns if "episode_return" in k]
    if losses:
        panels.append(("losses", losses, False))
    if returns:
        panels.append(("episode return", returns, False))
    if "nash_conv" in columns and np.any(np.isfinite(columns["nash_conv"])):
        panels.append(("NashConv (exact)", ["nash_conv"], True))
    if "entropy" in columns:
        panels.append(("policy entropy", ["entropy"], False))
    if not panels:
        return []
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    for ax, (name, keys, log_scale) in zip(axes[0], panels, strict=True):
        for key in keys:
            finite = np.isfinite(columns[key])
            ax.plot(step[finite], columns[key][finite], marker=".", label=key)
        ax.set_title(name)
        ax.set_xlabel("update")
        if log_scale and np.all(columns["nash_conv"][np.isfinite(columns["nash_conv"])] > 0):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        if len(keys) > 1:
            ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return [name for name, _, _ in panels]


def _metrics_section(root: pathlib.Path, plots: pathlib.Path) -> list[str]:
    lines = []
    for path in sorted(root.rglob("metrics.csv")):
        if plots in path.parents:
            continue
        columns = read_metrics_csv(path)
        image = plots / f"curves_{_slug(path, root)}.png"
        panels = _plot_metrics(columns, _rel(path, root), image)
        if not panels:
            continue
        lines += [f"### {_rel(path, root)}", ""]
        last = {}
        for key in ("nash_conv", "loss", "entropy"):
            if key in columns:
                finite = columns[key][np.isfinite(columns[key])]
                if finite.size:
                    last[key] = finite[-1]
        steps = columns["step"]
        lines.append(
            f"{steps.size} rows, updates {int(np.nanmin(steps))} to {int(np.nanmax(steps))}"
            + ("; last " + ", ".join(f"{k} {v:.4g}" for k, v in last.items()) if last else "")
            + "."
        )
        lines += ["", f"![learning curves]({_rel(image, root)})", ""]
    return (["## Learning curves", ""] + lines) if lines else []


def _results_section(root: pathlib.Path) -> list[str]:
    path = root / "results.json"
    if not path.is_file():
        return []
    rows = _read_json(path)
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ValueError(f"{path}: expected a list of result rows (objects)")
    lines = [
        "## Results (exact NashConv)",
        "",
        "| game | players | NashConv uniform | NashConv trained | env steps | wall s |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        try:
            lines.append(
                f"| {row['game']} | {row['players']} | {row['uniform_nash_conv']:.4f} | "
                f"{row['trained_nash_conv']:.4f} | {row['env_steps']} | {row['wall_time']:.1f} |"
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}: a row lacks a field or has a bad value ({error})") from None
    return lines + [""]


def _payoffs_section(root: pathlib.Path, plots: pathlib.Path) -> list[str]:
    candidates = sorted(root.rglob(PAYOFFS_FILE))
    if not candidates:
        return []
    lines = ["## Population meta-game", ""]
    plt = _pyplot()
    for path in candidates:
        members, table, antisymmetric = read_payoffs(path)
        slug = _slug(path, root)
        size = len(members)
        lines += [f"### {_rel(path, root)} ({size} members)", ""]

        fig, ax = plt.subplots(figsize=(1.0 + 0.5 * size, 0.8 + 0.5 * size))
        bound = float(np.max(np.abs(antisymmetric))) or 1.0
        image = ax.imshow(antisymmetric, cmap="RdBu", vmin=-bound, vmax=bound)
        ax.set_xticks(range(size), members, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(size), members, fontsize=7)
        ax.set_xlabel("column member")
        ax.set_ylabel("row member")
        ax.set_title("row's advantage (antisymmetric part)", fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.046)
        fig.tight_layout()
        heatmap = plots / f"payoffs_{slug}.png"
        fig.savefig(heatmap, dpi=100)
        plt.close(fig)

        hodge = hodge_decomposition(antisymmetric)
        clusters = nash_clustering(antisymmetric)
        fig, ax = plt.subplots(figsize=(5, 0.6 + 0.45 * len(clusters.sizes)))
        layers = np.arange(len(clusters.sizes))
        ax.barh(layers, clusters.sizes, left=-clusters.sizes / 2.0, color="tab:blue")
        ax.invert_yaxis()  # strongest layer on top
        ax.set_yticks(layers, [f"layer {i + 1}" for i in layers])
        for layer, size_ in zip(layers, clusters.sizes, strict=True):
            ax.text(0, layer, str(int(size_)), ha="center", va="center", color="white")
        ax.set_xticks([])
        ax.set_xlabel("layer width = members in the layer (the spinning-top profile)")
        ax.set_title(f"Nash clustering; cyclic fraction {hodge.cyclic_fraction:.2f}", fontsize=9)
        fig.tight_layout()
        top = plots / f"spinning_top_{slug}.png"
        fig.savefig(top, dpi=100)
        plt.close(fig)

        lines += [
            f"![payoff heatmap]({_rel(heatmap, root)}) ![spinning top]({_rel(top, root)})",
            "",
            f"Hodge decomposition: transitive fraction {hodge.transitive_fraction:.3f}, cyclic "
            f"fraction {hodge.cyclic_fraction:.3f}. Nash clustering: {len(clusters.sizes)} "
            f"layers of sizes {clusters.sizes.tolist()}; layer 1: "
            + ", ".join(members[i] for i in clusters.layers[0])
            + ".",
            "",
        ]
        # Two-population alpha-rank of the symmetric game: player 2's payoff in (i, j) is
        # M[j, i] (the column member's payoff against the row member).
        try:
            ranking = alpha_rank(np.stack([antisymmetric, antisymmetric.T]))
            mass = ranking.marginals[0]
            lines += [
                "Alpha-rank (alpha 100, population 50), row-player marginal mass:",
                "",
                "| member | mass | mean advantage |",
                "| --- | ---: | ---: |",
            ]
            for i in np.argsort(-mass, kind="stable")[: min(size, 10)]:
                lines.append(f"| {members[i]} | {mass[i]:.3f} | {hodge.ratings[i]:+.3f} |")
            lines.append("")
        except ValueError as error:
            lines += [f"Alpha-rank: not available ({error}).", ""]
    return lines


def _leaderboard_section(root: pathlib.Path, plots: pathlib.Path) -> list[str]:
    candidates = sorted(root.rglob("leaderboard.json"))
    if not candidates:
        return []
    lines = ["## Leaderboards", ""]
    plt = _pyplot()
    for path in candidates:
        data = _read_json(path)
        rows = data.get("rows") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise ValueError(f"{path}: expected an object with a 'rows' list")
        lines += [
            f"### {_rel(path, root)}: {data.get('game', '?')}, seed {data.get('seed', '?')}",
            "",
            f"Anchor `{data.get('anchor')}` at {data.get('anchor_rating')}; "
            f"{data.get('num_games')} games in {data.get('num_matches')} matches.",
            "",
            "| rank | member | hash | Elo | CI | games |",
            "| ---: | --- | --- | ---: | --- | ---: |",
        ]
        for row in rows:
            ci = (
                f"[{row['ci_low']:.1f}, {row['ci_high']:.1f}]"
                if row.get("ci_low") is not None
                else "n/a"
            )
            lines.append(
                f"| {row['rank']} | {row['id']} | `{row['hash']}` | {row['rating']:.1f} | {ci} | "
                f"{row['games']} |"
            )
        fig, ax = plt.subplots(figsize=(5.5, 0.8 + 0.35 * len(rows)))
        y = np.arange(len(rows))
        rating = np.array([r["rating"] for r in rows])
        has_ci = all(r.get("ci_low") is not None for r in rows)
        if has_ci:
            low = rating - np.array([r["ci_low"] for r in rows])
            high = np.array([r["ci_high"] for r in rows]) - rating
            ax.errorbar(rating, y, xerr=[low, high], fmt="o", capsize=3)
        else:
            ax.plot(rating, y, "o")
        ax.set_yticks(y, [r["id"] for r in rows], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel("Elo (bootstrap interval)")
        ax.grid(alpha=0.3, axis="x")
        fig.tight_layout()
        image = plots / f"leaderboard_{_slug(path, root)}.png"
        fig.savefig(image, dpi=100)
        plt.close(fig)
        lines += ["", f"![ratings]({_rel(image, root)})", ""]
    return lines


def _approx_section(root: pathlib.Path, plots: pathlib.Path) -> list[str]:
    candidates = sorted(root.rglob("approx_exploitability.json"))
    if not candidates:
        return []
    lines = ["## Approximate exploitability (learned best responses)", ""]
    plt = _pyplot()
    for path in candidates:
        data = _read_json(path)
        try:
            lines += [
                f"### {_rel(path, root)}: {data['game']}",
                "",
                f"NashConv lower bound {data['nash_conv_lower_bound']:.4f} "
                f"({100 * data['confidence']:.0f}% CI [{data['ci_low']:.4f}, "
                f"{data['ci_high']:.4f}], {data['eval_games']} evaluation games per value); "
                "per-player gains " + ", ".join(f"{g:.4f}" for g in data["per_player_gain"]) + ".",
                "",
            ]
            curves = [np.array(c, dtype=np.float64).reshape(-1, 2) for c in data["learning_curves"]]
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}: missing or bad field ({error})") from None
        fig, ax = plt.subplots(figsize=(5, 3.2))
        for player, curve in enumerate(curves):
            ax.plot(curve[:, 0], curve[:, 1], marker=".", label=f"BR of player {player}")
        ax.set_xlabel("update")
        ax.set_ylabel("training return of the BR seat")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        image = plots / f"best_responses_{_slug(path, root)}.png"
        fig.savefig(image, dpi=100)
        plt.close(fig)
        lines += [f"![best-response learning curves]({_rel(image, root)})", ""]
    return lines


def write_report(run_dir: str | os.PathLike) -> pathlib.Path:
    """Writes RUN_DIR/report.md and its plots in RUN_DIR/report/.

    Args:
      run_dir: a run directory (e.g. the quickstart's runs/quickstart).

    Returns:
      The report's path.

    Raises:
      ValueError: the directory does not exist, holds nothing to report, or a file in it is
        malformed (the message names it).
    """
    root = pathlib.Path(run_dir)
    if not root.is_dir():
        raise ValueError(f"run directory {str(root)!r} does not exist")
    plots = root / PLOTS_DIR
    plots.mkdir(exist_ok=True)
    sections = (
        _results_section(root)
        + _leaderboard_section(root, plots)
        + _approx_section(root, plots)
        + _payoffs_section(root, plots)
        + _metrics_section(root, plots)
    )
    if not sections:
        raise ValueError(
            f"run directory {str(root)!r} holds nothing to report: no metrics.csv, "
            f"results.json, {PAYOFFS_FILE}, leaderboard.json or approx_exploitability.json"
        )
    text = "\n".join([f"# Report: {root.resolve().name}", ""] + sections).rstrip() + "\n"
    path = root / REPORT_FILE
    path.write_text(text, encoding="utf-8")
    return path


def add_report_parser(commands: Any) -> argparse.ArgumentParser:
    """Adds the `report` subcommand to the `detente` subparsers `commands`."""
    report = commands.add_parser(
        "report",
        help="write RUN_DIR/report.md with plots of a run directory",
        description="Write a Markdown report with PNG plots; see docs/reports.md.",
    )
    report.add_argument("run_dir", help="the run directory (e.g. runs/quickstart)")
    return report


def run_report(args: argparse.Namespace) -> int:
    """Runs `detente report`; returns the exit status."""
    path = write_report(args.run_dir)
    print(f"report written to {path}")
    return 0
