"""Policy-space response oracles (PSRO) for n-player general-sum games.

Lanctot et al. 2017, "A Unified Game-Theoretic Approach to Multiagent Reinforcement Learning"
(Algorithm 1). Start from one randomly initialised policy per population, then repeat:

1. meta-solve the empirical meta-game (a solver of `lib.meta_game.META_SOLVERS`, by name),
   giving each population a meta-strategy sigma_p;
2. train an RL best response (a PPO learner, `train_against_opponents`) for each player
   against opponents drawn from sigma_-p;
3. freeze the best responses and add them to their populations;
4. fill the meta-game's new entries, exactly (`payoff_estimator="exact"`: expected returns
   computed on the game tree, small games only) or by matches (`"sampled"`).

Populations: one per player ("per_player", the default for games whose `EnvSpec` is not
symmetric, e.g. Kuhn and Leduc poker), or one shared by every seat ("shared"): the meta-game is
then the seat-averaged symmetric tensor (`PayoffStore.seat_averaged_tensor`) and the learner
plays every seat in turn.

Games: any game `detente.games.load` knows, learnt and played through the OpenSpiel adapter,
and JAX-only games (`population.league_env.is_jax_only`, e.g. "realpolitik_jax(map=duel)"),
learnt and played on their own engine with the "sampled" estimator: from the host through
`JaxGameEnv` (`backend="host"`), or on the device (`backend="jax"`: each best response's
rollouts one `lax.scan`, `train_jax_against_opponents`; each batch of matches one
`lax.while_loop`, `play_env_matches(on_device=True)`), as in the league.

Each iteration's row reports the meta-game NashConv of sigma in the empirical game and, for
small games, the exact NashConv of the profile of mixtures in the full game (reach-weighted
behaviour policies, `population.tabular`). The run is checkpointed after every iteration
(`population.run_state`) and resumes exactly. Fictitious play is PSRO with the uniform
meta-solver (`population.fictitious_play`).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import numpy as np

from detente.agents import Network
from detente.games import load
from detente.lib import CheckpointError, EnvSpec, ExactEvaluation, env_spec_for
from detente.lib.config_checks import check_count
from detente.lib.meta_game import META_SOLVERS, deviation_payoffs, meta_nash_conv
from detente.lib.metrics_logger import Logger
from detente.population.execution import (
    Executor,
    MatchTask,
    Recipe,
    TrainingTask,
    cached_network,
    executor_scope,
    replay,
    run_match_task,
    run_training_task,
)
from detente.population.league_env import (
    check_game_backend,
    is_jax_only,
    league_spec,
)
from detente.population.members import Member, Population
from detente.population.opponent_training import OpponentTrainingConfig
from detente.population.payoffs import MatchRecord, PayoffStore
from detente.population.run_state import RunState, has_run, load_run, save_run
from detente.population.tabular import TabularMembers

PAYOFF_ESTIMATORS = ("exact", "sampled", "none")
POPULATION_MODES = ("auto", "per_player", "shared")
META_GAMES = ("full", "one_vs_rest")
EXACT_EVALUATION = ("auto", "always", "never")
_PROFILES_PER_BATCH = 64


def _default_best_response() -> OpponentTrainingConfig:
    return OpponentTrainingConfig(batch_size=128, unroll_length=8, num_updates=100)


@dataclasses.dataclass(frozen=True)
class PSROConfig:
    """Configuration of a PSRO run.

    Attributes:
      game: a game string for `detente.games.load`.
      iterations: best-response iterations (the population grows by one member per
        population per iteration).
      meta_solver: a name in `lib.meta_game.META_SOLVERS`.
      payoff_estimator: "exact" (expected returns on the game tree; small games), "sampled"
        (`games_per_profile` games per seat assignment), or "none" (only with the "uniform"
        meta-solver, which needs no payoffs: fictitious play without payoff bookkeeping).
      games_per_profile: games per new seat assignment with the "sampled" estimator.
      population: "per_player", "shared" or "auto" (shared iff the game's `EnvSpec` is
        symmetric).
      meta_game: the empirical game a shared population is meta-solved on. "full": the
        seat-averaged symmetric tensor [N, S, ..., S] (`PayoffStore.seat_averaged_tensor`); for
        a game whose `EnvSpec` is symmetric only one seating of each multiset of members is
        played, C(S + N - 1, N) profiles, otherwise all S^N. "one_vs_rest": the S x S table of
        a lone member against a field of another (`PayoffStore.one_vs_rest`, S^2 N profiles),
        solved as the symmetric 2-player game (M, M^T): the scalable approximation for
        many-player games, exact for N = 2. Per-player populations always use "full".
      exact_evaluation: exact NashConv of the meta-strategy mixture per iteration: "always",
        "never", or "auto" (when the payoff estimator is exact).
      hidden_sizes: widths of every member's MLP torso.
      warm_start: initialise each best response from its population's newest member instead
        of fresh parameters.
      max_steps: truncate games after this many steps (None: the rules end games).
      best_response: the learner's training configuration.
      seed: the run's seed; every key and seed of the run derives from it.
      backend: where best responses train and matches are played. "host": an OpenSpiel game
        through `OpenSpielEnv`, a JAX-only game through `JaxGameEnv`, stepped from the host.
        "jax" (JAX-only games only): best responses with `train_jax_against_opponents` and
        matches with `play_env_matches(on_device=True)`, on the device. The two consume their
        keys differently, so they give different members. JAX-only games have no game tree:
        they need `payoff_estimator` "sampled" (or "none") and no exact evaluation.
    """

    game: str = "kuhn_poker"
    iterations: int = 8
    meta_solver: str = "projected_replicator_dynamics"
    payoff_estimator: str = "exact"
    games_per_profile: int = 256
    population: str = "auto"
    meta_game: str = "full"
    exact_evaluation: str = "auto"
    hidden_sizes: tuple[int, ...] = (64,)
    warm_start: bool = True
    max_steps: int | None = None
    best_response: OpponentTrainingConfig = dataclasses.field(
        default_factory=_default_best_response
    )
    seed: int = 0
    backend: str = "host"

    def __post_init__(self):
        if not isinstance(self.game, str) or not self.game:
            raise ValueError(f"PSROConfig.game must be a game string, got {self.game!r}")
        for name in ("iterations", "seed"):
            check_count("PSROConfig", name, getattr(self, name), minimum=0)
        if self.meta_solver not in META_SOLVERS:
            raise ValueError(
                f"PSROConfig.meta_solver {self.meta_solver!r} is not one of {sorted(META_SOLVERS)}"
            )
        if self.payoff_estimator not in PAYOFF_ESTIMATORS:
            raise ValueError(
                f"PSROConfig.payoff_estimator {self.payoff_estimator!r} is not one of "
                f"{PAYOFF_ESTIMATORS}"
            )
        if self.payoff_estimator == "none" and self.meta_solver != "uniform":
            raise ValueError(
                "PSROConfig.payoff_estimator='none' needs meta_solver='uniform' (every other "
                f"solver reads the payoffs), got meta_solver={self.meta_solver!r}"
            )
        if self.population not in POPULATION_MODES:
            raise ValueError(
                f"PSROConfig.population {self.population!r} is not one of {POPULATION_MODES}"
            )
        if self.meta_game not in META_GAMES:
            raise ValueError(f"PSROConfig.meta_game {self.meta_game!r} is not one of {META_GAMES}")
        if self.exact_evaluation not in EXACT_EVALUATION:
            raise ValueError(
                f"PSROConfig.exact_evaluation {self.exact_evaluation!r} is not one of "
                f"{EXACT_EVALUATION}"
            )
        check_count("PSROConfig", "games_per_profile", self.games_per_profile)
        if not self.hidden_sizes or any(
            isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in self.hidden_sizes
        ):
            raise ValueError(
                f"PSROConfig.hidden_sizes must be positive integers, got {self.hidden_sizes!r}"
            )
        if not isinstance(self.warm_start, bool):
            raise ValueError(f"PSROConfig.warm_start must be a bool, got {self.warm_start!r}")
        if not isinstance(self.best_response, OpponentTrainingConfig):
            raise ValueError(
                "PSROConfig.best_response must be an OpponentTrainingConfig, got "
                f"{self.best_response!r}"
            )
        check_count("PSROConfig", "max_steps", self.max_steps, optional=True)
        check_game_backend("PSROConfig", self.backend, self.game)
        if is_jax_only(self.game):  # fails early, naming the bad parameter
            league_spec(self.game, self.max_steps)
            if self.payoff_estimator == "exact":
                raise ValueError(
                    f"PSROConfig.payoff_estimator='exact' needs a game tree, which the JAX-only "
                    f"game {self.game!r} has not: use 'sampled' (or 'none' with the uniform "
                    "meta-solver)"
                )
            if self.exact_evaluation == "always":
                raise ValueError(
                    f"PSROConfig.exact_evaluation='always' needs a game tree, which the JAX-only "
                    f"game {self.game!r} has not: use 'auto' or 'never'"
                )
        else:
            load(self.game)  # fails early, naming the bad game or parameter


class PSROResult(NamedTuple):
    """What a finished PSRO run returns.

    Attributes:
      population: every member (all populations together), in insertion order.
      populations: member ids of each population (one list if shared).
      payoffs: the payoff store.
      meta_strategies: per iteration 0..iterations, each population's meta-strategy.
      rows: per iteration, its metrics: "iteration", "population_size", "meta_nash_conv"
        (NashConv of sigma in the empirical meta-game; nan without payoffs), "nash_conv"
        (exact NashConv of the mixtures in the game; nan when not evaluated), "seconds"; with
        exact evaluation, every iteration that trains best responses also has, per seat p,
        "br_gain_p{p}" (the learned best response's exact gain over the mixture it answered)
        and "exact_gain_p{p}" (the exact best response's gain: NashConv = their sum over p);
        with sampled payoffs, "meta_br_gain_p{p}" per seat p (per-player populations) or
        "meta_br_gain" (shared; averaged over the seats): the new best responses' gains over
        that mixture in the empirical meta-game (`_Run.meta_best_response_gains`).
      network: the members' network.
      spec: the game's `EnvSpec`.
      shared: whether one population plays every seat.
      wall_time: seconds spent in this call.
    """

    population: Population
    populations: list[list[str]]
    payoffs: PayoffStore
    meta_strategies: list[list[np.ndarray]]
    rows: list[dict[str, float]]
    network: Network
    spec: EnvSpec
    shared: bool
    wall_time: float


def _seed(*entropy: int) -> int:
    return int(np.random.SeedSequence([int(e) for e in entropy]).generate_state(1)[0])


def _comparable(config_dict: dict) -> dict:
    """The config fields that must not change when a run is resumed (all but iterations).

    A checkpoint written before `backend` existed trained on the host.
    """
    config_dict = {"backend": "host", **config_dict}
    return {k: v for k, v in config_dict.items() if k != "iterations"}


def _json_roundtrip(value: Any) -> Any:
    """`value` as JSON would give it back (tuples become lists), for comparisons on resume."""
    return json.loads(json.dumps(value))


class _Run:
    """One PSRO run's moving parts; `run_psro` drives it."""

    def __init__(
        self,
        config: PSROConfig,
        initial_params: Sequence[Any] | None,
        executor: Executor | None = None,
    ):
        self.config = config
        self.executor = executor
        jax_only = is_jax_only(config.game)
        self.recipe = Recipe(
            config.game,
            tuple(config.hidden_sizes),
            config.max_steps,
            league_env=jax_only,
            on_device=config.backend == "jax",
        )
        if jax_only:  # no pyspiel game: the spec of its `JaxGameEnv`, no tabular evaluation
            self.game = None
            self.spec = league_spec(config.game, config.max_steps)
        else:
            self.game = load(config.game)
            self.spec = env_spec_for(self.game, max_steps=config.max_steps)
        self.num_players = self.spec.num_players
        mode = config.population
        if mode == "auto":
            mode = "shared" if self.spec.symmetric else "per_player"
        self.shared = mode == "shared"
        if config.meta_game == "one_vs_rest" and not self.shared:
            raise ValueError(
                "PSROConfig.meta_game='one_vs_rest' needs one population shared by every seat "
                f"(population='shared'), but {config.game!r} gets per-player populations "
                f"(population={config.population!r})"
            )
        self.num_populations = 1 if self.shared else self.num_players
        self.network = _network(self.spec, tuple(config.hidden_sizes))
        self.root_key = jax.random.key(config.seed)
        self.template = self.network.init(jax.random.fold_in(self.root_key, 0))
        evaluate = config.exact_evaluation
        self.exact_nash_conv = evaluate == "always" or (
            evaluate == "auto" and config.payoff_estimator == "exact"
        )
        self.tabular = (
            TabularMembers(self.game, self.network)
            if self.exact_nash_conv or config.payoff_estimator == "exact"
            else None
        )
        if initial_params is not None and len(initial_params) != self.num_populations:
            raise ValueError(
                f"initial_params must hold one parameter pytree per population "
                f"({self.num_populations}), got {len(initial_params)}"
            )
        self.initial_params = initial_params

    # ------------------------------------------------------------------ populations
    def seat_lists(self, populations: list[list[str]]) -> list[list[str]]:
        """Per seat, the ids that may play it."""
        if self.shared:
            return [populations[0]] * self.num_players
        return populations

    def member_id(self, population_index: int, iteration: int) -> str:
        prefix = "" if self.shared else f"p{population_index}_"
        return f"{prefix}it{iteration}"

    def initial(self) -> tuple[Population, list[list[str]]]:
        population = Population()
        ids = []
        for index in range(self.num_populations):
            if self.initial_params is not None:
                params = self.initial_params[index]
            else:
                params = self.network.init(jax.random.fold_in(self.root_key, 1 + index))
            member = Member.create(
                self.member_id(index, 0),
                params,
                role="initial",
                metadata={"iteration": 0, "population": index},
            )
            population.add(member)
            ids.append([member.id])
        return population, ids

    # ------------------------------------------------------------------ payoffs
    def fill_payoffs(
        self,
        population: Population,
        payoffs: PayoffStore,
        populations: list[list[str]],
        iteration: int,
    ) -> None:
        """Adds a record for every seat assignment that has none."""
        if self.config.payoff_estimator == "none":
            return
        missing = self.needed_profiles(payoffs, populations)
        if self.config.payoff_estimator == "exact":
            for profile in missing:
                values = self.tabular.profile_values([population[m] for m in profile])
                payoffs.add(MatchRecord.exact_values(profile, values))
            return
        # One executor task per chunk of profiles; each chunk's seed is fixed here, so the
        # records are the same whichever executor plays them.
        tasks = [
            MatchTask.create(
                self.recipe,
                population,
                missing[start : start + _PROFILES_PER_BATCH],
                games_per_profile=self.config.games_per_profile,
                seed=_seed(self.config.seed, 3, iteration, chunk_index),
            )
            for chunk_index, start in enumerate(range(0, len(missing), _PROFILES_PER_BATCH))
        ]
        for results in self.executor.map(run_match_task, tasks):
            for result in results:
                payoffs.add(result.record())

    def needed_profiles(
        self, payoffs: PayoffStore, populations: list[list[str]]
    ) -> list[tuple[str, ...]]:
        """The seat assignments the meta-game reads that have no record yet, in a fixed order."""
        n = self.num_players
        if not self.shared:
            return payoffs.missing(populations)
        ids = populations[0]
        if self.config.meta_game == "one_vs_rest":
            profiles = []
            for a, b in itertools.product(ids, repeat=2):
                for seat in range(n):
                    profile = [b] * n
                    profile[seat] = a
                    profiles.append(tuple(profile))
        elif self.spec.symmetric:  # seats are interchangeable: one seating per multiset
            profiles = list(itertools.combinations_with_replacement(ids, n))
        else:
            return payoffs.missing([ids] * n)
        return [p for p in dict.fromkeys(profiles) if not payoffs.has(p)]

    # ------------------------------------------------------------------ meta-game
    def meta_solve(
        self, payoffs: PayoffStore, populations: list[list[str]]
    ) -> tuple[list[np.ndarray], float]:
        """(each population's meta-strategy, its NashConv in the empirical meta-game)."""
        solver = META_SOLVERS[self.config.meta_solver]
        if self.config.payoff_estimator == "none":
            return [np.full(len(ids), 1.0 / len(ids)) for ids in populations], math.nan
        if self.shared and self.config.meta_game == "one_vs_rest":
            table = payoffs.one_vs_rest(populations[0]).one_vs_rest
            tensor = np.stack([table, table.T])
            sigma = _clean(np.asarray(solver(tensor)[0], np.float64))
            strategies = [sigma]
            profile = [sigma, sigma]
        elif self.shared:
            tensor = payoffs.seat_averaged_tensor(populations[0])
            sigma = _clean(np.asarray(solver(tensor)[0], np.float64))
            strategies = [sigma]
            profile = [sigma] * self.num_players
        else:
            tensor = payoffs.payoff_tensor(populations).payoffs
            strategies = [_clean(np.asarray(s, np.float64)) for s in solver(tensor)]
            profile = strategies
        return strategies, meta_nash_conv(tensor, profile).nash_conv

    def mixture_evaluation(
        self, population: Population, populations: list[list[str]], strategies: list[np.ndarray]
    ) -> tuple[ExactEvaluation, np.ndarray] | None:
        """(exact evaluation of the meta-strategy mixtures, their behaviour table [R, A]), or
        None without exact evaluation."""
        if not self.exact_nash_conv:
            return None
        per_seat = [[population[m] for m in ids] for ids in self.seat_lists(populations)]
        weights = strategies * self.num_players if self.shared else strategies
        mixture = self.tabular.member_mixture(per_seat, weights)
        return self.tabular.evaluate(mixture), mixture

    def best_response_gains(
        self, evaluation: ExactEvaluation, mixture: np.ndarray, new: list[Member]
    ) -> dict[str, float]:
        """How good the learned best responses are, per seat p they play.

        "br_gain_p{p}" is the new member's exact gain at seat p over the mixture it answered
        (its value there against the others' mixtures, minus the mixture's own value), and
        "exact_gain_p{p}" the exact best response's gain (NashConv's term p). The first never
        exceeds the second; a ratio far below 1 means the oracle, not the meta-solver, limits
        PSRO (docs/experiments.md).
        """
        gains = {}
        for index, member in enumerate(new):
            table = self.tabular.table(member)
            for p in range(self.num_players) if self.shared else [index]:
                profile = [table if q == p else mixture for q in range(self.num_players)]
                value = self.tabular.values(self.tabular.combine(profile))[p]
                gains[f"br_gain_p{p}"] = float(value - evaluation.policy_values[p])
                gains[f"exact_gain_p{p}"] = float(evaluation.per_player[p])
        return gains

    def meta_best_response_gains(
        self, payoffs: PayoffStore, populations: list[list[str]], strategies: list[np.ndarray]
    ) -> dict[str, float]:
        """The new best responses' gains in the empirical meta-game.

        Per-player populations: "meta_br_gain_p{p}" is population p's newest member's payoff
        at seat p against the other seats' meta-strategies `strategies` (those it answered),
        minus the meta-strategy's own payoff there. A shared population: "meta_br_gain" is the
        same in the seat-averaged meta-game (the one it is meta-solved on), i.e. the gain
        averaged over the seats. Both are read from the payoff store, the newest members
        weighing 0 in the mixtures. With exact payoffs they equal the exact gains
        ("br_gain_p{p}", or their mean over the seats); with sampled ones they are the
        estimate PSRO has on games without a game tree. Near 0, the oracle found no better
        response: PSRO has converged as far as its best responses can tell.
        """
        padded = [np.append(s, 0.0) for s in strategies]  # the newest member last, weight 0
        if not self.shared:
            tensor = payoffs.payoff_tensor(populations).payoffs
            gains = {}
            for p in range(self.num_players):
                deviations = deviation_payoffs(tensor, padded, p)
                gains[f"meta_br_gain_p{p}"] = float(deviations[-1] - deviations @ padded[p])
            return gains
        if self.config.meta_game == "one_vs_rest":
            table = payoffs.one_vs_rest(populations[0]).one_vs_rest
            tensor, profile = np.stack([table, table.T]), [padded[0]] * 2
        else:
            tensor = payoffs.seat_averaged_tensor(populations[0])
            profile = padded * self.num_players
        deviations = deviation_payoffs(tensor, profile, 0)
        return {"meta_br_gain": float(deviations[-1] - deviations @ profile[0])}

    # ------------------------------------------------------------------ best responses
    def best_responses(
        self,
        population: Population,
        populations: list[list[str]],
        strategies: list[np.ndarray],
        iteration: int,
        logger: Logger | None,
    ) -> list[Member]:
        """Trains one best response per population against sigma; returns them (not added).

        The learners are independent given sigma: they run as one executor task each.
        """
        config = self.config
        seat_lists = self.seat_lists(populations)
        seat_sigmas = strategies * self.num_players if self.shared else strategies
        tasks, parents, all_opponents = [], [], []
        for index in range(self.num_populations):
            if self.shared:
                learner_seats = list(range(self.num_players))
            else:
                learner_seats = [index]
            opponents = []
            for seat in range(self.num_players):
                if not self.shared and seat == index:
                    opponents.append(None)
                    continue
                opponents.append(
                    {
                        m: float(p)
                        for m, p in zip(seat_lists[seat], seat_sigmas[seat], strict=True)
                        if p > 0
                    }
                )
            parent = populations[index][-1] if config.warm_start else None
            tasks.append(
                TrainingTask.create(
                    self.recipe,
                    config.best_response,
                    population,
                    opponents=opponents,
                    learner_seats=learner_seats,
                    seed=_seed(config.seed, 1, iteration, index),
                    initial_params=population[parent].params if parent is not None else None,
                    log_step_offset=iteration * config.best_response.num_updates,
                )
            )
            parents.append(parent)
            all_opponents.append(opponents)
        new = []
        outcomes = self.executor.map(run_training_task, tasks)
        for index, (task, outcome) in enumerate(zip(tasks, outcomes, strict=True)):
            replay(outcome.log, logger)
            new.append(
                Member.create(
                    self.member_id(index, iteration + 1),
                    outcome.params,
                    role="best_response",
                    parent=parents[index],
                    step=config.best_response.num_updates,
                    metadata={
                        "iteration": iteration + 1,
                        "population": index,
                        "seed": task.seed,
                        "learner_return": outcome.mean_return
                        if math.isfinite(outcome.mean_return)
                        else None,
                        "opponents": all_opponents[index],
                    },
                )
            )
        return new


def _network(spec: EnvSpec, hidden_sizes: tuple[int, ...]) -> Network:
    # One cached object per (game, architecture) and process, shared with the executor's tasks
    # (`execution.cached_network`), so in-process runs and tasks share compilations.
    return cached_network(spec, tuple(hidden_sizes))


def _clean(sigma: np.ndarray) -> np.ndarray:
    sigma = np.maximum(sigma, 0.0)
    return sigma / sigma.sum()


def run_psro(
    config: PSROConfig,
    *,
    run_dir: str | os.PathLike | None = None,
    logger: Logger | None = None,
    learner_logger: Logger | None = None,
    initial_params: Sequence[Any] | None = None,
    on_iteration: Callable[[dict[str, float]], None] | None = None,
    executor: Executor | str | None = None,
) -> PSROResult:
    """Runs PSRO; resumes from `run_dir`'s checkpoint if there is one.

    Args:
      config: the run's configuration.
      run_dir: where the checkpoint goes after every iteration (None: no checkpoints).
      logger: receives one row of metrics per iteration (step = iteration).
      learner_logger: receives the best-response learners' PPO metrics.
      initial_params: one parameter pytree per population for the initial members (default:
        fresh random initialisations); must match the network of `config.hidden_sizes`.
      on_iteration: called with every new iteration row (e.g. to print progress).
      executor: where best responses and payoff-filling match batches run: None or
        "inprocess" (this process), "ray", "auto", "ray://HOST:PORT", "HOST:PORT" (see
        `population.execution.make_executor`), or an `Executor` (left open; the caller owns
        it). The executor changes no result: the same config gives the same members (content
        hashes), payoffs and rows with every executor.

    Returns:
      A `PSROResult`.

    Raises:
      ValueError: a bad config, game or initial parameters.
      CheckpointError: the checkpoint in `run_dir` is corrupt or was written by a different
        config (anything but `iterations` differs).
      ImportError: a Ray executor without Ray installed.
    """
    with executor_scope(executor) as run_executor:
        return _run_psro(
            config, run_dir, logger, learner_logger, initial_params, on_iteration, run_executor
        )


def _run_psro(
    config: PSROConfig,
    run_dir: str | os.PathLike | None,
    logger: Logger | None,
    learner_logger: Logger | None,
    initial_params: Sequence[Any] | None,
    on_iteration: Callable[[dict[str, float]], None] | None,
    executor: Executor,
) -> PSROResult:
    start = time.perf_counter()
    run = _Run(config, initial_params, executor)
    config_dict = _json_roundtrip(dataclasses.asdict(config))
    if has_run(run_dir):
        state, population, payoffs = load_run(run_dir, run.template)
        if _comparable(state.config) != _comparable(config_dict):
            differing = sorted(
                k
                for k in set(state.config) | set(config_dict)
                if k != "iterations" and state.config.get(k) != config_dict.get(k)
            )
            raise CheckpointError(
                f"run directory {run_dir} holds a PSRO run with a different config (fields "
                f"{differing}); use another run directory or the same config"
            )
        state.config = config_dict
        state.rows = state.rows[: state.iteration]
        state.meta_strategies = state.meta_strategies[: state.iteration]
    else:
        population, populations = run.initial()
        payoffs = PayoffStore(run.num_players)
        run.fill_payoffs(population, payoffs, populations, 0)
        state = RunState(
            iteration=0,
            populations=populations,
            meta_strategies=[],
            rows=[],
            num_payoff_records=len(payoffs),
            config=config_dict,
        )
        if run_dir is not None:
            save_run(run_dir, state, population, payoffs)

    while True:
        iteration_start = time.perf_counter()
        k = state.iteration
        strategies, meta_nc = run.meta_solve(payoffs, state.populations)
        evaluation = run.mixture_evaluation(population, state.populations, strategies)
        row = {
            "iteration": k,
            "population_size": len(state.populations[0]),
            "meta_nash_conv": meta_nc,
            "nash_conv": math.nan if evaluation is None else evaluation[0].nash_conv,
        }
        finished = k >= config.iterations
        if not finished:
            new = run.best_responses(population, state.populations, strategies, k, learner_logger)
            if evaluation is not None:
                row.update(run.best_response_gains(*evaluation, new))
            for index, member in enumerate(new):
                population.add(member)
                state.populations[index] = state.populations[index] + [member.id]
            run.fill_payoffs(population, payoffs, state.populations, k + 1)
            if config.payoff_estimator == "sampled":
                row.update(run.meta_best_response_gains(payoffs, state.populations, strategies))
            state.iteration = k + 1
        row["seconds"] = time.perf_counter() - iteration_start
        state.rows.append(_json_row(row))
        state.meta_strategies.append([s.tolist() for s in strategies])
        state.num_payoff_records = len(payoffs)
        if run_dir is not None:
            save_run(run_dir, state, population, payoffs)
        if logger is not None:
            logger.write(k, row)
        if on_iteration is not None:
            on_iteration(row)
        if finished:
            break

    return PSROResult(
        population=population,
        populations=[list(ids) for ids in state.populations],
        payoffs=payoffs,
        meta_strategies=[[np.asarray(s) for s in it] for it in state.meta_strategies],
        rows=[dict(r) for r in state.rows],
        network=run.network,
        spec=run.spec,
        shared=run.shared,
        wall_time=time.perf_counter() - start,
    )


def _json_row(row: dict[str, float]) -> dict[str, float | None]:
    return {k: (float(v) if math.isfinite(float(v)) else None) for k, v in row.items()}


def exact_mixture_nash_conv(result: PSROResult, iteration: int | None = None) -> float:
    """Exact NashConv of a finished run's meta-strategy mixtures at `iteration` (default last).

    Recomputes what the per-iteration rows report, for runs that did not evaluate it.
    """
    run_game = load(result.spec.name)
    tabular = TabularMembers(run_game, result.network)
    index = len(result.meta_strategies) - 1 if iteration is None else iteration
    strategies = result.meta_strategies[index]
    num_players = result.spec.num_players
    sizes = [len(s) for s in strategies]
    populations = [ids[:size] for ids, size in zip(result.populations, sizes, strict=True)]
    seats = populations * num_players if result.shared else populations
    weights = list(strategies) * num_players if result.shared else list(strategies)
    members = [[result.population[m] for m in ids] for ids in seats]
    return tabular.mixture_nash_conv(members, weights).nash_conv
