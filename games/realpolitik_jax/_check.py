"""Equivalence check of the JAX engine against the reference environment on random play.

`compare_with_reference` plays the same random legal actions (uniform over each slot's mask,
drawn from a seeded numpy generator on the host) through `RealpolitikEnv` (reference engine) and
`RealpolitikJax` (jitted, vmapped), and compares after every phase: the position (phase, units,
dislodged units with their attacker's origin, standoff provinces, centre ownership), masks,
observations, acting players, rewards, terminated and truncated. Used by the test suite (small
runs) and by bench/bench_realpolitik_jax.py --equivalence (large runs).
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from detente.games.realpolitik.env import RealpolitikEnv
from detente.games.realpolitik_jax._engine import RealpolitikJax

__all__ = ["compare_with_reference", "random_legal_actions", "shared_engine"]


def random_legal_actions(rng: np.random.Generator, mask: np.ndarray) -> np.ndarray:
    """Uniformly random legal actions, int32 [..., P, K], from a bool mask [..., P, K, A]."""
    scores = rng.random(mask.shape, dtype=np.float32)
    return np.argmax(np.where(mask, scores + 1.0, 0.0), axis=-1).astype(np.int32)


def compare_with_reference(
    map_name: str,
    *,
    num_games: int,
    num_phases: int,
    seed: int,
    scoring: str = "sum_of_squares",
    max_years: int = 10,
    stop_at_first: bool = True,
) -> dict[str, Any]:
    """Plays `num_games` random games for up to `num_phases` phases through both engines.

    Args:
      map_name: a shipped board.
      num_games: games played side by side (game b uses the generator seeded (seed, b)).
      num_phases: phases per game (fewer when every game has ended).
      seed: the seed of the random actions.
      scoring, max_years: the game's rules.
      stop_at_first: return at the first mismatch.

    Returns:
      {"phases": phases compared (sum over games of unfinished games stepped), "mismatches": count,
       "first": description of the first mismatch or None, "unsupported": games flagged}.
    """
    engine, step_fn, init_fn = shared_engine(map_name, scoring, max_years)
    ref = RealpolitikEnv(map_name, num_games, scoring=scoring, max_years=max_years)
    ts = ref.reset(seed=0)
    keys = jax.random.split(jax.random.key(seed), num_games)
    state = init_fn(keys)
    rngs = [np.random.default_rng([seed, b]) for b in range(num_games)]
    phases, mismatches, first = 0, 0, None

    def check(ts, state, t):
        nonlocal mismatches, first
        s = jax.tree.map(np.asarray, state)
        fields = {
            "legal_action_mask": (ts.legal_action_mask, s.legal_action_mask),
            "observation": (ts.observation, s.observation),
            "acting": (ts.acting, s.acting),
            "terminated": (ts.terminated, s.terminated),
            "truncated": (ts.truncated, s.truncated),
        }
        bad = []
        for name, (a, b) in fields.items():
            if name == "observation":
                same = np.isclose(a, b, atol=1e-6).reshape(num_games, -1).all(-1)
            else:
                same = (a == b).reshape(num_games, -1).all(-1)
            bad.extend((int(g), name) for g in np.flatnonzero(~same))
        same_r = np.isclose(ts.rewards, s.rewards, atol=1e-5).all(-1)
        bad.extend((int(g), "rewards") for g in np.flatnonzero(~same_r))
        positions = ref.positions
        for g in range(num_games):
            one = jax.tree.map(lambda x, g=g: x[g], s)
            mine = engine.to_position(one)
            if mine != positions[g]:
                bad.append((g, "position"))
        if bad:
            mismatches += len({g for g, _ in bad})
            if first is None:
                g, name = bad[0]
                first = {
                    "phase_index": t,
                    "game": g,
                    "field": name,
                    "reference": positions[g],
                    "jax": engine.to_position(jax.tree.map(lambda x: x[g], s)),
                }
        return bool(bad)

    check(ts, state, 0)
    for t in range(1, num_phases + 1):
        done = np.asarray(ts.terminated | ts.truncated)
        if done.all():
            break
        actions = np.stack(
            [random_legal_actions(rngs[b], ts.legal_action_mask[b]) for b in range(num_games)]
        )
        phases += int((~done).sum())
        prev_positions = ref.positions
        ts = ref.step(actions)
        step_keys = jax.random.split(jax.random.key(seed + 1 + t), num_games)
        state = step_fn(state, actions, step_keys)
        if check(ts, state, t) and stop_at_first:
            first["previous_position"] = prev_positions[first["game"]]
            first["previous_actions"] = actions[first["game"]].tolist()
            break
    unsupported = int(np.asarray(state.unsupported).sum())
    return {"phases": phases, "mismatches": mismatches, "first": first, "unsupported": unsupported}


_COMPILED: dict[tuple, Any] = {}


def shared_engine(
    map_name: str, scoring: str = "sum_of_squares", max_years: int = 10
) -> tuple[RealpolitikJax, Any, Any]:
    """A cached (engine, jit(vmap(step)), jit(vmap(init))) per rules, so callers compile once."""
    key = (map_name, scoring, max_years)
    if key not in _COMPILED:
        engine = RealpolitikJax(map_name, scoring=scoring, max_years=max_years)
        _COMPILED[key] = (engine, jax.jit(jax.vmap(engine.step)), jax.jit(jax.vmap(engine.init)))
    return _COMPILED[key]
