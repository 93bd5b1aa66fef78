"""An AlphaStar-style league for n-player general-sum games.

Vinyals et al. 2019, "Grandmaster level in StarCraft II using multi-agent reinforcement
learning" (Methods, "League composition" and "Prioritized fictitious self-play"), adapted to
games with N >= 2 seats and general-sum returns (docs/league.md). Three roles of learners train
side by side and freeze snapshots of themselves into one shared `Population`:

* main agents: a `self_play_fraction` of their games against the current main agents, a
  `pfsp_fraction` PFSP against every frozen member, and a `forgotten_fraction` PFSP against past
  main snapshots they no longer beat (score below `forgotten_threshold`; self-play otherwise);
* main exploiters: against the current main agents, or, while the main agents' latest
  snapshots beat them (score below `exploiter_min_score`), PFSP ("variance") against every past
  main snapshot; reset to the initial parameters after each snapshot;
* league exploiters: PFSP against every frozen member; reset with probability
  `league_exploiter_reset_prob` after each snapshot, the coin drawn from the round's Generator.

"A beats B" is `pfsp.pairwise_score` (the fraction of shared games in which A ended with a
higher return than B, ties 1/2), accumulated from every match into a score table. A learner is
scored through its reference: its latest snapshot (the initial member before its first one and
after a reset).

The run is a loop of rounds. Each learner trains `trainer.num_updates` PPO updates
(`train_against_opponents`, continuing its `TrainingState`) against opponents drawn per group of
games from its role's distribution, the learner cycling over all N seats (the order drawn per
round), or over sets of `learner_seats` seats when it plays several seats of each game; the
"current" learners are their parameters at the start of the round, added to a working
population as temporary `live_*` members. Then each learner snapshots if
`snapshot_every` updates passed since its last one, or if its score against its role's
opponents (`snapshot_threshold`, measured by matches) is high enough. Every snapshot is added
with its role, parent and step, and its matches against the league (every profile "one a, the
rest b" both ways, the `PayoffStore.one_vs_rest` layout) fill the payoff store.

Randomness: everything derives from `seed`. Round r, learner i: training from
`SeedSequence([seed, 1, r, i])`, seat order and reset coins from
`np.random.default_rng([seed, 5, r, i])`, threshold checks from `[seed, 4, r, i]`, payoffs from
`[seed, 3, r, i]`. A checkpoint (`checkpoint_every` rounds) holds the population, the payoffs,
each learner's `TrainingState` and a `state.json` (round, learners' counters and references,
score table, rows, config) written last; a killed run resumes from it and replays the
following rounds identically.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pathlib
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import numpy as np

from detente.agents import Network, TrainingState, check_params, warm_start
from detente.lib import CheckpointError, EnvSpec, content_hash
from detente.lib.checkpoint import load_checkpoint, save_checkpoint
from detente.lib.config_checks import check_count
from detente.lib.metrics_logger import Logger
from detente.population._io import read_json, write_json_atomic
from detente.population.execution import (
    Executor,
    InProcessExecutor,
    MatchTask,
    Recipe,
    TrainingTask,
    cached_network,
    executor_scope,
    replay,
    run_match_task,
    run_training_task,
    state_from_host,
)
from detente.population.league_env import GAME_BACKENDS, check_game_backend, league_spec
from detente.population.members import Member, Population
from detente.population.opponent_training import OpponentTrainingConfig
from detente.population.payoffs import PayoffStore
from detente.population.pfsp import PFSP_WEIGHTINGS, pairwise_score, pfsp_distribution

ROLES = ("main", "main_exploiter", "league_exploiter")
# PFSP's weightings plus "uniform" (every candidate alike: fictitious self-play).
WEIGHTINGS = (*PFSP_WEIGHTINGS, "uniform")
INITIAL_ID = "init"
LIVE_PREFIX = "live_"
CHECKPOINT_DIR = "checkpoint"
STATE_FILE = "state.json"
FORMAT_VERSION = 1


BACKENDS = GAME_BACKENDS


def _default_trainer() -> OpponentTrainingConfig:
    return OpponentTrainingConfig(
        batch_size=32, unroll_length=10, num_updates=4, num_groups=8, segment_length=4, log_every=4
    )


def _check_fraction(owner: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{owner}.{name} must be a number in [0, 1], got {value!r}")


def learner_seat_sets(
    rng: np.random.Generator, num_players: int, learner_seats: int
) -> list[int] | list[tuple[int, ...]]:
    """The learner's seats for one round, cycled over its groups of games.

    A random seat order o (one `rng.permutation`); with one learner seat, the seats o[0], ...,
    o[N-1]; with k > 1, the N windows (o[i], ..., o[i+k-1]) (indices mod N), so that every
    seat is the learner's in exactly k of the N sets.

    Args:
      rng: the round's Generator.
      num_players: N.
      learner_seats: k, in [1, N].

    Returns:
      N seats (k = 1) or N sorted seat tuples (k > 1), for `train_against_opponents`.
    """
    order = [int(s) for s in rng.permutation(num_players)]
    if learner_seats == 1:
        return order
    return [
        tuple(sorted(order[(i + j) % num_players] for j in range(learner_seats)))
        for i in range(num_players)
    ]


@dataclasses.dataclass(frozen=True)
class LeagueConfig:
    """Configuration of a league run (docs/league.md).

    Attributes:
      game: a game string for `detente.games.load`; realpolitik games are learnt on
        `RealpolitikEnv`, others on `OpenSpielEnv`.
      rounds: rounds of training (each learner trains `trainer.num_updates` updates per round).
      num_main: main agents (>= 1).
      num_main_exploiters: main exploiters.
      num_league_exploiters: league exploiters.
      self_play_fraction: main agents' share of games against the current main agents.
      pfsp_fraction: main agents' share of PFSP against every frozen member.
      forgotten_fraction: main agents' share of PFSP against past main snapshots they no longer
        beat; the three fractions sum to 1.
      forgotten_threshold: a past main snapshot is "forgotten" while the main agent's score
        against it is below this.
      main_weighting: PFSP weighting of main agents (a name in `WEIGHTINGS`).
      league_exploiter_weighting: PFSP weighting of league exploiters.
      main_exploiter_weighting: weighting of main exploiters over past main snapshots.
      exploiter_min_score: main exploiters train against past main snapshots while their score
        against the main agents' latest snapshots is below this.
      snapshot_every: snapshot a learner after this many updates since its last snapshot.
      snapshot_threshold: also snapshot when the learner's score against its role's opponents
        reaches this (None: only `snapshot_every`).
      main_exploiter_reset: reset main exploiters to the initial parameters after a snapshot.
      league_exploiter_reset_prob: probability that a league exploiter is reset after a
        snapshot.
      games_per_profile: games per seat assignment when filling payoffs and checking scores.
      learner_seats: seats each learner plays in every training game, in [1, N - 1] (N > 1):
        1 puts it in one seat against N - 1 league opponents; k > 1 in k seats (a coalition of
        copies of itself) against N - k opponents. The seat sets are N windows of k
        consecutive seats of a per-round random seat order, cycled over groups of games, so
        every seat is played equally often.
      hidden_sizes: widths of every member's MLP torso.
      max_steps: truncate OpenSpiel games after this many steps (None: the rules end games).
      trainer: each learner's PPO training per round (`num_updates` = updates per round;
        `max_steps` must be None, truncation is `max_steps` above).
      checkpoint_every: write a checkpoint every this many rounds (and after the last).
      seed: the run's seed; every key, seed and Generator of the run derives from it.
      executor: where the learners and the payoff-filling matches run
        (`population.execution.make_executor` spec: "inprocess", "ray", "auto",
        "ray://HOST:PORT" or "HOST:PORT"); it changes no result. `run_league`'s `executor`
        argument, when given, takes precedence.
      init_from: warm start: a path `leaderboard_runner.load_pool` reads (a pool manifest, a
        directory of checkpoints, a league/PSRO run directory or a saved population) holding
        the initial member's parameters (see `run_league`'s `initial_params`); None: a fresh
        initialisation from `seed`.
      init_member: the member of `init_from` to start from; None: its only network member.
      backend: where the games are played: "host" (learners with `train_against_opponents`
        and matches with `play_env_matches` on the league's environment, stepped from the
        host) or "jax" (only for a JAX-only game such as "realpolitik_jax(...)": learners with
        `train_jax_against_opponents`, each update's rollout one `lax.scan` on the device, and
        matches with `play_env_matches(on_device=True)`, each batch one `lax.while_loop`).
        The two consume their keys differently, so they give different members.
    """

    game: str = "realpolitik(map=duel,max_years=2)"
    rounds: int = 12
    num_main: int = 1
    num_main_exploiters: int = 1
    num_league_exploiters: int = 1
    self_play_fraction: float = 0.35
    pfsp_fraction: float = 0.5
    forgotten_fraction: float = 0.15
    forgotten_threshold: float = 0.3
    main_weighting: str = "squared"
    league_exploiter_weighting: str = "linear_capped"
    main_exploiter_weighting: str = "variance"
    exploiter_min_score: float = 0.2
    snapshot_every: int = 8
    snapshot_threshold: float | None = 0.7
    main_exploiter_reset: bool = True
    league_exploiter_reset_prob: float = 0.25
    games_per_profile: int = 8
    learner_seats: int = 1
    hidden_sizes: tuple[int, ...] = (64,)
    max_steps: int | None = None
    trainer: OpponentTrainingConfig = dataclasses.field(default_factory=_default_trainer)
    checkpoint_every: int = 1
    seed: int = 0
    executor: str = "inprocess"
    init_from: str | None = None
    init_member: str | None = None
    backend: str = "host"

    def __post_init__(self):
        owner = "LeagueConfig"
        check_game_backend(owner, self.backend, self.game)
        for name in ("init_from", "init_member"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(
                    f"{owner}.{name} must be None or a non-empty string, got {value!r}"
                )
        if self.init_member is not None and self.init_from is None:
            raise ValueError(f"{owner}.init_member={self.init_member!r} needs init_from (a path)")
        if not isinstance(self.game, str) or not self.game:
            raise ValueError(f"{owner}.game must be a game string, got {self.game!r}")
        # Fails early, naming the bad game or parameter.
        num_players = league_spec(self.game, self.max_steps).num_players
        for name, minimum in (
            ("rounds", 0),
            ("num_main", 1),
            ("num_main_exploiters", 0),
            ("num_league_exploiters", 0),
            ("snapshot_every", 1),
            ("games_per_profile", 1),
            ("checkpoint_every", 1),
            ("seed", 0),
        ):
            check_count(owner, name, getattr(self, name), minimum=minimum)
        for name in (
            "self_play_fraction",
            "pfsp_fraction",
            "forgotten_fraction",
            "forgotten_threshold",
            "exploiter_min_score",
            "league_exploiter_reset_prob",
        ):
            _check_fraction(owner, name, getattr(self, name))
        total = self.self_play_fraction + self.pfsp_fraction + self.forgotten_fraction
        if abs(total - 1.0) > 1e-9:
            raise ValueError(
                f"{owner}: self_play_fraction + pfsp_fraction + forgotten_fraction must sum to 1, "
                f"got {self.self_play_fraction} + {self.pfsp_fraction} + "
                f"{self.forgotten_fraction} = {total}"
            )
        for name in ("main_weighting", "league_exploiter_weighting", "main_exploiter_weighting"):
            if getattr(self, name) not in WEIGHTINGS:
                raise ValueError(
                    f"{owner}.{name} {getattr(self, name)!r} is not one of {list(WEIGHTINGS)}"
                )
        if self.snapshot_threshold is not None:
            _check_fraction(owner, "snapshot_threshold", self.snapshot_threshold)
        if not isinstance(self.main_exploiter_reset, bool):
            raise ValueError(
                f"{owner}.main_exploiter_reset must be a bool, got {self.main_exploiter_reset!r}"
            )
        if not self.hidden_sizes or any(
            isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in self.hidden_sizes
        ):
            raise ValueError(
                f"{owner}.hidden_sizes must be positive integers, got {self.hidden_sizes!r}"
            )
        check_count(owner, "max_steps", self.max_steps, optional=True)
        check_count(owner, "learner_seats", self.learner_seats, minimum=1)
        if num_players > 1 and self.learner_seats >= num_players:
            raise ValueError(
                f"{owner}.learner_seats must be in [1, {num_players - 1}] for the "
                f"{num_players}-player game {self.game!r} (one seat at least for an opponent), "
                f"got {self.learner_seats}"
            )
        if not isinstance(self.trainer, OpponentTrainingConfig):
            raise ValueError(
                f"{owner}.trainer must be an OpponentTrainingConfig, got {self.trainer!r}"
            )
        if not isinstance(self.executor, str) or not self.executor.strip():
            raise ValueError(f"{owner}.executor must be an executor spec, got {self.executor!r}")
        if self.trainer.max_steps is not None:
            raise ValueError(
                f"{owner}.trainer.max_steps must be None: the league's environments truncate at "
                f"{owner}.max_steps, got trainer.max_steps={self.trainer.max_steps!r}"
            )

    def learner_names(self) -> list[tuple[str, str]]:
        """(name, role) of every learner, in training order: mains, main then league exploiters."""
        counts = (self.num_main, self.num_main_exploiters, self.num_league_exploiters)
        return [
            (f"{role}_{i}", role) for role, n in zip(ROLES, counts, strict=True) for i in range(n)
        ]


# ---------------------------------------------------------------------------------- scores
class ScoreTable:
    """Accumulated win-rate-like scores between members (`pfsp.pairwise_score`).

    score(a, b) is the mean over every shared game and every pair of seats (a at one, b at
    another) of 1 if a's return beat b's, 1/2 if equal; 1/2 with no shared game.
    """

    def __init__(self, entries: Sequence[Sequence[Any]] = ()):
        self._sums: dict[tuple[str, str], list[float]] = {}
        for a, b, total, count in entries:
            self._sums[(str(a), str(b))] = [float(total), float(count)]

    def add_games(self, members: Sequence[str], returns: np.ndarray) -> None:
        """Adds the games of one seat assignment: returns float [G, N]."""
        returns = np.asarray(returns, np.float64)
        for i, a in enumerate(members):
            for j, b in enumerate(members):
                if i == j or a == b:
                    continue
                score = pairwise_score(returns[:, i], returns[:, j])
                entry = self._sums.setdefault((a, b), [0.0, 0.0])
                entry[0] += score * returns.shape[0]
                entry[1] += returns.shape[0]

    def score(self, a: str, b: str) -> float:
        """a's score against b, in [0, 1]."""
        if a == b:
            return 0.5
        total, count = self._sums.get((a, b), (0.0, 0.0))
        return total / count if count else 0.5

    def to_json(self) -> list[list[Any]]:
        """Entries [a, b, score sum, games], sorted (JSON-able)."""
        return [[a, b, s, c] for (a, b), (s, c) in sorted(self._sums.items())]


