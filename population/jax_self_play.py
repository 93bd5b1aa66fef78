"""Naive self-play on the JAX backend: the rollout and the PPO update as jitted device calls.

The algorithm, config (`SelfPlayConfig`), learner (PPO from `detente.agents.make_ppo`, the pure
update inside `Learner`) and checkpoint/resume scheme are those of
`detente.population.self_play`; only the environment differs: `config.game` names a JAX game
of `detente.games.jax_games`, B games are stepped on the device by
`detente.population.jax_rollout`, and one training iteration is two jitted device calls: the
T-step rollout, then the PPO update, parameter averaging and episode statistics (as one
program it ran slower on the CPU, `make_iteration`). Nothing returns to the host between
iterations except at log and checkpoint steps. On a multi-core CPU,
`host_parts=n` splits the games into n parts rolled out concurrently from host threads
(`make_parted_iteration`; one jitted call keeps only about 1.5 of 2 cores busy), then updates in
one more call.

Reproducibility (same scheme as the OpenSpiel backend): the learner is initialised from
`fold_in(key(seed), 0)`; update u acts with `fold_in(fold_in(key(seed), 1), u)`; every
`checkpoint_every` updates the run directory receives a checkpoint (arrays + JSON, no pickle)
and the batch of games restarts from `fold_in(fold_in(key(seed), 2), segment)`, so a run
resumed from its last checkpoint continues exactly as an uninterrupted one.

`train` dispatches on the game string: a registered JAX game runs here, any other game on the
OpenSpiel adapter (`train_self_play`).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import pathlib
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P
from tqdm.auto import tqdm

from detente.agents import (
    Learner,
    Network,
    PPOConfig,
    Trajectory,
    make_policy_value_network,
    make_ppo,
    warm_start,
)
from detente.games import jax_games
from detente.lib.checkpoint import (
    save_checkpoint,
)
from detente.lib.host_parallel import concat_batch, map_parts, split_batch
from detente.lib.metrics_logger import Logger
from detente.population.jax_rollout import init_env_states, make_rollout
from detente.population.self_play import (
    CHECKPOINT_DIR,
    SelfPlayConfig,
    SelfPlayResult,
    restore_run_checkpoint,
    train_self_play,
)

BACKEND = "jax"
BACKENDS = ("auto", "jax", "openspiel")
_SHOWN = ("total_loss", "nash_conv", "steps_per_second", "entropy")

OnLog = Callable[[int, dict[str, float], Network, Any], dict[str, float]]


class EpisodeStats(NamedTuple):
    """Per-seat returns of episodes finished since the last log, accumulated on the device.

    Attributes:
      running: float32 [B, P], return so far of each game's current episode.
      total: float32 [P], summed returns of the finished episodes.
      count: float32 [], number of finished episodes.
    """

    running: jax.Array
    total: jax.Array
    count: jax.Array


def _zero_stats(batch_size: int, num_players: int) -> EpisodeStats:
    return EpisodeStats(
        running=jnp.zeros((batch_size, num_players), jnp.float32),
        total=jnp.zeros((num_players,), jnp.float32),
        count=jnp.zeros((), jnp.float32),
    )


def _accumulate(stats: EpisodeStats, traj: Trajectory) -> EpisodeStats:
    """Adds the episodes that end within `traj` (index 0 was counted by the previous one)."""
    ended = traj.terminated | traj.truncated  # [T+1, B]

    def body(carry, t):
        running, total, count = carry
        running = jnp.where(ended[t - 1][:, None], 0.0, running) + traj.rewards[t]
        done = ended[t]
        total = total + jnp.sum(jnp.where(done[:, None], running, 0.0), axis=0)
        return (running, total, count + jnp.sum(done)), None

    steps = jnp.arange(1, traj.rewards.shape[0])
    (running, total, count), _ = jax.lax.scan(body, tuple(stats), steps)
    return EpisodeStats(running, total, count)


def _polyak(average: Any, params: Any, decay: float) -> Any:
    if decay <= 0:
        return params
    return jax.tree.map(lambda a, p: decay * a + (1.0 - decay) * p, average, params)


@functools.lru_cache(maxsize=16)
def _build(
    game_name: str,
    hidden_sizes: tuple[int, ...],
    ppo: PPOConfig,
    unroll_length: int,
    average_decay: float,
    host_parts: int = 1,
) -> tuple[jax_games.JaxGame, Network, Callable[..., Any]]:
    """The game, network and iteration of a config, cached so that runs with the same static
    settings (other seeds, batch sizes, run lengths, resumed segments) compile once."""
    game = jax_games.make(game_name)
    network = make_policy_value_network(game.spec, hidden_sizes=hidden_sizes)
    if host_parts == 1:
        return game, network, make_iteration(game, network, ppo, unroll_length, average_decay)
    iteration = make_parted_iteration(game, network, ppo, unroll_length, host_parts, average_decay)
    return game, network, iteration


def make_iteration(
    game: jax_games.JaxGame,
    network: Network,
    ppo: PPOConfig,
    unroll_length: int,
    average_decay: float = 0.0,
) -> Callable[..., tuple[Any, Any, Any, EpisodeStats, dict[str, jax.Array]]]:
    """One self-play iteration: rollout, PPO update, averaging, episode statistics.

    `make_parted_iteration` with one part, on one batched state: two jitted calls, the rollout
    and then the rest, the trajectory staying on the device between them. As one program the
    iteration ran 1.09x slower on the duel board on a 2-core CPU (bitwise the same result):
    XLA fused the rollout's outputs into the update's readers.

    Args:
      game: the JAX game.
      network: the policy/value network built for `game.spec`.
      ppo: the learner's hyperparameters.
      unroll_length: T, environment steps per update.
      average_decay: Polyak decay of the averaged parameters (0: the average is the params).

    Returns:
      `iteration(train_state, average, env_state [B, ...], stats, root_key, update int32 [])
      -> (train_state, average, env_state, stats, metrics)`; the acting key of the update is
      `fold_in(fold_in(root_key, 1), update)`.
    """
    parted = make_parted_iteration(game, network, ppo, unroll_length, 1, average_decay)

    def iteration(train_state, average, env_state, stats, root_key, update):
        train_state, average, (env_state,), stats, metrics = parted(
            train_state, average, [env_state], stats, root_key, update
        )
        return train_state, average, env_state, stats, metrics

    return iteration


def _concat_trajectories(trajs: list[Trajectory]) -> Trajectory:
    """One trajectory of the parts' games: time-major fields joined along [B] (axis 1), the
    learner mask [B, P] along axis 0."""
    timed = concat_batch([t._replace(learner_mask=None) for t in trajs], axis=1)
    return timed._replace(learner_mask=jnp.concatenate([t.learner_mask for t in trajs], axis=0))


def make_parted_iteration(
    game: jax_games.JaxGame,
    network: Network,
    ppo: PPOConfig,
    unroll_length: int,
    num_parts: int,
    average_decay: float = 0.0,
) -> Callable[..., tuple[Any, Any, list[Any], EpisodeStats, dict[str, jax.Array]]]:
    """`make_iteration` with the rollout split into parts rolled out from host threads.

    The B games are kept as `num_parts` batches (`detente.lib.split_batch`); each is rolled out
    by its own jitted call from its own host thread (`detente.lib.map_parts`), so that on a
    multi-core CPU every core steps games (one call keeps about 1.5 of 2 cores busy); then one
    jitted call joins the trajectories and another runs the PPO update, the averaging and the
    episode statistics. Part i acts with `fold_in(acting_key, i)`; one part acts with
    `acting_key` itself and is called from the caller's thread with nothing to join
    (`make_iteration`). The result depends on `num_parts`, and is reproducible for a given
    number.

    Args:
      game, network, ppo, unroll_length, average_decay: as in `make_iteration`.
      num_parts: parts per rollout, >= 1.

    Returns:
      `iteration(train_state, average, env_parts, stats, root_key, update int32 [])
      -> (train_state, average, env_parts, stats, metrics)`, where `env_parts` is the list of
      the parts' batched states.
    """
    _, update_fn = make_ppo(network, ppo)
    rollout = make_rollout(game.spec, game.init, game.step, network, unroll_length)
    seat_members = jnp.zeros((1, game.spec.num_players), jnp.int32)  # every seat: member 0

    @jax.jit
    def rollout_part(params, env_state, key):
        return rollout(jax.tree.map(lambda x: x[None], params), seat_members, env_state, key)

    # The parts' trajectories are joined by a call of their own: inside the update's program
    # XLA fused the concatenation into the update's readers of the trajectory, and the update
    # ran 1.16x slower (duel board, B = 1,024, 2-core CPU; bitwise the same result).
    join = jax.jit(_concat_trajectories)

    @jax.jit
    def learn(train_state, average, stats, traj):
        train_state, metrics = update_fn(train_state, traj)
        average = _polyak(average, train_state.params, average_decay)
        return train_state, average, _accumulate(stats, traj), metrics

    @jax.jit
    def part_keys(root_key, update):
        acting_key = jax.random.fold_in(jax.random.fold_in(root_key, 1), update)
        if num_parts == 1:
            return acting_key[None]
        return jax.vmap(lambda i: jax.random.fold_in(acting_key, i))(jnp.arange(num_parts))

    def iteration(train_state, average, env_parts, stats, root_key, update):
        if len(env_parts) != num_parts:
            raise ValueError(f"expected {num_parts} parts of games, got {len(env_parts)}")
        keys = part_keys(root_key, update)
        args = [(train_state.params, part, keys[i]) for i, part in enumerate(env_parts)]
        if num_parts == 1:  # no thread and no wait: the next calls queue behind this one
            outs = [rollout_part(*args[0])]
            traj = outs[0][0]
        else:
            outs = map_parts(rollout_part, args)
            traj = join([traj for traj, _ in outs])
        train_state, average, stats, metrics = learn(train_state, average, stats, traj)
        return train_state, average, [state for _, state in outs], stats, metrics

    return iteration


def _placement(num_devices: int, batch: int) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """`(shard_games, replicate)`: place a batched pytree split over `num_devices` local devices
    along its leading [B] axis, and a pytree replicated on them (identities for one device)."""
    local = jax.local_devices()
    if isinstance(num_devices, bool) or not isinstance(num_devices, int):
        raise ValueError(f"num_devices must be an integer, got {num_devices!r}")
    if not 1 <= num_devices <= len(local):
        raise ValueError(
            f"num_devices={num_devices}, but this process has {len(local)} local device(s): "
            f"{[str(d) for d in local]}"
        )
    if batch % num_devices:
        raise ValueError(
            f"batch_size={batch} is not a multiple of num_devices={num_devices}: each device "
            "steps the same number of games"
        )
    if num_devices == 1:
        return (lambda x: x), (lambda x: x)
    mesh = Mesh(np.array(local[:num_devices]), ("games",))
    games, replicated = NamedSharding(mesh, P("games")), NamedSharding(mesh, P())
    return (lambda x: jax.device_put(x, games)), (lambda x: jax.device_put(x, replicated))


def train_jax_self_play(
    config: SelfPlayConfig,
    *,
    run_dir: str | os.PathLike | None = None,
    logger: Logger | None = None,
    progress: bool = True,
    on_log: OnLog | None = None,
    initial_params: Any = None,
    num_devices: int = 1,
    host_parts: int = 1,
) -> SelfPlayResult:
    """Trains one policy by naive self-play on a JAX game; resumes from `run_dir` if present.

    Same arguments, results and checkpoints as `detente.population.train_self_play`.

    Args:
      config: the run's configuration; `config.game` must be a registered JAX game
        (`detente.games.jax_games.make`). `config.max_steps` must be None or at least the
        game's own horizon (`spec.max_steps`): JAX games are not truncated.
      run_dir: where checkpoints go (None: no checkpoints).
      logger: receives metrics every `config.log_every` updates.
      progress: show a progress bar on the console.
      on_log: optional `(update, metrics, network, params) -> extra metrics` called at each
        log step.
      initial_params: start from these parameters instead of a fresh initialisation (see
        `train_self_play`).
      num_devices: data parallelism inside the learner: the B games (and so the rollout and
        the update's batch) are sharded over the first `num_devices` local devices (GPUs, TPU
        cores) under XLA's SPMD partitioner, the parameters replicated. B must be a multiple.
        The same seed gives the same games; sums over the batch may be reordered, so numbers
        can differ from a one-device run in the last float bits.
      host_parts: split the B games into this many parts, rolled out concurrently from host
        threads (`make_parted_iteration`): on a multi-core CPU, one part per core
        (`detente.lib.default_num_parts()`) uses every core. Each part acts with its own key,
        so the run depends on `host_parts` (reproducible for a given value). 1: one jitted
        call per iteration, as on accelerators. Not combined with `num_devices` > 1.

    Returns:
      A `SelfPlayResult`.

    Raises:
      ValueError: if the game is not a JAX game, `max_steps` would truncate it,
        `initial_params` do not fit the network, `num_devices` is not a divisor of B within
        the local devices, or `host_parts` is not between 1 and B (or is combined with
        `num_devices` > 1).
      CheckpointError: if `run_dir` holds a checkpoint of another game or backend.
    """
    if not isinstance(config, SelfPlayConfig):
        raise TypeError(f"config must be a SelfPlayConfig, got {type(config).__name__}")
    batch = config.batch_size
    if isinstance(host_parts, bool) or not isinstance(host_parts, int):
        raise ValueError(f"host_parts must be an integer, got {host_parts!r}")
    if not 1 <= host_parts <= batch:
        raise ValueError(
            f"host_parts={host_parts}: accepted 1 to batch_size={batch} (every part needs a game)"
        )
    if host_parts > 1 and num_devices != 1:
        raise ValueError(
            f"host_parts={host_parts} with num_devices={num_devices}: host parts split the "
            "games over CPU cores, devices over accelerators; use one or the other"
        )
    game, network, iteration = _build(
        config.game,
        config.hidden_sizes,
        config.ppo,
        config.unroll_length,
        config.average_decay,
        host_parts,
    )
    spec = game.spec
    if config.max_steps is not None and config.max_steps < spec.max_steps:
        raise ValueError(
            f"SelfPlayConfig.max_steps={config.max_steps} would truncate {spec.name}, whose "
            f"episodes last up to {spec.max_steps} steps; JAX games are not truncated (use None)"
        )
    checkpoint_path = pathlib.Path(run_dir) / CHECKPOINT_DIR if run_dir is not None else None
    batch, num_players = config.batch_size, spec.num_players
    shard_games, replicate = _placement(num_devices, batch)  # fails before any work
    root_key = jax.random.key(config.seed)
    learner_key = jax.random.fold_in(root_key, 0)
    if initial_params is not None:
        train_state = warm_start(network, config.ppo, learner_key, initial_params)
    else:
        train_state = Learner(network, config.ppo, learner_key).state
    average = train_state.params
    first_update, env_steps = 0, 0
    restored = restore_run_checkpoint(checkpoint_path, spec.name, BACKEND, (train_state, average))
    if restored is not None:
        (train_state, average), first_update, env_steps = restored
    train_state, average = replicate((train_state, average))
    env_state, stats = None, replicate(_zero_stats(batch, num_players))

    start = time.perf_counter()
    steps_at_start = env_steps
    bar = tqdm(
        total=config.num_updates,
        initial=first_update,
        desc=f"self-play {spec.name} (jax)",
        disable=not progress,
        leave=False,
    )
    for update in range(first_update, config.num_updates):
        if update % config.checkpoint_every == 0 or env_state is None:
            segment = update // config.checkpoint_every
            segment_key = jax.random.fold_in(jax.random.fold_in(root_key, 2), segment)
            env_state = shard_games(init_env_states(game.init, segment_key, batch))
            if host_parts > 1:
                env_state = split_batch(env_state, host_parts)
            stats = stats._replace(running=jnp.zeros((batch, num_players), jnp.float32))
        train_state, average, env_state, stats, metrics = iteration(
            train_state, average, env_state, stats, root_key, jnp.int32(update)
        )
        env_steps += config.unroll_length * batch
        bar.update(1)
        done = update + 1
        if done % config.log_every == 0 or done == config.num_updates:
            metrics, (total, count) = jax.device_get((metrics, (stats.total, stats.count)))
            metrics = {name: float(value) for name, value in metrics.items()}
            elapsed = time.perf_counter() - start
            metrics["env_steps"] = env_steps
            metrics["steps_per_second"] = (env_steps - steps_at_start) / max(elapsed, 1e-9)
            if count > 0:
                for p in range(num_players):
                    metrics[f"episode_return_p{p}"] = float(total[p] / count)
            stats = replicate(_zero_stats(batch, num_players))._replace(running=stats.running)
            params = average if config.average_decay > 0 else train_state.params
            if on_log is not None:
                metrics.update(on_log(done, metrics, network, params))
            if logger is not None:
                logger.write(done, metrics)
            bar.set_postfix({k: f"{v:.3g}" for k, v in metrics.items() if k in _SHOWN})
        if checkpoint_path is not None and (
            done % config.checkpoint_every == 0 or done == config.num_updates
        ):
            save_checkpoint(
                checkpoint_path,
                (train_state, average),
                {
                    "update": done,
                    "env_steps": env_steps,
                    "game": spec.name,
                    "backend": BACKEND,
                    "config": dataclasses.asdict(config),
                },
            )
    jax.block_until_ready((train_state, average))
    bar.close()
    wall_time = time.perf_counter() - start
    return SelfPlayResult(
        params=average if config.average_decay > 0 else train_state.params,
        network=network,
        spec=spec,
        env_steps=env_steps,
        wall_time=wall_time,
        steps_per_second=(env_steps - steps_at_start) / max(wall_time, 1e-9),
        state=train_state,
    )


def train(
    config: SelfPlayConfig,
    *,
    backend: str = "auto",
    run_dir: str | os.PathLike | None = None,
    logger: Logger | None = None,
    progress: bool = True,
    on_log: OnLog | None = None,
    initial_params: Any = None,
    num_devices: int = 1,
    host_parts: int = 1,
) -> SelfPlayResult:
    """Naive self-play on the backend that fits `config.game`.

    Args:
      config: the run's configuration.
      backend: "auto" (the JAX backend when `config.game` is a registered JAX game, e.g.
        "matrix_rps" or "blotto(players=3)", else the OpenSpiel adapter), "jax" or
        "openspiel" (the host backend, `train_self_play`, on `league_env.env_factory`'s
        environment: OpenSpiel's, `RealpolitikEnv`, or `JaxGameEnv` for a JAX-only game such
        as "realpolitik_jax(...)").
      run_dir, logger, progress, on_log, initial_params: as in `train_self_play`.
      num_devices: devices the JAX backend shards the games over (`train_jax_self_play`);
        the host backend runs on one.
      host_parts: parts of the batch the JAX backend rolls out from host threads
        (`train_jax_self_play`); the host backend steps its games in one thread.

    Returns:
      A `SelfPlayResult`.

    Raises:
      ValueError: if `backend` is unknown, or "jax" is asked for a game that is not a JAX game.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "auto":
        backend = "jax" if jax_games.is_registered(config.game) else "openspiel"
    common = {
        "run_dir": run_dir,
        "logger": logger,
        "progress": progress,
        "on_log": on_log,
        "initial_params": initial_params,
    }
    if backend == "jax":
        return train_jax_self_play(config, num_devices=num_devices, host_parts=host_parts, **common)
    if num_devices != 1 or host_parts != 1:
        raise ValueError(
            f"num_devices={num_devices}, host_parts={host_parts}: only the JAX backend "
            f"splits its games over devices or host threads; {config.game!r} runs on the "
            "host backend"
        )
    return train_self_play(config, **common)
