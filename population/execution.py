"""Execution backends: where a population loop's independent tasks run.

A population loop (PSRO, the league) repeatedly does work that splits into independent tasks:
batches of matches (`play_matches` on a slice of the missing seat assignments) and learners
(one best response per player, given the meta-strategy). An `Executor` runs such tasks:

    results = executor.map(fn, tasks)      # == [fn(task) for task in tasks], in order

Two executors exist:

* `InProcessExecutor` (the default): calls `fn` on every task in turn, in this process. No
  service to start, and nothing imports Ray.
* `detente.population.ray_backend.RayExecutor`: every task becomes a Ray task on a local or
  remote Ray cluster; a task whose worker process dies is retried (`max_retries`).

`make_executor(spec)` builds one from a string ("inprocess", "ray", "auto", "ray://host:port"
or "host:port").

The contract that makes results independent of the executor:

* `fn` is a module-level function (importable by name on every worker) and is pure: its result
  depends on its task only. No global state, no global RNG: every seed travels in the task.
* tasks and results are plain picklable data: frozen dataclasses of numpy arrays, strings and
  numbers (`Population`s of frozen numpy members included). Networks and games are not
  shipped: a task carries a `Recipe` (game string, max steps, hidden sizes) and the worker
  rebuilds them, once per process (`Recipe.build` is cached).
* loggers do not cross processes: a task records its metric rows (`LogRecorder`) and returns
  them; the driver replays them into its logger (`replay`) in task order.

This module also defines the two task kinds PSRO uses, for any loop to reuse: `MatchTask`
(run by `run_match_task`) and `TrainingTask` (run by `run_training_task`, a whole
`train_against_opponents` call). See docs/scaling.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, Protocol, TypeVar, runtime_checkable

import jax
import numpy as np
import pyspiel

from detente.agents import Network, make_policy_value_network
from detente.games import load
from detente.lib import EnvSpec, env_spec_for
from detente.lib.metrics_logger import Logger
from detente.population.jax_opponent_training import train_jax_against_opponents
from detente.population.matches import MatchResult, play_matches
from detente.population.members import Population
from detente.population.opponent_training import (
    OpponentTrainingConfig,
    train_against_opponents,
)

T = TypeVar("T")
R = TypeVar("R")

EXECUTOR_SPECS = ("inprocess", "ray", "auto", "ray://HOST:PORT", "HOST:PORT")
_ADDRESS = re.compile(r"^(ray://)?[A-Za-z0-9_.\-\[\]:]+:\d+$")


@runtime_checkable
class Executor(Protocol):
    """Runs independent tasks: `map(fn, tasks)` returns `[fn(t) for t in tasks]`, in order.

    Implementations may run tasks concurrently and in other processes or machines, so `fn`
    must be a module-level, pure function of its task, and tasks and results picklable data
    (see the module docstring). The results are the same whichever executor runs them.
    """

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> list[R]:
        """Runs `fn` on every task; returns the results in the order of `tasks`.

        An exception raised by `fn` propagates (after the executor's own retries of
        infrastructure failures, if any).
        """

    def close(self) -> None:
        """Releases what the executor started (a local Ray instance, ...)."""


def _check_map_args(fn: Any, tasks: Any) -> list[Any]:
    if not callable(fn):
        raise TypeError(f"Executor.map needs a callable fn, got {fn!r}")
    if isinstance(tasks, (str, bytes, Mapping)) or not isinstance(tasks, Sequence):
        raise TypeError(f"Executor.map needs a sequence of tasks, got {type(tasks).__name__}")
    return list(tasks)


class InProcessExecutor:
    """Runs tasks one after another in this process (the default executor)."""

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> list[R]:
        """Returns `[fn(t) for t in tasks]`."""
        return [fn(task) for task in _check_map_args(fn, tasks)]

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> InProcessExecutor:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return "InProcessExecutor()"


def make_executor(spec: Executor | str | None = None, **options: Any) -> Executor:
    """Builds an executor from a spec.

    Args:
      spec: None or "inprocess": `InProcessExecutor`. "ray": a `RayExecutor` that calls
        `ray.init()` on first use (connects to `RAY_ADDRESS` if set, otherwise starts a local
        Ray instance with this machine's CPUs). "auto": connect to the Ray cluster this machine
        is part of (`ray start` was run here). "ray://HOST:PORT": a remote cluster through Ray
        Client. "HOST:PORT": a cluster's GCS address, the driver running on one of its nodes.
        An `Executor` instance is returned as it is.
      **options: keyword arguments of `RayExecutor` (`max_retries`, `num_cpus`, `num_gpus`,
        `init_kwargs`); refused for the in-process executor.

    Returns:
      The executor. The caller owns it: call `close()` (or use it as a context manager).

    Raises:
      ValueError: an unknown spec (the message lists the accepted forms), or options for the
        in-process executor.
      ImportError: a Ray spec without Ray installed (the message names the `ray` extra).
    """
    if spec is not None and not isinstance(spec, str):
        if isinstance(spec, Executor):
            if options:
                raise ValueError(f"options {sorted(options)} cannot apply to an executor instance")
            return spec
        raise ValueError(
            f"executor must be an Executor or one of {EXECUTOR_SPECS}, got {type(spec).__name__}"
        )
    name = "inprocess" if spec is None else spec.strip()
    if name == "inprocess":
        if options:
            raise ValueError(f"the in-process executor takes no options, got {sorted(options)}")
        return InProcessExecutor()
    if name == "ray":
        address = None
    elif name == "auto" or _ADDRESS.match(name):
        address = name
    else:
        raise ValueError(f"unknown executor {spec!r}; accepted: {', '.join(EXECUTOR_SPECS)}")
    from detente.population.ray_backend import RayExecutor  # Ray itself is imported there, lazily

    return RayExecutor(address, **options)


@contextlib.contextmanager
def executor_scope(spec: Executor | str | None) -> Iterator[Executor]:
    """`make_executor(spec)` as a context: closes the executor only if it was built here.

    An `Executor` instance passed in belongs to the caller and is left open.
    """
    executor = make_executor(spec)
    try:
        yield executor
    finally:
        if executor is not spec:
            executor.close()


# ---------------------------------------------------------------------------- task plumbing
@dataclasses.dataclass(frozen=True)
class Recipe:
    """What a worker rebuilds the game and the members' network from.

    Networks (haiku-transformed functions) and pyspiel games are not shipped to workers; this
    small picklable recipe is, and `build()` rebuilds them once per process.

    Attributes:
      game: a game string for `detente.games.load` (or, with `league_env`, of a JAX-only game
        such as "realpolitik_jax(map=duel)").
      hidden_sizes: widths of the MLP torso (`agents.make_policy_value_network`).
      max_steps: truncate games after this many steps (None: the rules end games).
      league_env: learn and play on the league's environments (`population.league_env`:
        `RealpolitikEnv` for realpolitik games, `JaxGameEnv` for JAX-only games,
        `OpenSpielEnv` otherwise) instead of `OpenSpielEnv`; the network is built from that
        environment's spec.
      on_device: play on the device (a JAX-only game with `league_env`): learners train with
        `train_jax_against_opponents` instead of `train_against_opponents`, and matches run
        with `play_env_matches(on_device=True)`.
    """

    game: str
    hidden_sizes: tuple[int, ...]
    max_steps: int | None = None
    league_env: bool = False
    on_device: bool = False

    def build(self) -> tuple[pyspiel.Game | None, Network]:
        """(the pyspiel game, None for a JAX-only game; the network); cached per process."""
        return _build(
            self.game, tuple(int(h) for h in self.hidden_sizes), self.max_steps, self.league_env
        )

    def training_env(self, batch_size: int) -> Any:
        """The auto-resetting league environment of `batch_size` (None unless `league_env`)."""
        if not self.league_env:
            return None
        return _training_env(self.game, self.max_steps, int(batch_size))


@functools.lru_cache(maxsize=16)
def _build(game: str, hidden_sizes: tuple[int, ...], max_steps: int | None, league_env: bool):
    if league_env:
        from detente.population.league_env import is_jax_only, league_spec

        # A JAX-only game has no pyspiel game: its tasks use the game string and the league's
        # environment only.
        loaded = None if is_jax_only(game) else load(game)
        return loaded, cached_network(league_spec(game, max_steps), hidden_sizes)
    loaded = load(game)
    return loaded, cached_network(env_spec_for(loaded, max_steps=max_steps), hidden_sizes)


@functools.lru_cache(maxsize=8)
def _training_env(game: str, max_steps: int | None, batch_size: int) -> Any:
    # Every training call resets the environment from its own seed, so one object per process
    # and shape can serve every task.
    from detente.population.league_env import env_factory

    return env_factory(game, max_steps)(batch_size, True)


@functools.lru_cache(maxsize=16)
def cached_network(spec: EnvSpec, hidden_sizes: tuple[int, ...]) -> Network:
    """`make_policy_value_network(spec, hidden_sizes=...)`, one object per process and key.

    The network is a static argument of the jitted acting and PPO update functions; reusing
    one object per (game, architecture) shares their compilation between tasks and runs in a
    process (building it is pure, so the cache changes no result).
    """
    return make_policy_value_network(spec, hidden_sizes=hidden_sizes)


def members_subset(population: Population, member_ids: Sequence[str]) -> Population:
    """The members named in `member_ids`, in the population's order, for shipping to a task.

    A task needs only the parameters of the members it plays with, not the whole population.
    Lineage is not needed there: a member whose parent is left out keeps its params and hash
    but has `parent=None` in the subset. Order is kept, so stacked parameters (and results)
    are the same as with the whole population.

    Raises:
      ValueError: an id that is not in the population.
    """
    population.check_ids(list(member_ids), "members_subset")
    wanted = set(member_ids)
    subset = Population()
    for member in population:
        if member.id in wanted:
            if member.parent is not None and member.parent not in subset:
                member = dataclasses.replace(member, parent=None)
            subset.add(member)
    return subset


class LogRecorder:
    """A `Logger` that keeps its rows, for a task to return them to the driver."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, dict[str, float]]] = []

    def write(self, step: int, metrics: Mapping[str, float]) -> None:
        """Keeps (step, metrics as floats)."""
        self.rows.append((int(step), {k: float(v) for k, v in metrics.items()}))

    def close(self) -> None:
        """Nothing is held."""