def _weights(scores: Sequence[float], weighting: str) -> np.ndarray:
    if weighting == "uniform":
        return np.full(len(scores), 1.0 / len(scores))
    return pfsp_distribution(np.clip(np.asarray(scores, np.float64), 0.0, 1.0), weighting)


def _mix(parts: Sequence[tuple[float, Mapping[str, float]]]) -> dict[str, float]:
    mixed: dict[str, float] = {}
    for fraction, distribution in parts:
        for member, p in distribution.items():
            if fraction * p > 0:
                mixed[member] = mixed.get(member, 0.0) + fraction * p
    total = sum(mixed.values())
    return {m: p / total for m, p in mixed.items()}


def live_id(learner: str) -> str:
    """The id of a learner's current parameters in the round's working population."""
    return f"{LIVE_PREFIX}{learner}"


def opponent_distribution(
    config: LeagueConfig,
    role: str,
    *,
    learner: str,
    reference: str,
    members: Sequence[Member],
    main_learners: Sequence[str],
    main_references: Sequence[str],
    scores: ScoreTable,
) -> dict[str, float]:
    """A learner's opponent distribution for one round (pure; see the module docstring).

    Args:
      config: the league's configuration.
      role: one of `ROLES`.
      learner: the learner's name (e.g. "main_0").
      reference: the learner's latest snapshot id (or the initial member's).
      members: every frozen member, in insertion order.
      main_learners: names of the main agents (their live ids are opponents).
      main_references: the main agents' latest snapshot ids.
      scores: the score table.

    Returns:
      member id -> probability (live ids for current learners).

    Raises:
      ValueError: an unknown role.
    """
    if role not in ROLES:
        raise ValueError(f"unknown league role {role!r}; accepted: {list(ROLES)}")
    frozen = [m.id for m in members]
    past_main = [m.id for m in members if m.role == "main"]
    live_main = {live_id(name): 1.0 / len(main_learners) for name in main_learners}

    def pfsp(candidates: Sequence[str], weighting: str) -> dict[str, float]:
        weights = _weights([scores.score(reference, c) for c in candidates], weighting)
        return dict(zip(candidates, weights.tolist(), strict=True))

    if role == "main":
        forgotten = [
            c for c in past_main if scores.score(reference, c) < config.forgotten_threshold
        ]
        self_play = config.self_play_fraction
        parts = [(config.pfsp_fraction, pfsp(frozen, config.main_weighting))]
        if forgotten:
            parts.append((config.forgotten_fraction, pfsp(forgotten, config.main_weighting)))
        else:
            self_play += config.forgotten_fraction
        parts.append((self_play, live_main))
        return _mix(parts)
    if role == "main_exploiter":
        beaten = np.mean([scores.score(reference, m) for m in main_references])
        if past_main and beaten < config.exploiter_min_score:
            return pfsp(past_main, config.main_exploiter_weighting)
        return dict(live_main)
    return pfsp(frozen, config.league_exploiter_weighting)


