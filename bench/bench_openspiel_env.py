"""Benchmark: `detente.lib.OpenSpielEnv` against a plain pyspiel loop doing the same work.

Both sides play random legal actions in B games, restarting finished games, and count
game-steps (one step of one game; a call of the adapter is B game-steps).

* adapter: `OpenSpielEnv(game, B, auto_reset=True)`; each call draws uniform noise of shape
  [B, P, A] from a seeded `np.random.Generator`, picks `argmax(noise + legal_action_mask)` per
  player (a random legal action, vectorised) and calls `env.step`. The action choice is timed.
* raw: a Python loop over B pyspiel states that, per game-step, mirrors what the adapter does:
  reads every player's tensor (the one the adapter's encoder uses: information state, else
  observation), gets legal actions, picks a random legal action with a seeded Generator,
  applies it (`apply_actions` at simultaneous nodes), samples chance nodes, reads returns. As
  in the adapter's auto-reset, a finished game spends its next step restarting (new initial
  state, chance, tensors), so both sides count the same game-steps.

Each (game, B) pair is measured in `--repeats` interleaved chunks (adapter, raw, adapter, ...)
of about `--seconds` / repeats each after a warm-up; the median chunk rate is reported.
"Pooled" rates weight every game equally by game-steps: pooled = n_games / sum(1 / rate).
The last line of output is one JSON object (see `--help`).

Run:  python bench/bench_openspiel_env.py            (about 60 s on 2 cores)
      python bench/bench_openspiel_env.py --quick    (about 10 s)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np
import pyspiel

from detente.lib import ObservationEncoder, OpenSpielEnv

DEFAULT_GAMES = (
    "kuhn_poker",
    "leduc_poker",
    "goofspiel(players=3,num_cards=5)",
    "tic_tac_toe",
)
DEFAULT_BATCHES = (1, 64, 256)


# ------------------------------------------------------------------------------------------
# adapter side
class AdapterRunner:
    """Steps `OpenSpielEnv` with random legal actions chosen from the mask (vectorised)."""

    def __init__(self, game: pyspiel.Game, batch: int, seed: int):
        self.env = OpenSpielEnv(game, batch, auto_reset=True)
        self.rng = np.random.default_rng([seed, 1])
        self.ts = self.env.reset(seed)
        self.shape = self.ts.legal_action_mask[:, :, 0, :].shape  # [B, P, A]
        self.batch = batch

    def run(self, calls: int) -> int:
        """Makes `calls` env.step calls; returns game-steps done (B per call)."""
        env, rng, shape = self.env, self.rng, self.shape
        ts = self.ts
        for _ in range(calls):
            noise = rng.random(shape)
            noise += ts.legal_action_mask[:, :, 0, :]  # legal entries in [1, 2), others [0, 1)
            ts = env.step(noise.argmax(-1))  # int64 [B, P]
        self.ts = ts
        return calls * self.batch


# ------------------------------------------------------------------------------------------
# raw pyspiel side
def _sample_chance(state: pyspiel.State, rng: np.random.Generator) -> None:
    while state.is_chance_node():
        outcomes = state.chance_outcomes()
        u = rng.random()
        cumulative = 0.0
        action = outcomes[-1][0]
        for outcome, probability in outcomes:
            cumulative += probability
            if u < cumulative:
                action = outcome
                break
        state.apply_action(action)


class RawRunner:
    """A plain pyspiel loop over B states doing the adapter's work per game-step."""

    def __init__(self, game: pyspiel.Game, batch: int, seed: int):
        self.game = game
        self.batch = batch
        self.rng = np.random.default_rng([seed, 2])
        observation_type = ObservationEncoder(game).observation_type
        self.tensor = {
            "info_state": pyspiel.State.information_state_tensor,
            "observation": pyspiel.State.observation_tensor,
        }.get(observation_type)
        self.players = range(game.num_players())
        self.states = []
        for _ in range(batch):
            state = game.new_initial_state()
            _sample_chance(state, self.rng)
            self.states.append(state)
        self.sink = None

    def run(self, calls: int) -> int:
        """Makes `calls` passes over the B states; returns game-steps done."""
        game, rng, tensor, players = self.game, self.rng, self.tensor, self.players
        states = self.states
        random = rng.random
        sink = None
        for _ in range(calls):
            for b in range(len(states)):
                state = states[b]
                if state.is_terminal():  # restart step (the adapter's auto-reset)
                    state = game.new_initial_state()
                    _sample_chance(state, rng)
                    states[b] = state
                elif state.is_simultaneous_node():
                    joint = []
                    for p in players:
                        legal = state.legal_actions(p)
                        joint.append(legal[int(random() * len(legal))])
                    state.apply_actions(joint)
                    _sample_chance(state, rng)
                else:
                    legal = state.legal_actions()
                    state.apply_action(legal[int(random() * len(legal))])
                    _sample_chance(state, rng)
                sink = state.returns()
                if tensor is not None:
                    for p in players:
                        try:
                            sink = tensor(state, p)
                        except pyspiel.SpielError:
                            pass
        self.sink = sink
        return calls * len(states)