def replay(rows: Sequence[tuple[int, Mapping[str, float]]], logger: Logger | None) -> None:
    """Writes rows recorded by a `LogRecorder` into `logger` (nothing if None)."""
    if logger is None:
        return
    for step, metrics in rows:
        logger.write(step, metrics)


# ---------------------------------------------------------------------------- match batches
@dataclasses.dataclass(frozen=True)
class MatchTask:
    """A batch of matches: `play_matches` on `profiles`, as one executor task.

    Attributes:
      recipe: the game and network.
      population: the members the profiles name (`members_subset`).
      profiles: G seat maps; profiles[g][p] is the member id at seat p.
      games_per_profile: B games per profile.
      seed: the batch's seed (results are a function of it, see `play_matches`).
    """

    recipe: Recipe
    population: Population
    profiles: tuple[tuple[str, ...], ...]
    games_per_profile: int
    seed: int

    @classmethod
    def create(
        cls,
        recipe: Recipe,
        population: Population,
        profiles: Sequence[Sequence[str]],
        *,
        games_per_profile: int,
        seed: int,
    ) -> MatchTask:
        """A task holding only the members `profiles` name."""
        profiles = tuple(tuple(p) for p in profiles)
        ids = [m for profile in profiles for m in profile]
        return cls(recipe, members_subset(population, ids), profiles, games_per_profile, seed)


