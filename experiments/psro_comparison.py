"""The `psro_comparison` experiment: detente PSRO next to OpenSpiel psro_v2 on the same game.

For each game (by default 3-player Kuhn poker and 2-player Leduc poker) two PSRO runs, each
reporting the exact NashConv of its meta-strategy mixture per iteration:

* **detente** (`population.run_psro`): PPO best responses (an *approximate*, learned oracle:
  `best_response.num_updates` PPO updates against opponents drawn from the meta-strategy),
  exact meta-game payoffs on the game tree, the `meta_solver` of `lib.meta_game`, exact
  NashConv of the reach-weighted mixture (`population.TabularMembers`);
* **OpenSpiel** (`open_spiel.python.algorithms.psro_v2.psro_v2.PSROSolver`): its *exact*
  best-response oracle (`best_response_oracle.BestResponseOracle`, C++ `TabularBestResponse`
  against the meta-strategy mixture), meta-game payoffs *sampled* from
  `openspiel_sims_per_entry` games per entry, its `"prd"` meta-solver, starting from the
  uniform random policy; NashConv of `policy_aggregator.PolicyAggregator`'s mixture by
  OpenSpiel's `exploitability.nash_conv`.

The OpenSpiel curve is therefore a reference for what PSRO reaches with perfect best
responses; the gap to detente's curve is the cost of learning them with PPO. Iteration k is the
population after k best-response rounds (k = 0: the initial policies). Wall time is
cumulative and includes each side's own evaluation. OpenSpiel's payoff sampling and strategy
selection draw from Python's and numpy's global random generators (inside psro_v2); the
experiment seeds both from `openspiel_seed` and the game for each OpenSpiel run and restores
their states afterwards, so both curves are reproducible (detente's from `detente.seed`).

Outputs in the run directory: `curves.csv` (game, implementation, oracle, iteration,
population_size, wall_time, nash_conv), `psro_<game>.png` (NashConv against iteration and
against wall time) and `results.json`.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import hashlib
import importlib.util
import io
import json
import pathlib
import random
import sys
import time
import types
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np
import pyspiel

from detente.experiments.cycles_experiment import slug
from detente.games import load
from detente.lib.config_checks import check_count
from detente.population import OpponentTrainingConfig, PSROConfig, run_psro

CURVE_FIELDS = (
    "game",
    "implementation",
    "oracle",
    "iteration",
    "population_size",
    "wall_time",
    "nash_conv",
)
OPENSPIEL_META_SOLVERS = ("prd", "uniform")


def _detente_psro() -> PSROConfig:
    return PSROConfig(
        game="kuhn_poker(players=3)",
        iterations=4,
        meta_solver="projected_replicator_dynamics",
        best_response=OpponentTrainingConfig(batch_size=128, unroll_length=8, num_updates=60),
    )


@dataclasses.dataclass(frozen=True)
class PSROComparisonConfig:
    """Configuration of the `psro_comparison` experiment.

    Attributes:
      games: OpenSpiel game strings; both implementations run on each.
      iterations: best-response rounds of each implementation.
      detente: detente's PSRO config (its `game` and `iterations` are replaced).
      openspiel: run OpenSpiel's psro_v2 with the exact best-response oracle (False: detente
        only).
      openspiel_meta_solver: psro_v2's `meta_strategy_method`, "prd" (projected replicator
        dynamics, the same family as detente's default) or "uniform" (fictitious play).
        psro_v2's "nash" needs cvxpy, which detente does not depend on.
      openspiel_sims_per_entry: games sampled per meta-game entry by psro_v2.
      openspiel_prd_iterations: psro_v2's projected replicator dynamics steps per solve.
      openspiel_seed: seeds Python's and numpy's global random generators, which psro_v2 draws
        its sampled payoffs and selections from, for each game's OpenSpiel run (their states
        are restored afterwards).
    """

    games: tuple[str, ...] = ("kuhn_poker(players=3)", "leduc_poker")
    iterations: int = 4
    detente: PSROConfig = dataclasses.field(default_factory=_detente_psro)
    openspiel: bool = True
    openspiel_meta_solver: str = "prd"
    openspiel_sims_per_entry: int = 100
    openspiel_prd_iterations: int = 10_000
    openspiel_seed: int = 0

    def __post_init__(self):
        if not self.games:
            raise ValueError("PSROComparisonConfig.games must name at least one game")
        for game in self.games:
            load(game)  # fails early, naming the bad game or parameter
        for name in ("iterations", "openspiel_sims_per_entry", "openspiel_prd_iterations"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"PSROComparisonConfig.{name} must be a positive integer, got {value!r}"
                )
        if self.openspiel_meta_solver not in OPENSPIEL_META_SOLVERS:
            raise ValueError(
                f"PSROComparisonConfig.openspiel_meta_solver must be one of "
                f"{OPENSPIEL_META_SOLVERS}, got {self.openspiel_meta_solver!r}"
            )
        check_count("PSROComparisonConfig", "openspiel_seed", self.openspiel_seed, minimum=0)
        if not isinstance(self.openspiel, bool):
            raise ValueError(
                f"PSROComparisonConfig.openspiel must be a bool, got {self.openspiel!r}"
            )


class ComparisonPoint(NamedTuple):
    """One iteration of one implementation.

    Attributes:
      game: the game string.
      implementation: "detente" or "openspiel".
      oracle: the best-response oracle, e.g. "ppo(60 updates x 128 games x 8 steps)" or
        "exact".
      iteration: best-response rounds done.
      population_size: policies per player.
      wall_time: cumulative seconds, evaluation included.
      nash_conv: exact NashConv of the meta-strategy mixture.
    """

    game: str
    implementation: str
    oracle: str
    iteration: int
    population_size: int
    wall_time: float
    nash_conv: float


class ComparisonResult(NamedTuple):
    """The experiment's curves and files.

    Attributes:
      curves: every iteration of every run.
      plots: one PNG per game.
      run_dir: the run directory.
    """

    curves: list[ComparisonPoint]
    plots: list[pathlib.Path]
    run_dir: pathlib.Path


def _detente_curve(
    config: PSROComparisonConfig, game: str, run_dir: pathlib.Path
) -> list[ComparisonPoint]:
    psro_config = dataclasses.replace(config.detente, game=game, iterations=config.iterations)
    br = psro_config.best_response
    oracle = f"ppo({br.num_updates} updates x {br.batch_size} games x {br.unroll_length} steps)"
    result = run_psro(psro_config, run_dir=run_dir)
    points, wall_time = [], 0.0
    for row in result.rows:
        # Row k's seconds cover its evaluation and the training of the k-th best responses.
        points.append(
            ComparisonPoint(
                game=game,
                implementation="detente",
                oracle=oracle,
                iteration=int(row["iteration"]),
                population_size=int(row["population_size"]),
                wall_time=wall_time,
                nash_conv=float(row["nash_conv"]),
            )
        )
        wall_time += float(row["seconds"])
    return points


def _import_psro_v2() -> types.SimpleNamespace:
    """Imports OpenSpiel's psro_v2 pieces.

    psro_v2 imports `lp_solver` (needs cvxpy) and alpha-rank's visualiser (needs networkx) at
    module load, for its "nash" and "alpharank" meta-solvers only. detente depends on neither;
    when one is missing, a placeholder module that fails on use takes the place of the
    OpenSpiel module that needs it, so the exact best-response oracle and "prd" still load.
    """
    for dependency, module in (
        ("cvxpy", "open_spiel.python.algorithms.lp_solver"),
        ("networkx", "open_spiel.python.egt.alpharank_visualizer"),
    ):
        if importlib.util.find_spec(dependency) is None and module not in sys.modules:
            sys.modules[module] = _placeholder(module, dependency)
    from open_spiel.python import policy as openspiel_policy
    from open_spiel.python.algorithms import exploitability, policy_aggregator
    from open_spiel.python.algorithms.psro_v2 import (
        best_response_oracle,
        psro_v2,
        strategy_selectors,
    )

    return types.SimpleNamespace(
        policy=openspiel_policy,
        exploitability=exploitability,
        policy_aggregator=policy_aggregator,
        best_response_oracle=best_response_oracle,
        psro_v2=psro_v2,
        strategy_selectors=strategy_selectors,
    )


def _placeholder(module: str, dependency: str) -> types.ModuleType:
    placeholder = types.ModuleType(module)

    def missing(name: str):
        raise ImportError(f"{module}.{name} needs {dependency}, which is not installed")

    placeholder.__getattr__ = missing
    return placeholder


@contextlib.contextmanager
def _seeded_global_generators(*entropy: int) -> Iterator[None]:
    """Seeds Python's and numpy's global random generators (which psro_v2 draws from) from
    `entropy`, and restores their states on exit."""
    # The legacy global generator is the one psro_v2 draws from.
    python_state, numpy_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    seeds = np.random.SeedSequence([int(e) for e in entropy]).generate_state(2)
    random.seed(int(seeds[0]))
    np.random.seed(int(seeds[1]))  # noqa: NPY002
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)  # noqa: NPY002


def _openspiel_curve(config: PSROComparisonConfig, game_name: str) -> list[ComparisonPoint]:
    # The game's entropy is its string's bytes, so a game's curve does not depend on the others.
    game_entropy = int.from_bytes(hashlib.sha256(game_name.encode()).digest()[:4], "little")
    with _seeded_global_generators(config.openspiel_seed, game_entropy):
        return _openspiel_points(config, game_name)


def _openspiel_points(config: PSROComparisonConfig, game_name: str) -> list[ComparisonPoint]:
    os_ = _import_psro_v2()
    game = load(game_name)
    num_players = game.num_players()
    start = time.perf_counter()
    uniform = os_.policy.TabularPolicy(game)
    oracle = os_.best_response_oracle.BestResponseOracle(game=game, policy=uniform)
    with contextlib.redirect_stdout(io.StringIO()):  # psro_v2 prints its settings
        solver = _make_solver(os_, config, game, oracle, uniform)
    aggregator = os_.policy_aggregator.PolicyAggregator(game)
    points = []
    for iteration in range(config.iterations + 1):
        if iteration > 0:
            solver.iteration()
        mixture = aggregator.aggregate(
            range(num_players), solver.get_policies(), solver.get_meta_strategies()
        )
        nash_conv = float(os_.exploitability.nash_conv(game, mixture))
        points.append(
            ComparisonPoint(
                game=game_name,
                implementation="openspiel",
                oracle="exact",
                iteration=iteration,
                population_size=len(solver.get_policies()[0]),
                wall_time=time.perf_counter() - start,
                nash_conv=nash_conv,
            )
        )
    return points


def _make_solver(
    os_: types.SimpleNamespace,
    config: PSROComparisonConfig,
    game: pyspiel.Game,
    oracle: Any,
    uniform: Any,
) -> Any:
    """psro_v2's solver with the exact oracle, starting from the uniform policy per player."""
    num_players = game.num_players()
    return os_.psro_v2.PSROSolver(
        game,
        oracle,
        initial_policies=[uniform.__copy__() for _ in range(num_players)],
        sims_per_entry=config.openspiel_sims_per_entry,
        # "probabilistic" with one policy selected: one best response per player against the
        # meta-strategy mixture, as in detente (psro_v2_example's default for this oracle).
        training_strategy_selector=os_.strategy_selectors.probabilistic,
        meta_strategy_method=config.openspiel_meta_solver,
        prd_iterations=config.openspiel_prd_iterations,
        prd_gamma=1e-10,
        sample_from_marginals=True,
        symmetric_game=False,
    )


