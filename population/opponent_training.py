"""Training a PPO learner against frozen opponents drawn from a population.

The generalisation of naive self-play's loop (`population.self_play`): B games in G groups of
B // G; in group g the learner plays the seat (or the set of seats)
`learner_seats[g % len(learner_seats)]` and every other seat p is played by a frozen member
drawn from `opponents[p]`, a distribution over member ids. The trajectory's `learner_mask`
[B, P] marks the learner's seats of every game, so PPO trains only on the learner's decisions;
its reported return is the mean over its seats. This is the best-response oracle of PSRO
(opponents drawn from the meta-strategy) and of fictitious play (the uniform mixture over past
members).

Opponents are redrawn, and the environment batch restarted, at the start of every segment of
`segment_length` updates, so an episode is never played by two different opponents. All
randomness derives from `seed`: opponents of segment s from `SeedSequence([seed, 2, s])`,
chance from `SeedSequence([seed, s])` (as in self-play), parameters and minibatches from
`jax.random.key(seed)`.

Acting uses one `agents.act` call per step on stacked parameters [M, ...] with M = 1 + G (P - 1)
(the learner, then the drawn opponents, padded), a shape that never changes during a run, so
acting compiles once.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pyspiel

from detente.agents import Learner, Network, PPOConfig, TrainingState, stack_params
from detente.lib import OpenSpielEnv, TimeStep
from detente.lib.config_checks import check_count
from detente.lib.metrics_logger import Logger
from detente.population.host_rollout import collect_unroll
from detente.population.matches import _as_game
from detente.population.members import Population


@dataclasses.dataclass(frozen=True)
class OpponentTrainingConfig:
    """Configuration of one learner's training against frozen opponents.

    Attributes:
      batch_size: B, games stepped together.
      unroll_length: T, environment steps per learner update.
      num_updates: learner updates.
      num_groups: G, groups of B // G games sharing one draw of opponents; must divide B.
      segment_length: updates between opponent redraws (and environment restarts).
      max_steps: truncate games after this many steps (None: the rules end games).
      log_every: write metrics every this many updates.
      ppo: the learner's hyperparameters.
    """

    batch_size: int = 128
    unroll_length: int = 8
    num_updates: int = 100
    num_groups: int = 16
    segment_length: int = 10
    max_steps: int | None = None
    log_every: int = 10
    ppo: PPOConfig = dataclasses.field(default_factory=PPOConfig)

    def __post_init__(self):
        for name in (
            "batch_size",
            "unroll_length",
            "num_updates",
            "num_groups",
            "segment_length",
            "log_every",
        ):
            check_count("OpponentTrainingConfig", name, getattr(self, name))
        if self.batch_size % self.num_groups:
            raise ValueError(
                f"OpponentTrainingConfig.num_groups={self.num_groups} must divide "
                f"batch_size={self.batch_size}"
            )
        check_count("OpponentTrainingConfig", "max_steps", self.max_steps, optional=True)
        if not isinstance(self.ppo, PPOConfig):
            raise ValueError(f"OpponentTrainingConfig.ppo must be a PPOConfig, got {self.ppo!r}")


class OpponentTrainingResult(NamedTuple):
    """What `train_against_opponents` returns.

    Attributes:
      params: the learner's final parameters.
      state: the learner's final `TrainingState`.
      env_steps: game-steps played (B per environment step).
      wall_time: seconds spent.
      mean_return: the learner's mean return over episodes finished in the last segment (nan if
        none finished).
    """

    params: Any
    state: TrainingState
    env_steps: int
    wall_time: float
    mean_return: float


def check_seat_sets(learner_seats: Sequence[Any], num_players: int) -> list[tuple[int, ...]]:
    """Normalises `learner_seats` to seat sets: each entry an int seat or a sequence of seats.

    Returns:
      One sorted tuple of seats per entry (an int seat s becomes (s,)).

    Raises:
      ValueError: naming the bad entry (empty, not a seat index, out of range, repeated, or a
        set holding every seat, which leaves no opponent).
    """
    entries = list(learner_seats)
    if not entries:
        raise ValueError("learner_seats must name at least one seat (or seat set)")
    sets: list[tuple[int, ...]] = []
    for entry in entries:
        seats = [entry] if isinstance(entry, (int, np.integer)) else entry
        if isinstance(seats, (str, bytes, Mapping)) or not isinstance(seats, Sequence) or not seats:
            raise ValueError(
                f"learner_seats entries must be a seat index or a non-empty sequence of seat "
                f"indices, got {entry!r}"
            )
        for seat in seats:
            if isinstance(seat, bool) or not isinstance(seat, (int, np.integer)):
                raise ValueError(f"learner_seats must hold seat indices, got {seat!r} in {entry!r}")
            if not 0 <= seat < num_players:
                raise ValueError(f"learner seat {seat} is out of range for {num_players} players")
        if len(set(seats)) != len(seats):
            raise ValueError(f"learner seat set {entry!r} repeats a seat")
        if len(seats) == num_players and num_players > 1:
            raise ValueError(
                f"learner seat set {entry!r} holds all {num_players} seats: that is self-play "
                "(population.self_play), not training against opponents"
            )
        sets.append(tuple(sorted(int(s) for s in seats)))
    if all(len(t) == 1 for t in sets) and len(set(sets)) != len(sets):
        raise ValueError(f"learner_seats has duplicates: {[t[0] for t in sets]}")
    return sets


def check_opponents(
    population: Population,
    opponents: Sequence[Mapping[str, float] | None],
    learner_seats: Sequence[Any],
    num_players: int,
) -> tuple[list[tuple[int, ...]], list[tuple[list[str], np.ndarray] | None]]:
    """Validates the learner's seat sets and the per-seat opponent distributions.

    Args:
      population: holds the members the distributions name.
      opponents: per seat, member id -> probability (None where only the learner ever sits).
      learner_seats: per group of games (round-robin), the learner's seat (an int) or seats (a
        sequence of ints); see `check_seat_sets`.
      num_players: N.

    Returns:
      (learner seat sets, per seat (member ids, probabilities) or None where only the learner
      ever sits).

    Raises:
      ValueError: naming the bad seat, member id or probability.
    """
    sets = check_seat_sets(learner_seats, num_players)
    if isinstance(opponents, Mapping) or len(opponents) != num_players:
        raise ValueError(
            f"opponents must be a sequence of {num_players} distributions (one per seat; None "
            "for a seat only the learner plays)"
        )
    checked: list[tuple[list[str], np.ndarray] | None] = []
    for seat, distribution in enumerate(opponents):
        needed = any(seat not in seat_set for seat_set in sets)
        if distribution is None:
            if needed:
                raise ValueError(
                    f"seat {seat} needs an opponent distribution: the learner does not always "
                    "sit there"
                )
            checked.append(None)
            continue
        if not isinstance(distribution, Mapping) or not distribution:
            raise ValueError(
                f"opponents[{seat}] must be a non-empty mapping member id -> probability, got "
                f"{distribution!r}"
            )
        ids = list(distribution)
        population.check_ids(ids, f"opponents[{seat}]")
        probs = np.asarray([float(distribution[m]) for m in ids], np.float64)
        if not np.all(np.isfinite(probs)) or np.any(probs < 0) or abs(probs.sum() - 1) > 1e-6:
            raise ValueError(
                f"opponents[{seat}] must hold probabilities summing to 1, got {dict(distribution)}"
            )
        checked.append((ids, probs / probs.sum()))
    return sets, checked


def make_learner(
    network: Network,
    ppo: PPOConfig,
    root_key: jax.Array,
    initial_params: Any = None,
    initial_state: TrainingState | None = None,
) -> Learner:
    """The learner of a run seeded by `root_key`: fresh from `fold_in(root_key, 0)`, or
    continuing `initial_state`, or at `initial_params` (a warm start, fresh optimiser).

    Raises:
      ValueError: both `initial_params` and `initial_state`.
    """
    if initial_params is not None and initial_state is not None:
        raise ValueError("pass initial_params or initial_state, not both")
    if initial_state is not None:
        return Learner(network, ppo, root_key, state=initial_state)
    learner = Learner(network, ppo, jax.random.fold_in(root_key, 0))
    if initial_params is None:
        return learner
    params = jax.tree.map(jnp.asarray, initial_params)
    state = learner.state._replace(params=params, magnet_params=params)
    return Learner(network, ppo, root_key, state=state)


def learner_group_seats(
    seat_sets: Sequence[tuple[int, ...]], num_groups: int, num_players: int
) -> np.ndarray:
    """bool [G, P]: the learner's seats in each group, `seat_sets` round-robin over groups."""
    group_seats = np.zeros((num_groups, num_players), bool)
    for g in range(num_groups):
        group_seats[g, list(seat_sets[g % len(seat_sets)])] = True
    return group_seats


