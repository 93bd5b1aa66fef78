"""`detente report RUN_DIR`: a Markdown report with PNG plots of whatever a run directory holds.

What is read (all optional, found anywhere under RUN_DIR; docs/reports.md has the formats):

* `metrics.csv` (written by `detente.lib.CsvLogger`): learning curves against `step`: losses,
  per-seat episode returns and `nash_conv`, one figure per file.
* `results.json` (the quickstart): a table of exact NashConv, uniform versus trained.
* `payoffs.json`: a population's payoff table, `{"members": [S ids], "payoffs": [[S x S]],
  "kind": "payoff" | "win_rate"}`; row i column j is member i's mean payoff (or win rate, draws
  half) against member j. It gives a heatmap, the Nash-clustering "spinning top" and an
  alpha-rank summary (`detente.lib.meta_game`).
  It may also hold an N-player meta-game (`seat_members`, `meta_game`); a PSRO run's
  `checkpoint/payoffs.json` (the PayoffStore) is read with its `state.json`. Both give the
  full strategy-cycle table and alpha-rank response graphs (`detente.lib.meta_game.analysis`).
* `results.json` of a PSRO run (an object with `rows`): the per-iteration NashConv table.
* `leaderboard.json` (`detente leaderboard`): the table and a ratings-with-intervals plot.
* `approx_exploitability.json` (`ApproxExploitability.to_json`): the NashConv lower bound and the
  best responses' learning curves.

`detente evaluate PAYOFFS.json [--out DIR] [--json]` runs the same evaluators on one file.

Output: RUN_DIR/report.md and RUN_DIR/report/*.png (matplotlib, Agg backend). A malformed input
file raises `ValueError` naming the file and the problem; report.md is then not (re)written.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import os
import pathlib
import sys
from typing import Any

import numpy as np

from detente.lib.meta_game import (
    analyse_meta_game,
    analyse_population,
    antisymmetrize,
    response_graph,
    win_rate_to_antisymmetric,
)

__all__ = [
    "PAYOFFS_FILE",
    "PayoffData",
    "add_evaluate_parser",
    "add_report_parser",
    "evaluate_payoffs",
    "load_payoffs",
    "payoffs_markdown",
    "read_metrics_csv",
    "read_payoffs",
    "run_evaluate",
    "run_report",
    "write_evaluation",
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
    return _parse_table(path, data)


def _parse_table(path: pathlib.Path, data: dict) -> tuple[list[str], np.ndarray, np.ndarray]:
    for key in ("members", "payoffs"):
        if key not in data:
            raise ValueError(
                f"{path}: {key!r} is missing; a population table needs 'members' (S ids) and "
                "'payoffs' (an S x S matrix)"
            )
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
    conv = [
        k
        for k in ("nash_conv", "meta_nash_conv")
        if k in columns and np.any(np.isfinite(columns[k]))
    ]
    if conv:
        panels.append(("NashConv", conv, True))
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
        ax.set_xlabel("iteration" if "iteration" in columns else "update")
        values = np.concatenate([columns[k][np.isfinite(columns[k])] for k in keys])
        if log_scale and values.size and np.all(values > 0):
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
    if isinstance(rows, dict) and "rows" in rows:
        return _psro_results(path, rows)
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ValueError(
            f"{path}: expected a list of result rows (the quickstart) or an object with "
            "'rows' (a PSRO run)"
        )
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


@dataclasses.dataclass(frozen=True)
class PayoffData:
    """A validated `payoffs.json` (or a population run's payoff store).

    Attributes:
      path: the file read.
      source: how it was read ("payoffs.json", or "payoff store" with its state file).
      members: S member ids of the population table, or None (no table).
      table: float [S, S] as written, or None.
      antisymmetric: float [S, S], the table's antisymmetric form, or None.
      kind: "payoff" or "win_rate".
      seat_members: N lists of member ids of the N-player meta-game, or None.
      meta_game: float [N, S_1, ..., S_N], or None.
      reduction: how the table came from a meta-game ("one_vs_rest", "paired"), or None.
    """

    path: pathlib.Path
    source: str
    members: list[str] | None
    table: np.ndarray | None
    antisymmetric: np.ndarray | None
    kind: str
    seat_members: list[list[str]] | None
    meta_game: np.ndarray | None
    reduction: str | None = None


def _parse_meta_game(path: pathlib.Path, data: dict) -> tuple[list[list[str]], np.ndarray]:
    seats = data.get("seat_members")
    if "meta_game" not in data or seats is None:
        missing = "meta_game" if "meta_game" not in data else "seat_members"
        raise ValueError(
            f"{path}: {missing!r} is missing; an N-player meta-game needs 'seat_members' (N "
            "lists of member ids) and 'meta_game' ([N, S_1, ..., S_N] numbers)"
        )
    if (
        not isinstance(seats, list)
        or not seats
        or not all(isinstance(ids, list) and ids for ids in seats)
        or not all(isinstance(m, str) for ids in seats for m in ids)
    ):
        raise ValueError(f"{path}: 'seat_members' must be N non-empty lists of member ids")
    for seat, ids in enumerate(seats):
        if len(set(ids)) != len(ids):
            raise ValueError(f"{path}: seat_members[{seat}] repeats a member id")
    try:
        tensor = np.array(data["meta_game"], dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{path}: 'meta_game' must be a regular nested list of numbers [N, S_1, ..., S_N]"
        ) from None
    shape = (len(seats),) + tuple(len(ids) for ids in seats)
    if tensor.shape != shape:
        raise ValueError(
            f"{path}: 'meta_game' must have shape [N, S_1, ..., S_N] = {list(shape)} for the "
            f"seat_members given, got {list(tensor.shape)}"
        )
    bad = np.argwhere(~np.isfinite(tensor))
    if bad.size:
        index = tuple(int(i) for i in bad[0])
        profile = tuple(seats[p][i] for p, i in enumerate(index[1:]))
        raise ValueError(
            f"{path}: meta_game{list(index)} (player {index[0]}'s payoff at {profile}) is "
            f"{tensor[index]}; every entry must be finite"
        )
    return seats, tensor


def _store_to_report_json(path: pathlib.Path, data: dict) -> tuple[dict, str]:
    """A PSRO/league payoff store (checkpoint/payoffs.json) as payoffs.json content."""
    from detente.population.payoffs import PayoffStore

    try:
        store = PayoffStore.from_json(data)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    state_path = path.parent / "state.json"
    source = "payoff store"
    if state_path.is_file():
        state = _read_json(state_path)
        try:
            populations = [list(ids) for ids in state["populations"]]
            records = int(state["num_payoff_records"])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{state_path}: not a population run state ({error})") from None
        if records <= len(store):
            store.truncate(records)  # drop what an interrupted iteration left behind
        source = f"payoff store, populations from {state_path.name}"
    else:  # no run state: every member that sat in a seat, in order of first appearance
        populations = [
            list(dict.fromkeys(r.members[seat] for r in store.records))
            for seat in range(store.num_players)
        ]
    if len(populations) == 1:
        populations = populations * store.num_players
    if len(populations) != store.num_players:
        raise ValueError(
            f"{path}: {len(populations)} populations for a {store.num_players}-player store"
        )
    try:
        return store.to_report_json(populations), source
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def load_payoffs(path: str | os.PathLike) -> PayoffData:
    """Reads and validates a `payoffs.json`: a population table, a meta-game, or both.

    Also accepts a population run's payoff store (`checkpoint/payoffs.json` of `detente run
    psro`; format_version and records), read with the member lists of the `state.json` beside
    it and exported with `PayoffStore.to_report_json`.

    Returns:
      A `PayoffData`.

    Raises:
      ValueError: naming the file and the problem (missing keys, mismatched shapes,
        non-finite payoffs, duplicate ids, an unknown kind, a profile never played).
    """
    path = pathlib.Path(path)
    data = _read_json(path)
    source = "payoffs.json"
    if isinstance(data, dict) and "records" in data and "format_version" in data:
        data, source = _store_to_report_json(path, data)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    has_table = "members" in data or "payoffs" in data
    has_meta = "meta_game" in data or "seat_members" in data
    if not has_table and not has_meta:
        raise ValueError(
            f"{path}: expected 'members' and 'payoffs' (a population table [S, S]) and/or "
            "'seat_members' and 'meta_game' (an N-player meta-game); see docs/reports.md"
        )
    members = table = antisymmetric = seats = tensor = None
    if has_table:
        members, table, antisymmetric = _parse_table(path, data)
    if has_meta:
        seats, tensor = _parse_meta_game(path, data)
    return PayoffData(
        path=path,
        source=source,
        members=members,
        table=table,
        antisymmetric=antisymmetric,
        kind=data.get("kind", "payoff"),
        seat_members=seats,
        meta_game=tensor,
        reduction=data.get("table") if isinstance(data.get("table"), str) else None,
    )


# ----------------------------------------------------------------------------- evaluation


def _floats(values: Any, digits: int = 6) -> Any:
    return np.round(np.asarray(values, dtype=np.float64), digits).tolist()


def evaluate_payoffs(data: PayoffData, *, melo_steps: int = 2000) -> dict[str, Any]:
    """Every evaluator of `detente.lib.meta_game` on a payoff file, as a JSON-able dict.

    The population table (if any) gets `analyse_population` (Hodge shares, intransitive
    triples, Nash clustering and RPP, effective diversity, Nash averaging, single-population
    alpha-rank, Elo/mElo2 fit errors, meta NashConv of the maximum-entropy Nash); the
    N-player meta-game (if any) gets `analyse_meta_game` (multi-population alpha-rank,
    NashConv of uniform / alpha-rank / maximum-entropy Nash, CCE gap of the maximum-Gini CCE).

    Args:
      data: from `load_payoffs`.
      melo_steps: Adam steps of each mElo fit.

    Returns:
      {"population": {...} or None, "meta_game": {...} or None}, plus the analysis objects
      under "_population" / "_meta_game" (not JSON; dropped by `write_evaluation`).
    """
    result: dict[str, Any] = {"population": None, "meta_game": None}
    if data.antisymmetric is not None:
        analysis = analyse_population(data.antisymmetric, kind=data.kind, melo_steps=melo_steps)
        members = data.members
        result["_population"] = analysis
        result["population"] = {
            "members": members,
            "kind": data.kind,
            "hodge": {
                "transitive_fraction": round(analysis.transitive_fraction, 6),
                "cyclic_fraction": round(analysis.cyclic_fraction, 6),
                "ratings": _floats(analysis.hodge_ratings),
            },
            "intransitive_triples": {
                "count": analysis.triples,
                "total": analysis.triples_total,
                "fraction": round(analysis.triples_fraction, 6),
            },
            "nash_clustering": {
                "sizes": analysis.cluster_sizes.tolist(),
                "layers": [[members[i] for i in layer] for layer in analysis.cluster_layers],
                "rpp_to_next": _floats(analysis.rpp_to_next),
            },
            "effective_diversity": round(analysis.effective_diversity, 6),
            "nash_averaging": {
                "nash": _floats(analysis.nash),
                "ratings": _floats(analysis.nash_ratings),
            },
            "max_entropy_nash_conv": round(analysis.nash_conv, 9),
            "alpha_rank": {"model": "single_population", "mass": _floats(analysis.alpha_rank)},
            "melo": {
                "elo_rmse": round(analysis.elo_rmse, 6),
                "melo2_rmse": round(analysis.melo2_rmse, 6),
                "elo_log_loss": round(analysis.elo_log_loss, 6),
                "melo2_log_loss": round(analysis.melo2_log_loss, 6),
            },
        }
    if data.meta_game is not None:
        meta = analyse_meta_game(data.meta_game)
        result["_meta_game"] = meta
        result["meta_game"] = {
            "seat_members": data.seat_members,
            "constant_sum": meta.constant_sum,
            "alpha_rank": [_floats(m) for m in meta.alpha_rank],
            "uniform_nash_conv": round(meta.uniform_nash_conv, 6),
            "alpha_rank_nash_conv": round(meta.alpha_rank_nash_conv, 6),
            "max_entropy_nash": (
                [_floats(x) for x in meta.max_entropy_nash] if meta.max_entropy_nash else None
            ),
            "max_entropy_nash_conv": (
                None if meta.max_entropy_nash_conv is None else round(meta.max_entropy_nash_conv, 9)
            ),
            "max_gini_cce_gap": (
                None if meta.max_gini_cce_gap is None else round(meta.max_gini_cce_gap, 9)
            ),
            "max_gini_cce_marginals": (
                [_floats(x) for x in meta.max_gini_cce_marginals]
                if meta.max_gini_cce_marginals is not None
                else None
            ),
            "uniform_cce_gap": round(meta.uniform_cce_gap, 6),
            "notes": list(meta.notes),
        }
    return result


# ----------------------------------------------------------------------------- plots


def _short(label: str, width: int = 18) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def _plot_heatmap(data: PayoffData, out: pathlib.Path) -> None:
    plt = _pyplot()
    members, antisymmetric = data.members, data.antisymmetric
    size = len(members)
    side = min(12.0, 2.5 + 0.45 * size)
    fig, ax = plt.subplots(figsize=(side + 1.0, side))
    bound = float(np.max(np.abs(antisymmetric))) or 1.0
    image = ax.imshow(antisymmetric, cmap="RdBu", vmin=-bound, vmax=bound)
    labels = [_short(m) for m in members]
    ax.set_xticks(range(size), labels, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(size), labels, fontsize=7)
    if size <= 12:
        for i, j in np.ndindex(size, size):
            value = antisymmetric[i, j]
            ax.text(
                j,
                i,
                f"{value:+.2f}",
                ha="center",
                va="center",
                fontsize=6,
                color="white" if abs(value) > 0.6 * bound else "black",
            )
    ax.set_xlabel("column member")
    ax.set_ylabel("row member")
    what = "win rate - 1/2" if data.kind == "win_rate" else "(M - M^T) / 2"
    ax.set_title(f"row's advantage over column: {what}", fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def _plot_spinning_top(analysis, members: list[str], out: pathlib.Path) -> None:
    plt = _pyplot()
    sizes = analysis.cluster_sizes
    layers = np.arange(len(sizes))
    fig, ax = plt.subplots(figsize=(6.0, 1.2 + 0.45 * len(sizes)))
    ax.barh(layers, sizes, left=-sizes / 2.0, color="tab:blue", height=0.8)
    ax.invert_yaxis()  # strongest layer on top
    ax.set_yticks(layers, [f"layer {i + 1}" for i in layers], fontsize=8)
    for layer, size_ in zip(layers, sizes, strict=True):
        ax.text(0, layer, str(int(size_)), ha="center", va="center", color="white", fontsize=8)
        names = ", ".join(_short(members[i], 16) for i in analysis.cluster_layers[layer][:4])
        more = len(analysis.cluster_layers[layer]) - 4
        ax.text(
            sizes.max() / 2.0 + 0.2,
            layer,
            names + (f" +{more}" if more > 0 else ""),
            va="center",
            fontsize=7,
            color="dimgray",
        )
    ax.set_xlim(-sizes.max() / 2.0 - 0.5, sizes.max() / 2.0 + 0.2 + 0.3 * sizes.max() + 2.5)
    ax.set_xticks([])
    ax.set_xlabel("layer width = members in the Nash cluster (the spinning-top profile)")
    ax.set_title(
        f"Nash clustering: {len(sizes)} layers; Hodge cyclic share "
        f"{analysis.cyclic_fraction:.2f}, transitive {analysis.transitive_fraction:.2f}",
        fontsize=9,
    )
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def _plot_response_graph(
    graph, labels: list[str], title: str, out: pathlib.Path, max_nodes: int = 16
) -> None:
    """Nodes on a circle (area ~ stationary mass), arrows = transitions above neutral drift."""
    plt = _pyplot()
    from matplotlib.patches import FancyArrowPatch

    keep = np.sort(np.argsort(-graph.mass, kind="stable")[: min(max_nodes, graph.mass.size)])
    position = {}
    count = keep.size
    for slot, node in enumerate(keep):
        angle = np.pi / 2 - 2 * np.pi * slot / count
        position[int(node)] = (np.cos(angle), np.sin(angle)) if count > 1 else (0.0, 0.0)
    fig, ax = plt.subplots(figsize=(6.6, 6.6))
    top_weight = float(graph.weights.max()) if graph.weights.size else 1.0
    radius = {int(n): 0.05 + 0.16 * np.sqrt(graph.mass[n]) for n in keep}
    for s, t, w in zip(graph.sources, graph.targets, graph.weights, strict=True):
        if int(s) not in position or int(t) not in position:
            continue
        arrow = FancyArrowPatch(
            position[int(s)],
            position[int(t)],
            arrowstyle="-|>",
            mutation_scale=12,
            connectionstyle="arc3,rad=0.12",
            color="tab:gray",
            alpha=max(0.35, min(1.0, 40.0 / max(1, graph.weights.size)))
            * (0.4 + 0.6 * float(w) / top_weight),
            linewidth=0.5 + 1.5 * float(w) / top_weight,
            shrinkA=72 * radius[int(s)] * 6.6 / 2.9,
            shrinkB=72 * radius[int(t)] * 6.6 / 2.9,
            zorder=1,
        )
        ax.add_patch(arrow)
    cmap = plt.get_cmap("viridis")
    peak = float(graph.mass.max()) or 1.0
    for node in keep:
        x, y = position[int(node)]
        circle = plt.Circle(
            (x, y),
            radius[int(node)],
            color=cmap(graph.mass[node] / peak),
            zorder=2,
            ec="black",
            lw=0.5,
        )
        ax.add_patch(circle)
        ax.text(
            x * (1.17 + radius[int(node)]),
            y * (1.17 + radius[int(node)]),
            f"{_short(labels[node], 22)}\n{graph.mass[node]:.3f}",
            ha="center",
            va="center",
            fontsize=7,
            zorder=3,
        )
    ax.set_xlim(-1.6, 1.6)
    ax.set_ylim(-1.6, 1.6)
    ax.set_aspect("equal")
    ax.axis("off")
    hidden = graph.mass.size - keep.size
    note = f" ({hidden} lighter nodes not drawn)" if hidden > 0 else ""
    ax.set_title(
        f"{title}{note}\nnode area = stationary mass; arrow = move favoured by selection\n"
        f"(transition probability > {graph.threshold:.2g}, darker = likelier)",
        fontsize=8,
    )
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


# ----------------------------------------------------------------------------- markdown


def _top(labels: list[str], mass: np.ndarray, extra: np.ndarray, limit: int = 10) -> list[str]:
    lines = ["| member | alpha-rank mass | Nash-averaging rating |", "| --- | ---: | ---: |"]
    for i in np.argsort(-mass, kind="stable")[: min(len(labels), limit)]:
        lines.append(f"| {labels[i]} | {mass[i]:.3f} | {extra[i]:+.3f} |")
    return lines


def payoffs_markdown(
    data: PayoffData,
    evaluation: dict[str, Any],
    plots: pathlib.Path | None,
    root: pathlib.Path,
    slug: str,
) -> list[str]:
    """The Markdown (and, when `plots` is given, the PNGs) of one payoff file's evaluation.

    Args:
      data: from `load_payoffs`.
      evaluation: from `evaluate_payoffs(data)`.
      plots: directory for the PNGs, or None for text only.
      root: image links are relative to it.
      slug: distinguishes this file's image names.

    Returns:
      Markdown lines.
    """
    lines: list[str] = []
    population = evaluation.get("_population")
    if population is not None:
        members = data.members
        p = evaluation["population"]
        how = {
            "one_vs_rest": "one-versus-the-rest over seats",
            "paired": "member k = the k-th member of every population, seat-averaged",
        }.get(data.reduction or "", "row versus column")
        lines += [
            f"**Population table** ({len(members)} members, {data.kind}; {how}):",
            "",
        ]
        if plots is not None:
            heatmap = plots / f"payoffs_{slug}.png"
            top = plots / f"spinning_top_{slug}.png"
            graph_png = plots / f"response_graph_{slug}.png"
            _plot_heatmap(data, heatmap)
            _plot_spinning_top(population, members, top)
            graph = response_graph(population.ranking)
            _plot_response_graph(graph, members, "alpha-rank (single population)", graph_png)
            lines += [
                f"![payoff heatmap]({_rel(heatmap, root)}) ![spinning top]({_rel(top, root)})",
                "",
                f"![alpha-rank response graph]({_rel(graph_png, root)})",
                "",
            ]
        triples = p["intransitive_triples"]
        clustering = p["nash_clustering"]
        lines += [
            "| measure | value |",
            "| --- | --- |",
            f"| Hodge transitive / cyclic share | {p['hodge']['transitive_fraction']:.3f} / "
            f"{p['hodge']['cyclic_fraction']:.3f} |",
            f"| intransitive triples | {triples['count']} of {triples['total']} "
            f"({triples['fraction']:.3f}) |",
            f"| Nash clustering layer sizes (spinning top) | {clustering['sizes']} |",
            f"| RPP of layer l vs l + 1 | {[round(x, 3) for x in clustering['rpp_to_next']]} |",
            f"| effective diversity | {p['effective_diversity']:.4f} |",
            f"| meta NashConv of the max-entropy Nash | {p['max_entropy_nash_conv']:.2e} |",
            f"| Elo / mElo2 fit RMSE | {p['melo']['elo_rmse']:.4f} / "
            f"{p['melo']['melo2_rmse']:.4f} |",
            "",
            "Nash clustering: layer 1: " + ", ".join(clustering["layers"][0]) + ".",
            "",
            "Alpha-rank (single population, alpha 100, m 50) and Nash averaging (ratings A p at "
            "the maximum-entropy Nash p):",
            "",
        ]
        lines += _top(members, population.alpha_rank, population.nash_ratings) + [""]
    meta = evaluation.get("_meta_game")
    if meta is not None:
        m = evaluation["meta_game"]
        seats = data.seat_members
        shape = "x".join(str(len(ids)) for ids in seats)
        lines += [f"**{len(seats)}-player meta-game** ({shape} profiles):", ""]
        if plots is not None:
            graph = response_graph(meta.ranking)
            labels = [
                "(" + ", ".join(_short(seats[p][i], 10) for p, i in enumerate(profile)) + ")"
                for profile in graph.profiles
            ]
            suffix = "_profiles" if population is not None else ""
            graph_png = plots / f"response_graph{suffix}_{slug}.png"
            _plot_response_graph(graph, labels, "alpha-rank (one population per player)", graph_png)
            lines += [f"![alpha-rank response graph, profiles]({_rel(graph_png, root)})", ""]

        def _num(value: float | None, spec: str = ".4f") -> str:
            return "n/a" if value is None else format(value, spec)

        lines += [
            "| measure | value |",
            "| --- | --- |",
            f"| constant-sum | {m['constant_sum']} |",
            f"| meta NashConv: uniform | {m['uniform_nash_conv']:.4f} |",
            f"| meta NashConv: alpha-rank marginals | {m['alpha_rank_nash_conv']:.4f} |",
            f"| meta NashConv: max-entropy Nash | {_num(m['max_entropy_nash_conv'], '.2e')} |",
            f"| CCE gap: uniform joint | {m['uniform_cce_gap']:.4f} |",
            f"| CCE gap: max-Gini CCE | {_num(m['max_gini_cce_gap'], '.2e')} |",
            "",
        ]
        for player, (ids, mass) in enumerate(zip(seats, meta.alpha_rank, strict=True)):
            best = np.argsort(-mass, kind="stable")[:5]
            lines.append(
                f"Player {player} alpha-rank mass: "
                + ", ".join(f"{ids[i]} {mass[i]:.3f}" for i in best)
                + ("" if len(ids) <= 5 else ", ...")
            )
        lines += [""] + [f"Note: {note}." for note in meta.notes] + ([""] if meta.notes else [])
    return lines


def _payoffs_section(root: pathlib.Path, plots: pathlib.Path) -> list[str]:
    candidates = [p for p in sorted(root.rglob(PAYOFFS_FILE)) if plots not in p.parents]
    if not candidates:
        return []
    lines = ["## Population meta-game", ""]
    for path in candidates:
        data = load_payoffs(path)
        lines += [f"### {_rel(path, root)} ({data.source})", ""]
        lines += payoffs_markdown(data, evaluate_payoffs(data), plots, root, _slug(path, root))
    return lines


def write_evaluation(
    payoffs_path: str | os.PathLike, out_dir: str | os.PathLike | None = None
) -> tuple[str, dict[str, Any]]:
    """`detente evaluate`: every evaluator on one payoff file.

    Args:
      payoffs_path: a `payoffs.json` (or a population run's payoff store).
      out_dir: if given, writes `evaluation.md`, `evaluation.json` and PNGs (heatmap,
        spinning top, response graph) there.

    Returns:
      (the Markdown text, the JSON-able evaluation).

    Raises:
      ValueError: a malformed file (the message names it and the problem).
    """
    data = load_payoffs(payoffs_path)
    evaluation = evaluate_payoffs(data)
    public = {k: v for k, v in evaluation.items() if not k.startswith("_")}
    public["source"] = str(data.path)
    root = pathlib.Path(out_dir) if out_dir is not None else None
    if root is not None:
        root.mkdir(parents=True, exist_ok=True)
    lines = [f"# Evaluation: {data.path.name} ({data.source})", ""]
    lines += payoffs_markdown(data, evaluation, root, root or pathlib.Path("."), "evaluation")
    text = "\n".join(lines).rstrip() + "\n"
    if root is not None:
        (root / "evaluation.md").write_text(text, encoding="utf-8")
        (root / "evaluation.json").write_text(
            json.dumps(public, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
    return text, public


def _cell(value: Any) -> str:
    return "-" if value is None or not math.isfinite(float(value)) else f"{float(value):.4f}"


def _psro_results(path: pathlib.Path, data: dict) -> list[str]:
    """The per-iteration table and final meta-strategies of a PSRO run's results.json."""
    rows = data["rows"]
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ValueError(f"{path}: 'rows' must be a list of iteration rows (objects)")
    lines = [
        f"## PSRO on {data.get('game', '?')}",
        "",
        "| iteration | members | NashConv (exact) | meta NashConv | s |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        try:
            lines.append(
                f"| {int(row['iteration'])} | {int(row['population_size'])} | "
                f"{_cell(row.get('nash_conv'))} | {_cell(row.get('meta_nash_conv'))} | "
                f"{float(row.get('seconds') or 0.0):.1f} |"
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}: a row lacks a field or has a bad value ({error})") from None
    final = data.get("final_meta_strategies")
    populations = data.get("populations")
    if isinstance(final, list) and isinstance(populations, list):
        lines += ["", "Final meta-strategies:", ""]
        for index, (ids, sigma) in enumerate(zip(populations, final, strict=False)):
            lines.append(
                f"- population {index}: "
                + ", ".join(f"{m} {float(p):.3f}" for m, p in zip(ids, sigma, strict=False))
            )
    return lines + [""]


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


def add_evaluate_parser(commands: Any) -> argparse.ArgumentParser:
    """Adds the `evaluate` subcommand (every evaluator on one payoff file)."""
    evaluate = commands.add_parser(
        "evaluate",
        help="strategy-cycle and equilibrium analysis of a payoffs.json",
        description="Every lib.meta_game evaluator on a payoff table; see docs/reports.md.",
    )
    evaluate.add_argument("payoffs", help="a payoffs.json (or a run's checkpoint/payoffs.json)")
    evaluate.add_argument(
        "--out", default=None, help="write evaluation.md, evaluation.json and plots here"
    )
    evaluate.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    return evaluate


def run_evaluate(args: argparse.Namespace) -> int:
    """Runs `detente evaluate`; returns the exit status."""
    text, public = write_evaluation(args.payoffs, args.out)
    print(json.dumps(public, indent=1, sort_keys=True) if args.json else text, end="")
    if args.json:
        print()
    if args.out:
        print(f"evaluation written to {args.out}", file=sys.stderr)
    return 0
