"""Benchmark: adjudicated phases per second, realpolitik engine vs the `diplomacy` package.

Both engines play random legal orders on the classic board from a fixed seed (legal-order
generation included in both), in the same process, one after the other. Ends by printing one JSON
line: {"bench": "realpolitik_adjudicator", "ours": ..., "peer": ..., "unit": "phases/s", ...}.

Run: python bench/bench_realpolitik_adjudicator.py [--phases N]
"""

import argparse
import json
import random
import time

from detente.games.realpolitik import adjudicate, initial_position, legal_orders, load_map


def _ours(phases: int, seed: int) -> float:
    m = load_map("classic")
    rng = random.Random(seed)
    pos = initial_position(m)
    start = time.perf_counter()
    for _ in range(phases):
        orders = {}
        for pw in m.powers:
            options = legal_orders(m, pos, pw)
            orders[pw] = [rng.choice(v) for v in options.values()]
        pos, _ = adjudicate(m, pos, orders)
        if int(pos["phase"][1:-1]) > 1930:  # keep games in the busy middle game
            pos = initial_position(m)
    return phases / (time.perf_counter() - start)


def diplomacy_rates(phases: int, seed: int, *, last_year: int = 1930) -> tuple[float, float] | None:
    """Phases/s of the `diplomacy` package playing random legal orders on the classic board.

    Per phase: all possible orders, one random order per orderable location, `process()`; a
    game restarts after `last_year`.

    Returns:
      (whole loop, `process()` alone) phases/s from the same run, or None when the package is
      not installed.
    """
    try:
        import diplomacy
    except ImportError:
        return None
    rng = random.Random(seed)
    game = diplomacy.Game()
    timed = 0.0
    start = time.perf_counter()
    for _ in range(phases):
        possible = game.get_all_possible_orders()
        for pw in game.powers:
            locs = game.get_orderable_locations(pw)
            game.set_orders(pw, [rng.choice(possible[loc]) for loc in locs if possible[loc]])
        t0 = time.perf_counter()
        game.process()
        timed += time.perf_counter() - t0
        if game.is_game_done or int(game.get_current_phase()[1:5]) > last_year:
            game = diplomacy.Game()
    return phases / (time.perf_counter() - start), phases / timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    ours = _ours(args.phases, args.seed)
    rates = diplomacy_rates(args.phases, args.seed)
    peer = None if rates is None else rates[0]
    print(
        json.dumps(
            {
                "bench": "realpolitik_adjudicator",
                "ours": round(ours, 1),
                "peer": None if peer is None else round(peer, 1),
                "unit": "phases/s",
                "ratio": None if peer is None else round(ours / peer, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