def _seed(*entropy: int) -> int:
    return int(np.random.SeedSequence([int(e) for e in entropy]).generate_state(1)[0])


def train_against_opponents(
    config: OpponentTrainingConfig,
    *,
    game: pyspiel.Game | str,
    network: Network,
    population: Population,
    opponents: Sequence[Mapping[str, float] | None],
    learner_seats: Sequence[int],
    seed: int,
    initial_params: Any = None,
    initial_state: TrainingState | None = None,
    env: Any = None,
    logger: Logger | None = None,
    log_step_offset: int = 0,
) -> OpponentTrainingResult:
    """Trains a PPO learner at `learner_seats` against opponents drawn from `population`.

    Args:
      config: the training configuration.
      game: a game string or pyspiel game.
      network: the learner's network, shared with the population's members.
      population: holds the opponents.
      opponents: per seat p, a mapping member id -> probability of playing seat p against the
        learner (None for a seat only the learner occupies).
      learner_seats: per group of games, round-robin over the groups, the learner's seat (an
        int) or seats (a sequence of ints: the learner plays all of them in each game of the
        group, e.g. two allied seats of a 3-player game); opponents fill the other seats.
      seed: non-negative seed of everything random in the run.
      initial_params: start from these parameters (warm start) instead of a fresh init.
      initial_state: continue this `TrainingState` (parameters, optimiser state, key, step),
        e.g. a league learner's between rounds; exclusive with `initial_params`.
      env: the batched environment to train in (`reset(seed)`, `step(actions)`, `spec`,
        `batch_size` = `config.batch_size`, auto-resetting), e.g. a `RealpolitikEnv` with K > 1
        slots; None: `OpenSpielEnv(game, ...)`. With an env, `game` is only used for its name.
      logger: receives the learner's metrics every `config.log_every` updates.
      log_step_offset: added to the update index of every logged row.

    Returns:
      An `OpponentTrainingResult`.

    Raises:
      ValueError: bad seats, distributions, member ids or seed.
    """
    if env is None:
        game = _as_game(game)
        env = OpenSpielEnv(game, config.batch_size, max_steps=config.max_steps, auto_reset=True)
    elif env.batch_size != config.batch_size or not getattr(env, "auto_reset", False):
        raise ValueError(
            f"env must auto-reset and have batch_size={config.batch_size} (the config's), got "
            f"batch_size={env.batch_size}, auto_reset={getattr(env, 'auto_reset', None)}"
        )
    num_players = env.spec.num_players
    seats, distributions = check_opponents(population, opponents, learner_seats, num_players)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    root_key = jax.random.key(int(seed))
    learner = make_learner(network, config.ppo, root_key, initial_params, initial_state)
    group_seats = learner_group_seats(seats, config.num_groups, num_players)  # [G, P]
    learner_mask = np.repeat(group_seats, config.batch_size // config.num_groups, axis=0)  # [B, P]
    num_opponent_slots = config.num_groups * (num_players - 1)

    start = time.perf_counter()
    env_steps = 0
    ts = None
    opponent_stack = seat_members = None
    running = np.zeros((config.batch_size, num_players))
    finished: list[float] = []

    def on_step(previous: TimeStep, ts: TimeStep) -> None:  # the learner's episode returns
        running[previous.terminated | previous.truncated] = 0.0
        running[:] += ts.rewards
        for b in np.flatnonzero(ts.terminated | ts.truncated):  # mean over the learner's seats
            finished.append(float(running[b, learner_mask[b]].mean()))

    for update in range(config.num_updates):
        if update % config.segment_length == 0:
            segment = update // config.segment_length
            ts = env.reset(seed=_seed(seed, segment))
            running[:] = 0.0
            finished.clear()
            opponent_stack, seat_members = draw_opponents(
                population,
                distributions,
                group_seats,
                num_opponent_slots,
                opponent_seed(seed, segment),
            )
        stacked = acting_stack(learner.params, opponent_stack)
        acting_key = jax.random.fold_in(jax.random.fold_in(root_key, 1), update)
        trajectory, ts = collect_unroll(
            env,
            ts,
            network,
            stacked,
            seat_members,
            acting_key,
            config.unroll_length,
            learner_mask,
            on_step=on_step,
        )
        env_steps += config.unroll_length * config.batch_size
        metrics = learner.update(trajectory)
        done = update + 1
        if logger is not None and (done % config.log_every == 0 or done == config.num_updates):
            metrics["env_steps"] = env_steps
            if finished:
                metrics["learner_return"] = float(np.mean(finished))
            logger.write(log_step_offset + done, metrics)
    return OpponentTrainingResult(
        params=learner.params,
        state=learner.state,
        env_steps=env_steps,
        wall_time=time.perf_counter() - start,
        mean_return=float(np.mean(finished)) if finished else math.nan,
    )


@jax.jit
def _prepend(params: Any, stack: Any) -> Any:
    return jax.tree.map(lambda p, s: jnp.concatenate([p[None], s.astype(p.dtype)]), params, stack)


def acting_stack(learner_params: Any, opponent_stack: Any | None) -> Any:
    """The stacked parameters [M, ...] that act: the learner as member 0, then the opponents
    (`draw_opponents`' stack; None in a one-player game)."""
    if opponent_stack is None:
        return stack_params([learner_params])
    return _prepend(learner_params, opponent_stack)


def opponent_seed(seed: int, segment: int) -> int:
    """The seed of segment `segment`'s opponent draws: `SeedSequence([seed, 2, segment])`."""
    return _seed(seed, 2, segment)


def draw_opponents(
    population: Population,
    distributions: Sequence[tuple[list[str], np.ndarray] | None],
    group_seats: np.ndarray,
    num_slots: int,
    seed: int,
) -> tuple[Any | None, jax.Array]:
    """Draws every group's opponents; returns (stacked opponent params, seat_members [G, P]).

    `group_seats` bool [G, P] marks the learner's seats of every group (member 0 plays them).

    Member index 0 of the acting stack is the learner, so opponents are numbered from 1. The
    opponent stack always has `num_slots` entries (padded with the first drawn member) so that
    acting keeps one compiled shape.
    """
    rng = np.random.default_rng(seed)
    num_groups, num_players = group_seats.shape
    seat_members = np.zeros((num_groups, num_players), np.int32)
    drawn: list[str] = []
    for g in range(num_groups):
        for seat in range(num_players):
            if group_seats[g, seat]:
                continue
            ids, probs = distributions[seat]
            drawn.append(ids[int(rng.choice(len(ids), p=probs))])
            seat_members[g, seat] = len(drawn)  # slot 1 + (index in drawn)
    if not drawn:  # a one-player game: the learner alone
        return None, jnp.asarray(seat_members)
    padded = drawn + [drawn[0]] * (num_slots - len(drawn))
    stack = stack_params([population[m].params for m in padded])
    return stack, jnp.asarray(seat_members)