def threshold_opponents(role: str, members: Sequence[Member], main_learners: Sequence[str]):
    """The opponents a learner's snapshot threshold is measured against (ids)."""
    if role == "main_exploiter":
        return [live_id(name) for name in main_learners]
    return [m.id for m in members]


def profiles_one_vs_rest(a: str, b: str, num_players: int) -> list[tuple[str, ...]]:
    """Every profile with one `a` and N - 1 `b` and with one `b` and N - 1 `a` (deduplicated)."""
    profiles = []
    for lone, field in ((a, b), (b, a)):
        for seat in range(num_players):
            profile = [field] * num_players
            profile[seat] = lone
            if tuple(profile) not in profiles:
                profiles.append(tuple(profile))
    return profiles


# ---------------------------------------------------------------------------------- run
@dataclasses.dataclass
class LearnerRecord:
    """A learner's bookkeeping between rounds (its `TrainingState` is saved beside it).

    Attributes:
      name: e.g. "main_0".
      role: one of `ROLES`.
      reference: its latest snapshot id (the initial member's before one and after a reset).
      updates: PPO updates done in total.
      since_snapshot: updates since its last snapshot (or reset).
      snapshots: snapshots taken.
      resets: resets to the initial parameters.
    """

    name: str
    role: str
    reference: str = INITIAL_ID
    updates: int = 0
    since_snapshot: int = 0
    snapshots: int = 0
    resets: int = 0