def run_match_task(task: MatchTask) -> list[MatchResult]:
    """Plays a `MatchTask`; G `MatchResult`s in the order of its profiles."""
    game, network = task.recipe.build()
    if task.recipe.league_env:
        from detente.population.league_env import play_env_matches

        return play_env_matches(
            task.recipe.game,
            network,
            task.population,
            task.profiles,
            games_per_profile=task.games_per_profile,
            seed=task.seed,
            max_steps=task.recipe.max_steps,
            on_device=task.recipe.on_device,
        )
    return play_matches(
        game,
        network,
        task.population,
        task.profiles,
        games_per_profile=task.games_per_profile,
        seed=task.seed,
        max_steps=task.recipe.max_steps,
    )


# ---------------------------------------------------------------------------- learners
@dataclasses.dataclass(frozen=True)
class TrainingTask:
    """A whole `train_against_opponents` call (one learner) as one executor task.

    A learner is a single task rather than a long-lived actor: it needs nothing between
    calls (the loop checkpoints between iterations and a replayed call gives the same
    parameters), so a retried task after a worker died redoes the training exactly.

    Attributes:
      recipe: the game and network.
      config: the learner's training configuration.
      population: the members `opponents` names (`members_subset`).
      opponents: per seat, member id -> probability (None where only the learner sits).
      learner_seats: per group of games (round-robin), the learner's seat or seat set
        (`train_against_opponents`).
      seed: seed of everything random in the training.
      initial_params: warm-start parameters (numpy pytree) or None for a fresh init.
      log_step_offset: added to the update index of every recorded metrics row.
      initial_state: a `TrainingState` to continue (`state_to_host` form), exclusive with
        `initial_params`; the outcome then carries the final state.
    """

    recipe: Recipe
    config: OpponentTrainingConfig
    population: Population
    opponents: tuple[Mapping[str, float] | None, ...]
    learner_seats: tuple[int | tuple[int, ...], ...]
    seed: int
    initial_params: Any = None
    log_step_offset: int = 0
    initial_state: Any = None

    @classmethod
    def create(
        cls,
        recipe: Recipe,
        config: OpponentTrainingConfig,
        population: Population,
        *,
        opponents: Sequence[Mapping[str, float] | None],
        learner_seats: Sequence[int | Sequence[int]],
        seed: int,
        initial_params: Any = None,
        log_step_offset: int = 0,
        initial_state: Any = None,
    ) -> TrainingTask:
        """A task holding only the members `opponents` names (`initial_state`: host form)."""
        ids = [m for seat in opponents if seat is not None for m in seat]
        return cls(
            recipe,
            config,
            members_subset(population, ids),
            tuple(None if seat is None else dict(seat) for seat in opponents),
            tuple(
                int(s) if isinstance(s, (int, np.integer)) else tuple(int(x) for x in s)
                for s in learner_seats
            ),
            seed,
            initial_params,
            log_step_offset,
            None if initial_state is None else state_to_host(initial_state),
        )


