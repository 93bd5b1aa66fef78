"""The `league` experiment: a small AlphaStar-style league, then its leaderboard and evaluation.

`detente run league` runs `detente.population.run_league` with a `LeagueConfig` (default: one
main agent, one main exploiter and one league exploiter on the 2-power realpolitik board "duel"
for 2 years), shows a progress bar over rounds, and writes to the run directory:

* `metrics.csv` (one row per round), `learner.csv` (the learners' PPO metrics);
* `checkpoint/` (population, payoffs, learners' training states, run state; an interrupted
  run resumes from it);
* `results.json` (member hashes, roles and parents, ratings, evaluation) and `leaderboard.txt`.

At the end it prints the leaderboard (Bradley-Terry ratings on the Elo scale from the payoff
store's matches, `lib.leaderboard.rate`, anchored at the initial member = 1000) and an
evaluation: the main agent's win-rate-like score against the initial policy, the Hodge split
(transitive / cyclic share) and the intransitive triples of the members' score table, and the
exact NashConv of the main agent where the game tree is small (not on realpolitik, whose
learners see `RealpolitikEnv` observations, not the OpenSpiel game's).
"""

from __future__ import annotations

import json
import math
import pathlib
from typing import Any, NamedTuple

import numpy as np
from tqdm.auto import tqdm

from detente.agents.policy_fn import make_policy_fn
from detente.games import load
from detente.lib import CsvLogger
from detente.lib.exact_eval import nash_conv
from detente.lib.leaderboard import rate
from detente.lib.meta_game import antisymmetrize, hodge_decomposition, intransitive_triples
from detente.population.league import INITIAL_ID, LeagueConfig, LeagueResult, run_league
from detente.population.league_env import is_realpolitik

# Games whose exact NashConv the summary computes (small trees, seconds on a CPU).
_EXACT_NASH_CONV_GAMES = ("kuhn_poker", "leduc_poker", "matrix_rps")


class LeagueExperimentResult(NamedTuple):
    """A finished league with its evaluation.

    Attributes:
      league: the `LeagueResult`.
      evaluation: JSON-able summary (ratings, scores, cycles, NashConv).
      game: the game string.
    """

    league: LeagueResult
    evaluation: dict[str, Any]
    game: str


def evaluate_league(config: LeagueConfig, result: LeagueResult) -> dict[str, Any]:
    """The league's leaderboard and evaluation summary (see the module docstring)."""
    ids = result.population.ids
    records = result.payoffs.records
    ratings = rate(
        ids,
        [list(r.members) for r in records],
        np.asarray([r.returns for r in records]),
        kind="score",
        anchor=INITIAL_ID,
        num_bootstrap=200,
        seed=config.seed,
    )
    wins = np.array([[result.scores.score(a, b) for b in ids] for a in ids])
    table = antisymmetrize(wins)
    hodge = hodge_decomposition(table)
    triples = intransitive_triples(table)
    main = next(r for r in result.learners if r.role == "main")
    main_member = main.reference if main.reference != INITIAL_ID else ids[-1]
    evaluation: dict[str, Any] = {
        "members": [
            {
                "id": m.id,
                "role": m.role,
                "parent": m.parent,
                "step": m.step,
                "hash": m.hash,
                "rating": float(ratings.rating[i]),
                "ci_low": float(ratings.ci_low[i]),
                "ci_high": float(ratings.ci_high[i]),
            }
            for i, m in enumerate(result.population)
        ],
        "order": [ids[i] for i in ratings.order()],
        "main_member": main_member,
        "main_score_vs_initial": result.scores.score(main_member, INITIAL_ID),
        "transitive_fraction": hodge.transitive_fraction,
        "cyclic_fraction": hodge.cyclic_fraction,
        "intransitive_triples": triples.count,
        "triples": triples.total,
        "nash_conv_main": None,
        "nash_conv_initial": None,
    }
    base = config.game.split("(", 1)[0]
    if not is_realpolitik(config.game) and base in _EXACT_NASH_CONV_GAMES:
        game = load(config.game)
        for key, member in (("nash_conv_main", main_member), ("nash_conv_initial", INITIAL_ID)):
            params = result.population[member].params
            evaluation[key] = float(nash_conv(game, make_policy_fn(result.network, params)))
    return evaluation


def run_league_experiment(
    config: LeagueConfig, run_dir: str | pathlib.Path, *, progress: bool = True
) -> LeagueExperimentResult:
    """Runs (or resumes) the league into `run_dir`, evaluates it, writes results."""
    run_dir = pathlib.Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=config.rounds, desc=f"league {config.game}", disable=not progress)

    def on_round(row):
        bar.update(1)
        score = f"{row['main_score_vs_initial']:.2f}"
        bar.set_postfix({"members": row["population_size"], "main_vs_init": score})

    try:
        result = run_league(
            config,
            run_dir=run_dir,
            logger=CsvLogger(run_dir, "metrics"),
            learner_logger=CsvLogger(run_dir, "learner"),
            on_round=on_round,
        )
    finally:
        bar.close()
    evaluation = evaluate_league(config, result)
    outcome = LeagueExperimentResult(league=result, evaluation=evaluation, game=config.game)
    with open(run_dir / "results.json", "w") as f:
        json.dump(
            {
                "game": config.game,
                "member_hashes": result.population.hashes(),
                "rows": result.rows,
                "evaluation": evaluation,
            },
            f,
            indent=1,
        )
    (run_dir / "leaderboard.txt").write_text(format_league(outcome) + "\n")
    return outcome


def _number(value: Any, spec: str = ".3f") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return format(value, spec)


def format_league(outcome: LeagueExperimentResult) -> str:
    """The leaderboard and evaluation summary as plain text."""
    evaluation = outcome.evaluation
    by_id = {m["id"]: m for m in evaluation["members"]}
    header = f"{'rank':>4}  {'member':<22} {'role':<16} {'step':>5} {'Elo':>7}  {'95% CI':<15}"
    lines = [f"League on {outcome.game}", header, "-" * len(header)]
    for rank, member_id in enumerate(evaluation["order"], 1):
        m = by_id[member_id]
        interval = f"[{_number(m['ci_low'], '.0f')}, {_number(m['ci_high'], '.0f')}]"
        lines.append(
            f"{rank:>4}  {member_id:<22} {m['role']:<16} {m['step']:>5} "
            f"{_number(m['rating'], '.0f'):>7}  {interval:<15}"
        )
    lines += [
        "",
        f"main agent ({evaluation['main_member']}) vs initial policy, win-rate-like score: "
        f"{_number(evaluation['main_score_vs_initial'])}",
        f"strategy cycles (score table): transitive {_number(evaluation['transitive_fraction'])}, "
        f"cyclic {_number(evaluation['cyclic_fraction'])}, intransitive triples "
        f"{evaluation['intransitive_triples']} of {evaluation['triples']}",
    ]
    if evaluation["nash_conv_main"] is not None:
        lines.append(
            f"exact NashConv: main agent {_number(evaluation['nash_conv_main'], '.4f')}, initial "
            f"{_number(evaluation['nash_conv_initial'], '.4f')}"
        )
    else:
        lines.append("exact NashConv: not computed for this game (see docs/league.md)")
    lines.append(f"wall time: {outcome.league.wall_time:.1f} s")
    return "\n".join(lines)
