"""Benchmark: self-play training throughput on the JAX backend against the OpenSpiel backend.

Both sides run the same algorithm on the same game with the same network and PPO config:
naive self-play, B games stepped T steps per update, one PPO update per T steps
(`detente.population.jax_self_play.train_jax_self_play` against
`detente.population.self_play.train_self_play`, which steps `detente.lib.OpenSpielEnv` on the
host and acts with one jitted call per step). The unit is frames/s: game-steps (one step of one
game; an update covers T * B of them) per second of wall time, learner updates included.

Compilation is excluded on both sides: an `on_log` callback (log_every=1) stamps the end of
every update, and the rate runs from the end of the first update (which compiles) to the end
of the last. The two backends alternate; the median over `--repeats` runs is reported.
"Steps/s without updates" times the acting + stepping loop alone: the jitted `jax_rollout`
(one device call per T steps) against the adapter's `act` + `env.step` loop.

On the CPU the JAX backend splits its batch into one part per core (`--host-parts`, default
`detente.lib.default_num_parts()`), rolled out concurrently from host threads
(`train_jax_self_play(host_parts=...)`); the OpenSpiel backend steps its games in one thread.

`--game` takes any registered JAX game (`detente.games.jax_games.make`) and `--peer-game` the
host game string of the same game when its name differs. Realpolitik: the JAX engine
(`realpolitik_jax`) against the host backend's `RealpolitikEnv` (numpy reference engine, the
same observations, K-slot actions and network; `train_self_play` learns realpolitik on it):
  python bench/bench_jax_self_play.py --game "realpolitik_jax(map=duel,max_years=2)" \
      --peer-game "realpolitik(map=duel,max_years=2)"

Run:  python bench/bench_jax_self_play.py            (a few minutes on 2 loaded cores)
      python bench/bench_jax_self_play.py --quick    (about a minute)
The last line of output is one JSON object:
  {"bench": "jax_self_play", "ours": ..., "peer": ..., "unit": "frames/s", "ratio": ...}.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import platform
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from detente.agents import PPOConfig, act, make_policy_value_network, stack_params
from detente.games import jax_games
from detente.lib import default_num_parts, map_parts, split_batch
from detente.population.jax_rollout import init_env_states, make_rollout
from detente.population.jax_self_play import train_jax_self_play
from detente.population.league_env import env_factory
from detente.population.self_play import SelfPlayConfig, train_self_play


def bench_config(
    game: str, batch: int, hidden_sizes: tuple[int, ...], unroll_length: int = 16
) -> SelfPlayConfig:
    """The bench's self-play config: PPO 2 epochs x 4 minibatches, no logging but `_rate`'s."""
    return SelfPlayConfig(
        game=game,
        batch_size=batch,
        unroll_length=unroll_length,
        hidden_sizes=hidden_sizes,
        ppo=PPOConfig(num_epochs=2, num_minibatches=4),
        log_every=10**6,
    )


def _rate(train_fn, config: SelfPlayConfig, updates: int) -> float:
    """Frames/s of `train_fn` from the end of its first update to the end of its last.

    `on_log` (log_every=1) stamps the end of every update; the first update, which compiles,
    is left out. Both backends read their metrics back to the host at every update then.
    """
    stamps: list[tuple[float, int]] = []

    def on_log(update, metrics, network, params):
        stamps.append((time.perf_counter(), int(metrics["env_steps"])))
        return {}

    run = dataclasses.replace(config, num_updates=updates, log_every=1, checkpoint_every=updates)
    train_fn(run, progress=False, on_log=on_log)
    (t0, f0), (t1, f1) = stamps[0], stamps[-1]
    return (f1 - f0) / max(t1 - t0, 1e-9)


def _jax_rollout_rate(config: SelfPlayConfig, calls: int, host_parts: int = 1) -> float:
    """Frames/s of the jitted rollout alone (acting + stepping, no updates), the batch split
    into `host_parts` parts rolled out from host threads as in training."""
    game = jax_games.make(config.game)
    network = make_policy_value_network(game.spec, hidden_sizes=config.hidden_sizes)
    params = stack_params([network.init(jax.random.key(0))])
    rollout = jax.jit(make_rollout(game.spec, game.init, game.step, network, config.unroll_length))
    seats = jnp.zeros((1, game.spec.num_players), jnp.int32)
    states = split_batch(
        init_env_states(game.init, jax.random.key(1), config.batch_size), host_parts
    )

    def play(key):
        nonlocal states
        outs = map_parts(
            rollout, [(params, seats, s, jax.random.fold_in(key, i)) for i, s in enumerate(states)]
        )
        states = [state for _, state in outs]

    play(jax.random.key(2))  # compile
    start = time.perf_counter()
    for i in range(calls):
        play(jax.random.key(i))
    return calls * config.unroll_length * config.batch_size / (time.perf_counter() - start)


def _openspiel_rollout_rate(config: SelfPlayConfig, game_name: str, calls: int) -> float:
    """Frames/s of train_self_play's acting loop alone: jitted `act` + the host env's `step`.

    The host env is `train_self_play`'s: `OpenSpielEnv`, or `RealpolitikEnv` for realpolitik.
    """
    env = env_factory(game_name)(config.batch_size, True)
    network = make_policy_value_network(env.spec, hidden_sizes=config.hidden_sizes)
    params = stack_params([network.init(jax.random.key(0))])
    act_fn = jax.jit(act, static_argnums=0)
    seats = jnp.zeros((1, env.spec.num_players), jnp.int32)
    ts = env.reset(seed=0)

    def unroll(key):
        nonlocal ts
        for t in range(config.unroll_length):
            action, log_prob, _ = act_fn(
                network,
                params,
                seats,
                ts.observation,
                ts.legal_action_mask,
                jax.random.fold_in(key, t),
                acting=ts.acting,
            )
            action = np.asarray(action)
            np.asarray(log_prob)
            ts = env.step(action)

    unroll(jax.random.key(0))  # compile
    start = time.perf_counter()
    for i in range(calls):
        unroll(jax.random.key(i))
    return calls * config.unroll_length * config.batch_size / (time.perf_counter() - start)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--game", default="blotto(players=3,coins=10,fields=3)")
    parser.add_argument("--peer-game", default=None, help="OpenSpiel game (default: --game)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--unroll-length", type=int, default=16)
    parser.add_argument("--hidden-sizes", type=int, nargs="+", default=[64, 64])
    parser.add_argument("--updates", type=int, default=12, help="updates per OpenSpiel run")
    parser.add_argument("--jax-updates", type=int, default=None, help="(default 4 * --updates)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one repeat, short runs")
    parser.add_argument(
        "--host-parts",
        type=int,
        default=default_num_parts(),
        help="the JAX backend rolls out its batch in this many parts from host threads "
        "(train_jax_self_play's host_parts; default: the host's cores on the CPU, 1 on "
        "accelerators)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.host_parts <= args.batch_size:
        parser.error(f"--host-parts must be from 1 to --batch-size, got {args.host_parts}")
    if args.quick:
        args.repeats, args.updates = 1, 6
    jax_updates = args.jax_updates or 4 * args.updates
    peer_game = args.peer_game or args.game
    config = bench_config(args.game, args.batch_size, tuple(args.hidden_sizes), args.unroll_length)
    peer_config = dataclasses.replace(config, game=peer_game)
    device = jax.devices()[0]
    print(
        f"# jax_self_play bench: python {platform.python_version()}, jax {jax.__version__} on "
        f"{device.platform} ({device.device_kind}), {os.cpu_count()} CPUs, "
        f"{platform.processor() or platform.machine()}"
    )
    print(
        f"# game {args.game} vs OpenSpiel {peer_game}: B={config.batch_size}, "
        f"T={config.unroll_length}, MLP {config.hidden_sizes}, PPO epochs=2 minibatches=4, "
        f"JAX host parts {args.host_parts}"
    )
    train_jax = functools.partial(train_jax_self_play, host_parts=args.host_parts)
    ours, peer, one_call = [], [], []
    for _ in range(args.repeats):
        ours.append(_rate(train_jax, config, jax_updates))
        peer.append(_rate(train_self_play, peer_config, args.updates))
        if args.host_parts > 1:  # the JAX backend in one part (host_parts=1), for the gain
            one_call.append(_rate(train_jax_self_play, config, jax_updates))
    ours_rate, peer_rate = statistics.median(ours), statistics.median(peer)
    rollout_ours = _jax_rollout_rate(config, max(4, jax_updates), args.host_parts)
    rollout_peer = _openspiel_rollout_rate(config, peer_game, calls=max(2, args.updates // 2))
    print(f"{'':28s} {'JAX backend':>14s} {'OpenSpiel':>14s} {'ratio':>8s}")
    print(
        f"{'training frames/s':28s} {ours_rate:14.0f} {peer_rate:14.0f} "
        f"{ours_rate / peer_rate:8.1f}"
    )
    print(
        f"{'acting+stepping frames/s':28s} {rollout_ours:14.0f} {rollout_peer:14.0f} "
        f"{rollout_ours / rollout_peer:8.1f}"
    )
    runs = f"jax {[round(x) for x in ours]}, openspiel {[round(x) for x in peer]}"
    if one_call:
        runs += f", jax in one part {[round(x) for x in one_call]}"
    print(f"# training runs (frames/s): {runs}")
    line = {
        "bench": "jax_self_play",
        "ours": round(ours_rate, 1),
        "peer": round(peer_rate, 1),
        "unit": "frames/s",
        "ratio": round(ours_rate / peer_rate, 2),
        "game": args.game,
        "peer_game": peer_game,
        "batch_size": config.batch_size,
        "host_parts": args.host_parts,
        "ours_one_call": round(statistics.median(one_call), 1) if one_call else None,
        "unroll_length": config.unroll_length,
        "rollout_only": {
            "ours": round(rollout_ours, 1),
            "peer": round(rollout_peer, 1),
            "ratio": round(rollout_ours / rollout_peer, 2),
        },
        "device": f"{device.platform}:{device.device_kind}",
    }
    print(json.dumps(line))


if __name__ == "__main__":
    main()
