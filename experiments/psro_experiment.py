"""The `psro` experiment: PSRO with PPO best responses, evaluated exactly on small games.

`detente run psro --set game=kuhn_poker(players=3)` runs `detente.population.run_psro` with a
`PSROConfig`, prints the NashConv of the meta-strategy mixture per iteration (exact for small
games; on a JAX-only game such as `--set "game=realpolitik_jax(map=duel,max_years=2)" --set
payoff_estimator=sampled --set backend=jax`, the empirical meta-game's only), and writes
to the run directory: `metrics.csv` (one row per iteration),
`learner.csv` (the best responses' PPO metrics), `results.json` (the rows and final
meta-strategies) and `checkpoint/` (population, payoffs, run state; an interrupted run resumes
from it).
"""

from __future__ import annotations

import json
import math
import pathlib

from tqdm.auto import tqdm

from detente.lib import CsvLogger
from detente.population.psro import PSROConfig, PSROResult, run_psro


def run_psro_experiment(
    config: PSROConfig, run_dir: str | pathlib.Path, *, progress: bool = True
) -> PSROResult:
    """Runs (or resumes) PSRO into `run_dir`; returns the `PSROResult`."""
    run_dir = pathlib.Path(run_dir)
    logger = CsvLogger(run_dir, "metrics")
    learner_logger = CsvLogger(run_dir, "learner")
    bar = tqdm(
        total=config.iterations + 1, desc=f"psro {config.game}", disable=not progress, leave=False
    )

    def on_iteration(row):
        bar.update(1)
        # The exact NashConv where it is evaluated, else the empirical meta-game's.
        name = "nash_conv" if math.isfinite(row["nash_conv"]) else "meta_nash_conv"
        bar.set_postfix({name: f"{row[name]:.3g}"})

    try:
        result = run_psro(
            config,
            run_dir=run_dir,
            logger=logger,
            learner_logger=learner_logger,
            on_iteration=on_iteration,
        )
    finally:
        bar.close()
    with open(run_dir / "results.json", "w") as f:
        json.dump(
            {
                "game": result.spec.name,
                "rows": result.rows,
                "populations": result.populations,
                "final_meta_strategies": [s.tolist() for s in result.meta_strategies[-1]],
                "member_hashes": result.population.hashes(),
            },
            f,
            indent=1,
        )
    return result


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return f"{'-':>14}"
    return f"{value:>14.4f}"


def _gain_ratio(row: dict) -> float | None:
    """Learned over exact best-response gains, summed over seats (None if not evaluated)."""
    exact = [v for k, v in row.items() if k.startswith("exact_gain_p") and v is not None]
    learned = [v for k, v in row.items() if k.startswith("br_gain_p") and v is not None]
    if not exact or len(exact) != len(learned) or sum(exact) <= 0:
        return None
    return sum(learned) / sum(exact)


def _meta_gain(row: dict, num_players: int) -> float | None:
    """The new best responses' gains in the empirical meta-game, summed over seats (None
    unless the payoffs were sampled)."""
    if row.get("meta_br_gain") is not None:  # a shared population: the mean over the seats
        return num_players * row["meta_br_gain"]
    gains = [v for k, v in row.items() if k.startswith("meta_br_gain_p") and v is not None]
    return sum(gains) if gains else None


def format_psro_table(result: PSROResult) -> str:
    """NashConv per iteration as a plain-text table.

    "BR/exact gain" is how much of the exact best responses' gain over the iteration's
    meta-strategy mixture the learned best responses reached (1 for perfect ones; games with a
    game tree). "meta BR gain" is the learned best responses' gain over that mixture in the
    empirical meta-game, summed over seats (sampled payoffs): near 0, they found nothing better.
    """
    header = (
        f"{'iteration':>9} {'members':>8} {'NashConv':>14} {'meta NashConv':>14} "
        f"{'BR/exact gain':>14} {'meta BR gain':>14} {'s':>7}"
    )
    lines = [f"PSRO on {result.spec.name}", header, "-" * len(header)]
    for row in result.rows:
        lines.append(
            f"{row['iteration']:>9.0f} {row['population_size']:>8.0f} {_cell(row['nash_conv'])} "
            f"{_cell(row['meta_nash_conv'])} {_cell(_gain_ratio(row))} "
            f"{_cell(_meta_gain(row, result.spec.num_players))} {row['seconds']:>7.1f}"
        )
    return "\n".join(lines)