class LeagueResult(NamedTuple):
    """What a finished league run returns.

    Attributes:
      population: every frozen member (the initial one and all snapshots), in insertion order.
      payoffs: the payoff store (one-vs-rest profiles of every pair of members).
      scores: the score table.
      learners: each learner's record.
      states: each learner's final `TrainingState`, by name.
      rows: per round, its metrics.
      network: the members' network.
      spec: the environment's `EnvSpec`.
      wall_time: seconds spent in this call.
    """

    population: Population
    payoffs: PayoffStore
    scores: ScoreTable
    learners: list[LearnerRecord]
    states: dict[str, TrainingState]
    rows: list[dict[str, Any]]
    network: Network
    spec: EnvSpec
    wall_time: float


def _seed(*entropy: int) -> int:
    return int(np.random.SeedSequence([int(e) for e in entropy]).generate_state(1)[0])


def _json_roundtrip(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _comparable(config: dict) -> dict:
    # The executor changes no result: a run may resume on another one. A checkpoint written
    # before `backend` existed played on the host.
    config = {"backend": "host", **config}
    return {k: v for k, v in config.items() if k not in ("rounds", "executor")}


class _League:
    """One league run's moving parts; `run_league` drives it."""

    def __init__(self, config: LeagueConfig, executor: Executor | None = None):
        self.config = config
        self.executor = InProcessExecutor() if executor is None else executor
        self.spec = league_spec(config.game, config.max_steps)
        self.num_players = self.spec.num_players
        # One network object per (game, architecture) and process, shared with the executor's
        # in-process tasks (it is a static argument of the jitted functions).
        self.network = cached_network(self.spec, tuple(config.hidden_sizes))
        self.recipe = Recipe(
            config.game,
            tuple(config.hidden_sizes),
            config.max_steps,
            league_env=True,
            on_device=config.backend == "jax",
        )
        self.root_key = jax.random.key(config.seed)
        self.initial_params = self.network.init(jax.random.fold_in(self.root_key, 0))
        self.names = config.learner_names()

    def fresh_state(self, index: int, resets: int) -> TrainingState:
        """A learner's state at the initial parameters (fresh optimiser, its own key)."""
        key = jax.random.fold_in(jax.random.fold_in(self.root_key, 100 + index), resets)
        return warm_start(self.network, self.config.trainer.ppo, key, self.initial_params)

    # ------------------------------------------------------------------ matches
    def match_task(self, population: Population, profiles, seed: int) -> MatchTask:
        return MatchTask.create(
            self.recipe,
            population,
            profiles,
            games_per_profile=self.config.games_per_profile,
            seed=seed,
        )

    def play(self, population: Population, profiles, seed: int):
        """One executor task: the seeds of a call's batches derive from `seed` alone."""
        return self.executor.map(run_match_task, [self.match_task(population, profiles, seed)])[0]

    def fill_payoffs(
        self,
        population: Population,
        payoffs: PayoffStore,
        scores: ScoreTable,
        new_id: str,
        seed: int,
    ) -> None:
        """Plays the new member against every member (itself included), one-vs-rest both ways."""
        profiles = []
        for other in population.ids:
            for profile in profiles_one_vs_rest(new_id, other, self.num_players):
                if not payoffs.has(profile) and profile not in profiles:
                    profiles.append(profile)
        for result in self.play(population, profiles, seed):
            payoffs.add(result.record())
            scores.add_games(result.members, result.returns)

    def score_against(self, population: Population, candidate: str, opponents, seed: int):
        """The candidate's score against the opponents (mean over them), by fresh matches."""
        return self.scores_against(population, [(candidate, opponents, seed)])[0]

    def scores_against(self, population: Population, checks) -> list[float]:
        """`score_against` of every (candidate, opponents, seed), as one `executor.map`."""
        n = self.num_players
        tasks = [
            self.match_task(
                population,
                [p for o in opponents for p in profiles_one_vs_rest(candidate, o, n)],
                seed,
            )
            for candidate, opponents, seed in checks
        ]
        scores = []
        for (candidate, opponents, _), results in zip(
            checks, self.executor.map(run_match_task, tasks), strict=True
        ):
            table = ScoreTable()
            for result in results:
                table.add_games(result.members, result.returns)
            scores.append(float(np.mean([table.score(candidate, o) for o in opponents])))
        return scores

    # ------------------------------------------------------------------ one round
    def round(
        self,
        r: int,
        population: Population,
        payoffs: PayoffStore,
        scores: ScoreTable,
        records: list[LearnerRecord],
        states: dict[str, TrainingState],
        logger: Logger | None,
    ) -> dict[str, Any]:
        config = self.config
        by_name = {rec.name: rec for rec in records}
        main_names = [rec.name for rec in records if rec.role == "main"]
        main_refs = [by_name[n].reference for n in main_names]
        members = list(population)
        working = Population(members)
        for rec in records:
            working.add(Member.create(live_id(rec.name), states[rec.name].params, role="live"))
        row: dict[str, Any] = {"round": r}
        rngs = {}
        tasks = []
        for index, rec in enumerate(records):
            rng = np.random.default_rng([config.seed, 5, r, index])
            rngs[rec.name] = rng
            distribution = opponent_distribution(
                config,
                rec.role,
                learner=rec.name,
                reference=rec.reference,
                members=members,
                main_learners=main_names,
                main_references=main_refs,
                scores=scores,
            )
            seats = learner_seat_sets(rng, self.num_players, config.learner_seats)
            tasks.append(
                TrainingTask.create(
                    self.recipe,
                    config.trainer,
                    working,
                    opponents=[distribution] * self.num_players,
                    learner_seats=seats,
                    seed=_seed(config.seed, 1, r, index),
                    initial_state=states[rec.name],
                    log_step_offset=rec.updates,
                )
            )
        # The learners are independent given the round's start: one executor task each.
        outcomes = self.executor.map(run_training_task, tasks)
        for rec, outcome in zip(records, outcomes, strict=True):
            replay(outcome.log, logger)
            states[rec.name] = state_from_host(outcome.state)
            rec.updates += config.trainer.num_updates
            rec.since_snapshot += config.trainer.num_updates
            row[f"{rec.name}_return"] = outcome.mean_return
        # Snapshots, after every learner trained this round (the current main agents of the
        # threshold checks are the trained ones).
        working = Population(list(population))
        for rec in records:
            working.add(Member.create(live_id(rec.name), states[rec.name].params, role="live"))
        # The threshold checks depend on the round's start and the trained learners only: one
        # executor.map for all of them.
        checks = {
            rec.name: (
                live_id(rec.name),
                threshold_opponents(rec.role, members, main_names),
                _seed(config.seed, 4, r, index),
            )
            for index, rec in enumerate(records)
            if rec.since_snapshot < config.snapshot_every and config.snapshot_threshold is not None
        }
        checked = dict(
            zip(checks, self.scores_against(working, list(checks.values())), strict=True)
        )
        for index, rec in enumerate(records):
            reason = "every" if rec.since_snapshot >= config.snapshot_every else None
            score = math.nan
            if rec.name in checked:
                score = checked[rec.name]
                if score >= config.snapshot_threshold:
                    reason = "threshold"
            row[f"{rec.name}_threshold_score"] = score
            row[f"{rec.name}_snapshot"] = reason is not None
            if reason is None:
                continue
            member = Member.create(
                f"{rec.name}_s{rec.snapshots}",
                states[rec.name].params,
                role=rec.role,
                parent=rec.reference,
                step=rec.updates,
                metadata={"round": r, "learner": rec.name, "reason": reason},
            )
            population.add(member)
            self.fill_payoffs(
                population, payoffs, scores, member.id, _seed(config.seed, 3, r, index)
            )
            rec.reference = member.id
            rec.snapshots += 1
            rec.since_snapshot = 0
            reset = (rec.role == "main_exploiter" and config.main_exploiter_reset) or (
                rec.role == "league_exploiter"
                and rngs[rec.name].random() < config.league_exploiter_reset_prob
            )
            if reset:
                rec.resets += 1
                states[rec.name] = self.fresh_state(index, rec.resets)
                rec.reference = INITIAL_ID
        row["population_size"] = len(population)
        main_ref = records[0].reference
        row["main_score_vs_initial"] = scores.score(main_ref, INITIAL_ID)
        return row


# ---------------------------------------------------------------------------------- persistence
def checkpoint_path(run_dir: str | os.PathLike) -> pathlib.Path:
    """The checkpoint directory of a league run directory."""
    return pathlib.Path(run_dir) / CHECKPOINT_DIR


def _save(
    run_dir: str | os.PathLike,
    state: dict[str, Any],
    population: Population,
    payoffs: PayoffStore,
    states: Mapping[str, TrainingState],
) -> None:
    """Population, payoffs, learners (in a per-round folder), then state.json atomically."""
    directory = checkpoint_path(run_dir)
    population.save(directory / "population")
    payoffs.save(directory / "payoffs.json")
    learners_dir = directory / "learners" / f"round_{state['round']:06d}"
    for name, training_state in states.items():
        save_checkpoint(learners_dir / name, training_state, {"learner": name})
    write_json_atomic(directory / STATE_FILE, {"format_version": FORMAT_VERSION, **state})
    for old in (directory / "learners").iterdir():  # older rounds' learners are now stale
        if old.name != learners_dir.name:
            shutil.rmtree(old, ignore_errors=True)


def has_league(run_dir: str | os.PathLike | None) -> bool:
    """Whether `run_dir` holds a league checkpoint."""
    return run_dir is not None and (checkpoint_path(run_dir) / STATE_FILE).is_file()


def _load(run_dir: str | os.PathLike, league: _League):
    directory = checkpoint_path(run_dir)
    try:
        state = read_json(directory / STATE_FILE, "league state")
    except (FileNotFoundError, ValueError) as error:
        raise CheckpointError(str(error)) from error
    if not isinstance(state, dict) or state.pop("format_version", None) != FORMAT_VERSION:
        raise CheckpointError(f"corrupt league state {directory / STATE_FILE}")
    population = Population.load(
        directory / "population", league.initial_params, member_ids=state["members"]
    )
    try:
        payoffs = PayoffStore.load(directory / "payoffs.json")
    except (FileNotFoundError, ValueError) as error:
        raise CheckpointError(f"league run {directory}: {error}") from error
    if len(payoffs) < state["num_payoff_records"]:
        raise CheckpointError(
            f"league run {directory}: payoffs.json holds {len(payoffs)} records but the state "
            f"needs {state['num_payoff_records']}"
        )
    payoffs.truncate(state["num_payoff_records"])
    records = [LearnerRecord(**rec) for rec in state["learners"]]
    learners_dir = directory / "learners" / f"round_{state['round']:06d}"
    states = {}
    for index, rec in enumerate(records):
        states[rec.name], _ = load_checkpoint(learners_dir / rec.name, league.fresh_state(index, 0))
    return state, population, payoffs, ScoreTable(state["scores"]), records, states


def _load_initial_params(config: LeagueConfig) -> Any:
    """The params of `config.init_member` (or the only network member) of `config.init_from`."""
    from detente.population.leaderboard_runner import NETWORK, load_pool

    pool = load_pool(config.init_from, config.game, hidden_sizes=config.hidden_sizes)
    networks = [m for m in pool.members if m.kind == NETWORK]
    if config.init_member is not None:
        chosen = pool.member(config.init_member)  # names the members if unknown
    elif len(networks) == 1:
        chosen = networks[0]
    else:
        raise ValueError(
            f"LeagueConfig.init_from={config.init_from!r} holds {len(networks)} network members "
            f"{[m.id for m in networks]}; name one with init_member"
        )
    if chosen.kind != NETWORK:
        raise ValueError(f"init_member {chosen.id!r} is a built-in baseline, not a network")
    if tuple(chosen.hidden_sizes) != tuple(config.hidden_sizes):
        raise ValueError(
            f"init_member {chosen.id!r} has hidden sizes {tuple(chosen.hidden_sizes)}, the "
            f"league's networks {tuple(config.hidden_sizes)}; set hidden_sizes to match"
        )
    return chosen.params


def run_league(
    config: LeagueConfig,
    *,
    run_dir: str | os.PathLike | None = None,
    logger: Logger | None = None,
    learner_logger: Logger | None = None,
    on_round: Callable[[dict[str, Any]], None] | None = None,
    executor: Executor | str | None = None,
    initial_params: Any = None,
) -> LeagueResult:
    """Runs the league; resumes from `run_dir`'s checkpoint if there is one.

    Args:
      config: the run's configuration.
      run_dir: where checkpoints go (None: no checkpoints).
      logger: receives one row of metrics per round (step = round).
      learner_logger: receives the learners' PPO metrics (step = the learner's update index).
      on_round: called with every round's row (e.g. to advance a progress bar).
      executor: where each round's learners (one task each, one `executor.map`) and the
        payoff-filling and threshold matches run: None (`config.executor`, by default
        "inprocess"), a spec string of `population.execution.make_executor` (built and closed
        here), or an `Executor` (left open; the caller owns it). The executor changes no
        result: the same config gives the same members (content hashes), payoffs and rows.
      initial_params: the initial member's parameters (a warm start, e.g. a self-play run's
        result), instead of a fresh initialisation from the seed; learners start, and
        exploiters reset, from them. They must fit the network of `config.hidden_sizes`. A
        resumed run keeps the initial member of its checkpoint (passing other params is an
        error).

    Returns:
      A `LeagueResult`.

    Raises:
      ValueError: a bad config, or `initial_params` that do not fit the network.
      CheckpointError: a corrupt checkpoint, or one written with a different config (anything
        but `rounds` and `executor` differs) or from other initial params.
      ImportError: a Ray executor without Ray installed.
    """
    if not isinstance(config, LeagueConfig):
        raise ValueError(f"config must be a LeagueConfig, got {type(config).__name__}")
    with executor_scope(config.executor if executor is None else executor) as run_executor:
        return _run_league(
            config, run_dir, logger, learner_logger, on_round, run_executor, initial_params
        )


def _run_league(
    config: LeagueConfig,
    run_dir: str | os.PathLike | None,
    logger: Logger | None,
    learner_logger: Logger | None,
    on_round: Callable[[dict[str, Any]], None] | None,
    executor: Executor,
    initial_params: Any,
) -> LeagueResult:
    start = time.perf_counter()
    league = _League(config, executor)
    if initial_params is None and config.init_from is not None:
        initial_params = _load_initial_params(config)
    if initial_params is not None:
        league.initial_params = check_params(league.network, initial_params, "initial_params")
    config_dict = _json_roundtrip(dataclasses.asdict(config))
    if has_league(run_dir):
        state, population, payoffs, scores, records, states = _load(run_dir, league)
        if _comparable(state["config"]) != _comparable(config_dict):
            differing = sorted(
                k
                for k in set(state["config"]) | set(config_dict)
                if k not in ("rounds", "executor") and state["config"].get(k) != config_dict.get(k)
            )
            raise CheckpointError(
                f"run directory {run_dir} holds a league run with a different config (fields "
                f"{differing}); use another run directory or the same config"
            )
        rows = state["rows"]
        first = state["round"]
        saved = population[INITIAL_ID]
        if initial_params is not None and content_hash(initial_params) != saved.hash:
            raise CheckpointError(
                f"run directory {run_dir} holds a league started from other initial params "
                f"(hash {saved.hash[:12]}, given {content_hash(initial_params)[:12]}); use "
                "another run directory, or resume without initial_params"
            )
        league.initial_params = saved.params  # exploiters reset to the run's initial member
    else:
        population = Population([Member.create(INITIAL_ID, league.initial_params, role="initial")])
        payoffs = PayoffStore(league.num_players)
        scores = ScoreTable()
        league.fill_payoffs(population, payoffs, scores, INITIAL_ID, _seed(config.seed, 3))
        records = [LearnerRecord(name, role) for name, role in league.names]
        states = {name: league.fresh_state(i, 0) for i, (name, _) in enumerate(league.names)}
        rows = []
        first = 0

    def checkpoint(next_round: int) -> None:
        if run_dir is None:
            return
        state = {
            "round": next_round,
            "members": population.ids,
            "learners": [dataclasses.asdict(rec) for rec in records],
            "scores": scores.to_json(),
            "num_payoff_records": len(payoffs),
            "rows": rows,
            "config": config_dict,
        }
        _save(run_dir, _json_roundtrip(state), population, payoffs, states)

    if first == 0 and not has_league(run_dir):
        checkpoint(0)
    for r in range(first, config.rounds):
        round_start = time.perf_counter()
        row = league.round(r, population, payoffs, scores, records, states, learner_logger)
        row["seconds"] = time.perf_counter() - round_start
        row = {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in row.items()
        }
        rows.append(row)
        if (r + 1) % config.checkpoint_every == 0 or r + 1 == config.rounds:
            checkpoint(r + 1)
        if logger is not None:
            logger.write(r, {k: v for k, v in row.items() if isinstance(v, (int, float))})
        if on_round is not None:
            on_round(row)
    return LeagueResult(
        population=population,
        payoffs=payoffs,
        scores=scores,
        learners=records,
        states=states,
        rows=rows,
        network=league.network,
        spec=league.spec,
        wall_time=time.perf_counter() - start,
    )