def plot_comparison(points: list[ComparisonPoint], game: str, path: pathlib.Path) -> pathlib.Path:
    """NashConv against iteration and against wall time, one line per implementation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    colors = {"detente": "tab:blue", "openspiel": "tab:orange"}
    for implementation, color in colors.items():
        curve = [p for p in points if p.game == game and p.implementation == implementation]
        if not curve:
            continue
        label = f"{implementation} PSRO, {curve[0].oracle} best responses"
        nash_conv = [p.nash_conv for p in curve]
        axes[0].plot([p.iteration for p in curve], nash_conv, "o-", color=color, label=label)
        axes[1].plot([p.wall_time for p in curve], nash_conv, "o-", color=color, label=label)
    axes[0].set_xlabel("PSRO iteration")
    axes[1].set_xlabel("wall time (s)")
    axes[0].set_ylabel("exact NashConv of the meta-strategy mixture")
    for axis in axes:
        axis.set_ylim(bottom=0.0)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    figure.suptitle(f"PSRO on {game}")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def run_psro_comparison(
    config: PSROComparisonConfig, run_dir: str | pathlib.Path, *, progress: bool = True
) -> ComparisonResult:
    """Runs both implementations on every game; writes curves.csv, PNGs and results.json.

    `progress` is accepted for the CLI; the runs print nothing.
    """
    del progress
    run_dir = pathlib.Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    points: list[ComparisonPoint] = []
    plots = []
    for game in config.games:
        points += _detente_curve(config, game, run_dir / slug(game) / "detente")
        if config.openspiel:
            points += _openspiel_curve(config, game)
        plots.append(plot_comparison(points, game, run_dir / f"psro_{slug(game)}.png"))
    with open(run_dir / "curves.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CURVE_FIELDS)
        for point in points:
            writer.writerow(point)
    with open(run_dir / "results.json", "w") as f:
        json.dump([p._asdict() for p in points], f, indent=1)
    return ComparisonResult(curves=points, plots=plots, run_dir=run_dir)


def format_comparison_table(result: ComparisonResult) -> str:
    """NashConv per iteration, both implementations side by side, per game."""
    lines = []
    for game in dict.fromkeys(p.game for p in result.curves):
        by_side = {
            side: {
                p.iteration: p for p in result.curves if p.game == game and p.implementation == side
            }
            for side in ("detente", "openspiel")
        }
        lines.append(f"PSRO on {game}: exact NashConv of the meta-strategy mixture (cumulative s)")
        header = f"{'iteration':>9} {'detente (PPO BR)':>22} {'OpenSpiel (exact BR)':>22}"
        lines += [header, "-" * len(header)]
        for iteration in sorted(set(by_side["detente"]) | set(by_side["openspiel"])):
            cells = []
            for side in ("detente", "openspiel"):
                point = by_side[side].get(iteration)
                cells.append(
                    f"{point.nash_conv:>12.4f} ({point.wall_time:>6.1f})" if point else f"{'-':>22}"
                )
            lines.append(f"{iteration:>9d} {cells[0]:>22} {cells[1]:>22}")
        lines.append("")
    lines.append(f"plots: {', '.join(str(p) for p in result.plots)}")
    return "\n".join(lines)