# ------------------------------------------------------------------------------------------
def _calls_for(runner, seconds: float, fixed_steps: int | None) -> int:
    """Calls per chunk: from --steps if given, else calibrated to `seconds`."""
    if fixed_steps:
        return max(1, fixed_steps // runner.batch)
    calls, elapsed = 1, 0.0
    while elapsed < 0.05:
        start = time.perf_counter()
        runner.run(calls)
        elapsed = time.perf_counter() - start
        if elapsed < 0.05:
            calls *= 2
    return max(1, int(calls * seconds / elapsed))


def measure(game_name: str, batch: int, args) -> dict:
    game = pyspiel.load_game(game_name)
    runners = {
        "adapter": AdapterRunner(game, batch, args.seed),
        "raw": RawRunner(game, batch, args.seed),
    }
    chunk = args.seconds / args.repeats
    calls = {}
    for name, runner in runners.items():
        runner.run(max(1, 200 // batch))  # warm-up
        calls[name] = _calls_for(runner, chunk, args.steps)
    rates = {name: [] for name in runners}
    for _ in range(args.repeats):
        for name, runner in runners.items():
            start = time.perf_counter()
            steps = runner.run(calls[name])
            rates[name].append(steps / (time.perf_counter() - start))
    adapter = statistics.median(rates["adapter"])
    raw = statistics.median(rates["raw"])
    return {"game": game_name, "batch": batch, "adapter": adapter, "raw": raw}


def _pooled(rates: list[float]) -> float:
    return len(rates) / sum(1.0 / r for r in rates)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--games",
        nargs="+",
        default=list(DEFAULT_GAMES),
        help="OpenSpiel game strings (default: %(default)s)",
    )
    parser.add_argument(
        "--batch-sizes",
        nargs="+",
        type=int,
        default=list(DEFAULT_BATCHES),
        help="batch sizes B (default: %(default)s)",
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="game-steps per timed chunk (default: calibrated to --seconds)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=1.2,
        help="timed seconds per (game, B, side), split over --repeats chunks",
    )
    parser.add_argument("--repeats", type=int, default=3, help="interleaved timed chunks")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--quick", action="store_true", help="short run (0.15 s per measurement) for smoke tests"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = 0.15
    if args.repeats < 1 or args.seconds <= 0:
        parser.error("--repeats must be >= 1 and --seconds > 0")

    print(
        f"# openspiel_env bench: python {platform.python_version()}, numpy {np.__version__}, "
        f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}"
    )
    header = f"{'game':<34} {'B':>4} {'adapter steps/s':>16} {'raw steps/s':>12} {'time ratio':>11}"
    print(header)
    print("-" * len(header))
    results = []
    for game_name in args.games:
        for batch in args.batch_sizes:
            r = measure(game_name, batch, args)
            results.append(r)
            print(
                f"{game_name:<34} {batch:>4} {r['adapter']:>16,.0f} {r['raw']:>12,.0f} "
                f"{r['raw'] / r['adapter']:>11.2f}"
            )
            sys.stdout.flush()
    print("-" * len(header))
    by_batch = {}
    for batch in args.batch_sizes:
        rows = [r for r in results if r["batch"] == batch]
        ours, peer = _pooled([r["adapter"] for r in rows]), _pooled([r["raw"] for r in rows])
        by_batch[str(batch)] = {
            "ours": round(ours, 1),
            "peer": round(peer, 1),
            "ratio": round(ours / peer, 4),
        }
        print(
            f"{'all games (pooled)':<34} {batch:>4} {ours:>16,.0f} {peer:>12,.0f} "
            f"{peer / ours:>11.2f}"
        )
    print(
        "# time ratio = adapter time per game-step / raw time per game-step (target at B=1: <= 1.5)"
    )
    head = by_batch[str(args.batch_sizes[0])]
    line = {
        "bench": "openspiel_env",
        "ours": head["ours"],
        "peer": head["peer"],
        "unit": "game-steps/s",
        "ratio": head["ratio"],
        "batch": args.batch_sizes[0],
        "by_batch": by_batch,
        "by_game": {
            f"{r['game']}|B={r['batch']}": {
                "ours": round(r["adapter"], 1),
                "peer": round(r["raw"], 1),
            }
            for r in results
        },
    }
    print(json.dumps(line))


if __name__ == "__main__":
    main()
