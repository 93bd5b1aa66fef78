"""The `cycles` experiment: naive self-play cycles on cyclic games; PSRO and fictitious play don't.

On cyclic zero-sum games (rock-paper-scissors, a small Colonel Blotto) each method's exact
NashConv is recorded against the game-steps it trained on and its wall time:

* naive self-play (`population.jax_self_play.train`, plain PPO: `magnet_cost=0`, entropy bonus
  0.001): NashConv of the *current* policy (last iterate) every `evaluate_every` updates. Plain
  gradient self-play on a cyclic game chases its own best response around the cycle (rock ->
  paper -> scissors -> rock ...) instead of settling on the mixed equilibrium (Balduzzi et al.
  2019, "Open-ended learning in symmetric zero-sum games"; Lanctot et al. 2017, Sec. 1);
* PSRO (`population.run_psro`, PPO best responses, exact meta-game payoffs, by default the
  `zero_sum_nash` meta-solver): NashConv of the meta-strategy mixture, per iteration;
* fictitious play (`population.run_fictitious_play`, PSRO with the uniform meta-solver):
  NashConv of the uniform mixture of all members, per iteration;
* the league (`population.league.run_league`, Vinyals et al. 2019: a main agent trained by
  self-play and prioritised fictitious self-play, a main exploiter, a league exploiter): two
  curves from one run, NashConv of the main agent's snapshot after every round ("league", the
  single agent a league produces) and of the meta-Nash mixture over all the league's members
  so far ("league_nash": the `zero_sum_nash` solution of the league's own one-vs-rest payoff
  table, as AlphaStar evaluated its league).

NashConv is computed exactly on the game tree (`population.TabularMembers`). Game-steps count
every game-step the method's learners trained on (self-play: B x T per update; PSRO and
fictitious play: B x T x updates per best response, every population; the league: B x T x
updates of every learner, every round). Wall time is the
method's own training time: self-play excludes the time of its evaluations (which PSRO needs
anyway for its exact payoffs and reports inside each iteration). Self-play runs on the JAX
backend for JAX-registered games; the PSRO best responses on the OpenSpiel adapter, so wall
times are only indicative; game-steps are the like-for-like axis.

A method whose curve is finished leaves `<game>/<method>/curve.json` (its points and the config
they came from); calling the experiment again on the same run directory reuses it (and PSRO,
fictitious play and the league resume from their own checkpoints), so an interrupted run
loses at most the method it was in. A stored curve from another config is refused.

Outputs in the run directory: `curves.csv` (one row per evaluation: game, method, step,
game_steps, wall_time, nash_conv, and for self-play the current policy's favourite action of
seat 0), `cycles_<game>.png` (NashConv against game-steps and against wall time), and
`results.json` (the per-game, per-method summary).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import pathlib
import re
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from detente.agents import PPOConfig, make_policy_value_network
from detente.games import load
from detente.lib import env_spec_for
from detente.lib.meta_game import META_SOLVERS
from detente.population import (
    Member,
    OpponentTrainingConfig,
    PSROConfig,
    SelfPlayConfig,
    TabularMembers,
    fictitious_play_config,
    run_fictitious_play,
    run_psro,
)
from detente.population.jax_self_play import BACKENDS, train
from detente.population.league import LeagueConfig, run_league
from detente.population.self_play import CHECKPOINT_DIR

METHODS = ("self_play", "psro", "fictitious_play", "league")
CURVE_FIELDS = (
    "game",
    "method",
    "step",
    "game_steps",
    "wall_time",
    "nash_conv",
    "favourite_action_p0",
)


CURVE_FILE = "curve.json"


def _plain_self_play() -> SelfPlayConfig:
    # Plain PPO: no magnet (magnet_cost=0) and a tiny entropy bonus, so the last iterate's
    # cycling around the mixed equilibrium is visible rather than damped (docs/quickstart.md
    # shows the magnet variant converging on Kuhn poker).
    return SelfPlayConfig(
        game="matrix_rps",
        batch_size=128,
        unroll_length=8,
        num_updates=300,
        hidden_sizes=(64,),
        log_every=10,
        checkpoint_every=10_000,
        ppo=PPOConfig(
            learning_rate=1e-3,
            entropy_cost=0.001,
            gamma=1.0,
            num_epochs=4,
            num_minibatches=4,
            magnet_cost=0.0,
        ),
    )


def _league() -> LeagueConfig:
    return LeagueConfig(
        game="matrix_rps",
        rounds=8,
        snapshot_every=10,  # = trainer.num_updates: every learner snapshots every round
        games_per_profile=32,
        hidden_sizes=(64,),
        trainer=OpponentTrainingConfig(
            batch_size=64,
            unroll_length=8,
            num_updates=10,
            num_groups=8,
            segment_length=10,
            ppo=PPOConfig(learning_rate=3e-3, entropy_cost=0.001, gamma=1.0),
        ),
    )


def _psro() -> PSROConfig:
    return PSROConfig(
        game="matrix_rps",
        iterations=8,
        meta_solver="zero_sum_nash",
        hidden_sizes=(64,),
        # Fresh best responses: warm-starting from the newest member, a near-deterministic
        # policy with a saturated softmax, leaves plain PPO too small a gradient to move to
        # the next strategy of the cycle within a short run.
        warm_start=False,
        best_response=OpponentTrainingConfig(
            batch_size=64,
            unroll_length=8,
            num_updates=30,
            num_groups=8,
            segment_length=10,
            ppo=PPOConfig(learning_rate=3e-3, entropy_cost=0.001, gamma=1.0),
        ),
    )


@dataclasses.dataclass(frozen=True)
class CyclesConfig:
    """Configuration of the `cycles` experiment.

    Attributes:
      games: cyclic games (OpenSpiel game strings; JAX-registered ones self-play on the JAX
        backend), one set of curves and one plot each.
      methods: any of "self_play", "psro", "fictitious_play", "league".
      self_play: the naive self-play run (its `game` is replaced); plain PPO by default.
      self_play_backend: "auto", "jax" or "openspiel" (`population.jax_self_play.train`).
      evaluate_every: exact NashConv of the self-play policy every this many updates.
      psro: the PSRO run (its `game` is replaced); fictitious play uses the same config with
        the uniform meta-solver.
      initial_bias: PSRO and fictitious play start from the randomly initialised network with
        this much added to the logit of action 0 (rock; in Blotto, all coins on the last field):
        a freshly initialised network plays almost uniformly, which is the equilibrium of
        rock-paper-scissors, so without a bias there would be nothing to approach. 0 keeps
        the random initialisation. (Naive self-play and the league have no initial-parameters
        hook and start from their own random initialisations.)
      league: the league run (its `game` is replaced; `population.league.run_league`): one
        main agent, one main exploiter, one league exploiter by default; its curve is the
        NashConv of the main agent's snapshots.
    """

    games: tuple[str, ...] = ("matrix_rps", "blotto(coins=5,fields=3,players=2)")
    methods: tuple[str, ...] = METHODS
    self_play: SelfPlayConfig = dataclasses.field(default_factory=_plain_self_play)
    self_play_backend: str = "auto"
    evaluate_every: int = 10
    psro: PSROConfig = dataclasses.field(default_factory=_psro)
    initial_bias: float = 2.0
    league: LeagueConfig = dataclasses.field(default_factory=_league)

    def __post_init__(self):
        if not self.games:
            raise ValueError("CyclesConfig.games must name at least one game")
        for game in self.games:
            load(game)  # fails early, naming the bad game or parameter
        if not self.methods or any(m not in METHODS for m in self.methods):
            raise ValueError(
                f"CyclesConfig.methods must be a non-empty subset of {METHODS}, got "
                f"{self.methods!r}"
            )
        if self.self_play_backend not in BACKENDS:
            raise ValueError(
                f"CyclesConfig.self_play_backend must be one of {BACKENDS}, got "
                f"{self.self_play_backend!r}"
            )
        if (
            isinstance(self.evaluate_every, bool)
            or not isinstance(self.evaluate_every, int)
            or self.evaluate_every < 1
        ):
            raise ValueError(
                "CyclesConfig.evaluate_every must be a positive integer, got "
                f"{self.evaluate_every!r}"
            )
        if (
            isinstance(self.initial_bias, bool)
            or not isinstance(self.initial_bias, (int, float))
            or not math.isfinite(self.initial_bias)
        ):
            raise ValueError(
                f"CyclesConfig.initial_bias must be a finite number, got {self.initial_bias!r}"
            )


class CurvePoint(NamedTuple):
    """One exact evaluation of one method.

    Attributes:
      game: the game string.
      method: "self_play", "psro" or "fictitious_play".
      step: self-play update, or PSRO / fictitious-play iteration.
      game_steps: game-steps the method's learners trained on so far.
      wall_time: the method's training seconds so far.
      nash_conv: exact NashConv of the current policy (self-play) or of the meta-strategy
        mixture (PSRO, fictitious play).
      favourite_action_p0: self-play only, the most probable first action of seat 0 (the
        cycle made visible); -1 otherwise.
    """

    game: str
    method: str
    step: int
    game_steps: int
    wall_time: float
    nash_conv: float
    favourite_action_p0: int


class CyclesResult(NamedTuple):
    """The experiment's curves and where its files went.

    Attributes:
      curves: every evaluation, in run order.
      plots: one PNG per game.
      run_dir: the run directory.
    """

    curves: list[CurvePoint]
    plots: list[pathlib.Path]
    run_dir: pathlib.Path


def slug(game: str) -> str:
    """A file-name-safe form of a game string."""
    return re.sub(r"[^A-Za-z0-9]+", "_", game).strip("_")


def _self_play_curve(
    config: CyclesConfig, game_name: str, run_dir: pathlib.Path, progress: bool
) -> list[CurvePoint]:
    if (run_dir / CHECKPOINT_DIR).exists():
        # A finished run resumes with no updates left, hence no evaluations to plot.
        raise ValueError(
            f"{run_dir} holds a self-play checkpoint but no finished curve ({CURVE_FILE}); "
            "remove that directory to train the self-play curve again"
        )
    game = load(game_name)
    trainer = dataclasses.replace(
        config.self_play,
        game=game_name,
        log_every=config.evaluate_every,
        checkpoint_every=max(config.self_play.checkpoint_every, config.self_play.num_updates),
    )
    steps_per_update = trainer.batch_size * trainer.unroll_length
    points = []
    tabular: list[TabularMembers] = []
    clock = {"start": time.perf_counter(), "evaluating": 0.0}

    def on_log(update, metrics, network, params):
        evaluation_start = time.perf_counter()
        if not tabular:
            tabular.append(TabularMembers(game, network))
        table = tabular[0].table(Member.create(f"update_{update}", params))
        nash_conv = tabular[0].evaluate(table).nash_conv
        first_row = int(np.flatnonzero(tabular[0].player_of_row == 0)[0])  # seat 0's first
        points.append(
            CurvePoint(
                game=game_name,
                method="self_play",
                step=update,
                game_steps=update * steps_per_update,
                wall_time=evaluation_start - clock["start"] - clock["evaluating"],
                nash_conv=nash_conv,
                favourite_action_p0=int(np.argmax(table[first_row])),
            )
        )
        clock["evaluating"] += time.perf_counter() - evaluation_start
        return {"nash_conv": nash_conv}

    train(
        trainer,
        backend=config.self_play_backend,
        run_dir=run_dir,
        progress=progress,
        on_log=on_log,
    )
    return points


def _population_curve(
    config: CyclesConfig, game_name: str, method: str, run_dir: pathlib.Path
) -> list[CurvePoint]:
    base = dataclasses.replace(config.psro, game=game_name, exact_evaluation="always")
    initial_params = _biased_initial_params(base, config.initial_bias)
    if method == "fictitious_play":
        result = run_fictitious_play(
            fictitious_play_config(base), run_dir=run_dir, initial_params=initial_params
        )
    else:
        result = run_psro(base, run_dir=run_dir, initial_params=initial_params)
    br = base.best_response
    steps_per_iteration = len(result.populations) * br.batch_size * br.unroll_length
    steps_per_iteration *= br.num_updates
    points, wall_time = [], 0.0
    for row in result.rows:
        iteration = int(row["iteration"])
        points.append(
            CurvePoint(
                game=game_name,
                method=method,
                step=iteration,
                game_steps=iteration * steps_per_iteration,
                wall_time=wall_time,
                nash_conv=float(row["nash_conv"]),
                favourite_action_p0=-1,
            )
        )
        # Row k's seconds are spent after its evaluation: training the k-th best responses.
        wall_time += float(row["seconds"])
    return points


def _league_curve(config: CyclesConfig, game_name: str, run_dir: pathlib.Path) -> list[CurvePoint]:
    league_config = dataclasses.replace(config.league, game=game_name)
    result = run_league(league_config, run_dir=run_dir)
    trainer = league_config.trainer
    learners = len(league_config.learner_names())
    steps_per_round = learners * trainer.num_updates * trainer.batch_size * trainer.unroll_length
    elapsed = np.cumsum([float(row["seconds"]) for row in result.rows])
    tabular = TabularMembers(load(game_name), result.network)
    main = league_config.learner_names()[0][0]
    snapshots = [
        m for m in result.population if m.role == "initial" or m.metadata.get("learner") == main
    ]
    points = []

    def point(method: str, finished_rounds: int, nash_conv: float) -> CurvePoint:
        return CurvePoint(
            game=game_name,
            method=method,
            step=finished_rounds,
            game_steps=finished_rounds * steps_per_round,
            wall_time=float(elapsed[finished_rounds - 1]) if finished_rounds else 0.0,
            nash_conv=nash_conv,
            favourite_action_p0=-1,
        )

    for member in snapshots:
        finished_rounds = _finished_rounds(member)
        points.append(
            point("league", finished_rounds, tabular.evaluate(tabular.table(member)).nash_conv)
        )
    # The league as a whole: after each round, the meta-Nash mixture over every member so far
    # (AlphaStar's evaluation of a league), solved on the one-vs-rest payoff table.
    solver = META_SOLVERS["zero_sum_nash"]
    for finished_rounds in range(league_config.rounds + 1):
        members = [m for m in result.population if _finished_rounds(m) <= finished_rounds]
        table = result.payoffs.one_vs_rest([m.id for m in members]).one_vs_rest
        sigma = np.clip(np.asarray(solver(np.stack([table, table.T]))[0], np.float64), 0, None)
        sigma /= sigma.sum()
        weights = [sigma] * tabular.num_players
        nash_conv = tabular.mixture_nash_conv([members] * tabular.num_players, weights).nash_conv
        points.append(point("league_nash", finished_rounds, nash_conv))
    return points


def _finished_rounds(member) -> int:
    """Rounds of a league finished when `member` was frozen (0 for the initial member)."""
    return member.metadata["round"] + 1 if "round" in member.metadata else 0


def _biased_initial_params(config: PSROConfig, bias: float) -> list | None:
    """PSRO's own initial parameters (same keys) with `bias` added to action 0's logit."""
    if bias == 0.0:
        return None
    game = load(config.game)
    spec = env_spec_for(game, max_steps=config.max_steps)
    network = make_policy_value_network(spec, hidden_sizes=tuple(config.hidden_sizes))
    root_key = jax.random.key(config.seed)
    num_populations = 1 if config.population == "shared" else spec.num_players
    if config.population == "auto" and spec.symmetric:
        num_populations = 1
    initial = []
    for index in range(num_populations):
        params = network.init(jax.random.fold_in(root_key, 1 + index))
        (head,) = [name for name in params if name.endswith("policy_head")]
        bias_vector = np.asarray(params[head]["b"]).copy()
        bias_vector[0] += bias
        params = {**params, head: {**params[head], "b": jnp.asarray(bias_vector)}}
        initial.append(params)
    return initial


_STYLE = {
    "self_play": ("tab:red", "naive self-play (plain PPO, last iterate)"),
    "psro": ("tab:blue", "PSRO (meta-strategy mixture)"),
    "fictitious_play": ("tab:green", "fictitious play (uniform mixture)"),
    "league": ("tab:purple", "league (main agent's snapshots)"),
    "league_nash": ("tab:orange", "league (meta-Nash mixture of its members)"),
}


def plot_curves(points: list[CurvePoint], game: str, path: pathlib.Path) -> pathlib.Path:
    """NashConv against game-steps and against wall time, one line per method; a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for method, (color, label) in _STYLE.items():
        curve = [p for p in points if p.game == game and p.method == method]
        if not curve:
            continue
        marker = "" if method == "self_play" else "o"
        axes[0].plot(
            [p.game_steps for p in curve],
            [p.nash_conv for p in curve],
            color=color,
            marker=marker,
            label=label,
        )
        axes[1].plot(
            [p.wall_time for p in curve],
            [p.nash_conv for p in curve],
            color=color,
            marker=marker,
            label=label,
        )
    axes[0].set_xlabel("game-steps trained on")
    axes[1].set_xlabel("training wall time (s)")
    axes[0].set_ylabel("exact NashConv")
    for axis in axes:
        axis.set_ylim(bottom=0.0)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    figure.suptitle(f"{game}: NashConv (0 = Nash equilibrium)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _method_config(config: CyclesConfig, method: str) -> dict:
    """The config fields a method's curve depends on (JSON form)."""
    if method == "self_play":
        fields = {
            "self_play": config.self_play,
            "backend": config.self_play_backend,
            "evaluate_every": config.evaluate_every,
        }
    elif method == "league":
        fields = {"league": config.league}
    else:
        fields = {"psro": config.psro, "initial_bias": config.initial_bias}
    return json.loads(json.dumps({k: _as_json(v) for k, v in fields.items()}))


def _as_json(value):
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value


def _load_curve(config: CyclesConfig, method: str, method_dir: pathlib.Path):
    """A finished method's curve from an earlier call into the same run directory, or None."""
    path = method_dir / CURVE_FILE
    if not path.exists():
        return None
    stored = json.loads(path.read_text())
    if stored["config"] != _method_config(config, method):
        raise ValueError(
            f"{method_dir} holds a finished {method} curve with another config; use another "
            "run directory or the same config"
        )
    return [CurvePoint(**point) for point in stored["points"]]


def _save_curve(
    config: CyclesConfig, method: str, method_dir: pathlib.Path, curve: list[CurvePoint]
) -> None:
    method_dir.mkdir(parents=True, exist_ok=True)
    document = {
        "config": _method_config(config, method),
        "points": [point._asdict() for point in curve],
    }
    (method_dir / CURVE_FILE).write_text(json.dumps(document, indent=1))


def run_cycles(
    config: CyclesConfig, run_dir: str | pathlib.Path, *, progress: bool = True
) -> CyclesResult:
    """Runs every method on every game; writes curves.csv, one PNG per game, results.json."""
    run_dir = pathlib.Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    points: list[CurvePoint] = []
    plots = []
    for game_name in config.games:
        game_dir = run_dir / slug(game_name)
        for method in config.methods:
            method_dir = game_dir / method
            curve = _load_curve(config, method, method_dir)
            if curve is None:
                if method == "self_play":
                    curve = _self_play_curve(config, game_name, method_dir, progress)
                elif method == "league":
                    curve = _league_curve(config, game_name, method_dir)
                else:
                    curve = _population_curve(config, game_name, method, method_dir)
                _save_curve(config, method, method_dir, curve)
            points += curve
        plots.append(plot_curves(points, game_name, run_dir / f"cycles_{slug(game_name)}.png"))
    with open(run_dir / "curves.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CURVE_FIELDS)
        for point in points:
            writer.writerow(point)
    result = CyclesResult(curves=points, plots=plots, run_dir=run_dir)
    with open(run_dir / "results.json", "w") as f:
        json.dump(summary_rows(result), f, indent=1)
    return result


def summary_rows(result: CyclesResult) -> list[dict[str, float | str | int]]:
    """Per game and method: first, best, last NashConv, the last half's mean and range."""
    rows = []
    keys = dict.fromkeys((p.game, p.method) for p in result.curves)
    for game, method in keys:
        curve = [p for p in result.curves if p.game == game and p.method == method]
        values = np.array([p.nash_conv for p in curve])
        last_half = values[len(values) // 2 :]
        rows.append(
            {
                "game": game,
                "method": method,
                "evaluations": len(curve),
                "first": float(values[0]),
                "min": float(values.min()),
                "last": float(values[-1]),
                "last_half_mean": float(last_half.mean()),
                "last_half_max": float(last_half.max()),
                "game_steps": curve[-1].game_steps,
                "wall_time": curve[-1].wall_time,
                "favourite_action_changes": int(
                    np.count_nonzero(np.diff([p.favourite_action_p0 for p in curve]))
                )
                if method == "self_play"
                else 0,
            }
        )
    return rows


def format_cycles_table(result: CyclesResult) -> str:
    """The summary as a plain-text table."""
    header = (
        f"{'game':<36} {'method':<16} {'first':>7} {'min':>7} {'last':>7} {'2nd-half mean':>13} "
        f"{'game-steps':>11} {'wall s':>7}"
    )
    lines = ["exact NashConv (0 = Nash equilibrium)", header, "-" * len(header)]
    for row in summary_rows(result):
        lines.append(
            f"{row['game']:<36} {row['method']:<16} {row['first']:>7.3f} {row['min']:>7.3f} "
            f"{row['last']:>7.3f} {row['last_half_mean']:>13.3f} {row['game_steps']:>11d} "
            f"{row['wall_time']:>7.1f}"
        )
    lines.append(f"plots: {', '.join(str(p) for p in result.plots)}")
    return "\n".join(lines)