class TrainingOutcome(NamedTuple):
    """What `run_training_task` returns (host data only).

    Attributes:
      params: the learner's final parameters, a numpy pytree.
      mean_return: the learner's mean return over the last segment's finished episodes (nan
        if none finished).
      env_steps: game-steps played.
      log: the metrics rows the learner wrote, (step, metrics), for `replay`.
      state: the final `TrainingState` in `state_to_host` form when the task continued an
        `initial_state` (None otherwise); `state_from_host` restores it.
    """

    params: Any
    mean_return: float
    env_steps: int
    log: list[tuple[int, dict[str, float]]]
    state: Any = None


def state_to_host(state: Any) -> Any:
    """A `TrainingState` as picklable numpy data (a typed PRNG key becomes its key data)."""
    key = state.key
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    host = jax.tree.map(np.asarray, jax.device_get(state._replace(key=None)))
    return host._replace(key=_HostKey(np.asarray(key)))


def state_from_host(state: Any) -> Any:
    """Inverse of `state_to_host` (also accepts an on-device `TrainingState`)."""
    key = state.key
    if isinstance(key, _HostKey):
        key = jax.random.wrap_key_data(jax.numpy.asarray(key.data))
    return jax.tree.map(jax.numpy.asarray, state._replace(key=None))._replace(key=key)


@dataclasses.dataclass(frozen=True)
class _HostKey:
    """Key data of a typed PRNG key, kept apart so that it is rewrapped as a key."""

    data: np.ndarray


def run_training_task(task: TrainingTask) -> TrainingOutcome:
    """Trains the learner of a `TrainingTask`; returns its parameters as numpy arrays."""
    game, network = task.recipe.build()
    recorder = LogRecorder()
    common = dict(
        network=network,
        population=task.population,
        opponents=list(task.opponents),
        learner_seats=list(task.learner_seats),
        seed=task.seed,
        initial_params=task.initial_params,
        initial_state=None if task.initial_state is None else state_from_host(task.initial_state),
        logger=recorder,
        log_step_offset=task.log_step_offset,
    )
    if task.recipe.on_device:
        result = train_jax_against_opponents(task.config, game=task.recipe.game, **common)
    else:
        env = task.recipe.training_env(task.config.batch_size)
        result = train_against_opponents(
            task.config,
            game=task.recipe.game if env is not None else game,
            env=env,
            **common,
        )
    return TrainingOutcome(
        params=jax.tree.map(np.asarray, jax.device_get(result.params)),
        mean_return=float(result.mean_return),
        env_steps=int(result.env_steps),
        log=recorder.rows,
        state=None if task.initial_state is None else state_to_host(result.state),
    )
