"""A JAX game behind the host environments' interface: `reset(seed)`, `step(actions)` on numpy.

`JaxGameEnv` steps a batch of a JAX game (`JaxGame` or a registered game string such as
"realpolitik_jax(map=classic)") with its own jitted, vmapped `step`, and returns the contract's
`TimeStep` of numpy arrays, like `lib.OpenSpielEnv` and `games.realpolitik.RealpolitikEnv`. Every
host-driven loop of the library (the league's learners and matches, leaderboards, the host
self-play backend) can therefore train and evaluate on a JAX engine: one device call per step
for the games, the same Python around them. (The JAX backend's `lax.scan` rollouts remain the
fastest way to self-play; this adapter is for the loops that pick opponents on the host.)

Semantics are those of the host environments, not of the JAX games':
* an illegal or malformed action raises `IllegalActionError` naming the game, the game index,
  the player, the slot and the action, before any game is stepped (a JAX game itself would end
  the game with a penalty, as it cannot raise);
* `auto_reset=True` restarts a finished game on the following step and ignores its actions
  (`jax_games.auto_reset`); without it, a finished game stays as it is with zero rewards.

Determinism: `reset(seed)` starts game b from `init(split(key(seed), B)[b])`; the t-th `step`
after it draws game b's chance from `split(fold_in(key(seed), t + 1), B)[b]`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import numpy as np

from detente.games.jax_games._core import JaxGame, auto_reset, to_timestep
from detente.games.jax_games.registry import make
from detente.lib import EnvSpec, TimeStep
from detente.lib.openspiel_env import IllegalActionError


@functools.lru_cache(maxsize=16)
def _compiled(name: str, reset: bool) -> tuple[JaxGame, object, object]:
    # One jitted init and step per (game string, auto-reset): `make` builds new functions on
    # every call, so environments of the same game share compilations through this cache.
    return _functions(make(name), reset)


def _functions(game: JaxGame, reset: bool) -> tuple[JaxGame, object, object]:
    step = auto_reset(game.init, game.step) if reset else game.step
    init = jax.jit(
        lambda key, batch: jax.vmap(game.init)(jax.random.split(key, batch)), static_argnums=1
    )
    return game, init, jax.jit(jax.vmap(step))


class JaxGameEnv:
    """B games of a JAX game stepped from the host.

    Attributes:
      spec: the game's `EnvSpec`.
      batch_size: B.
      auto_reset: whether finished games restart on the following step.
    """

    def __init__(self, game: str | JaxGame, batch_size: int, *, auto_reset: bool = False):
        """Builds the environment.

        Args:
          game: a registered JAX game string (compiled once per string) or a `JaxGame`.
          batch_size: B >= 1.
          auto_reset: restart finished games on the following step.

        Raises:
          ValueError: an unknown game string or bad parameters, or a bad batch size.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if isinstance(game, str):
            self._game, self._init, self._step = _compiled(game, bool(auto_reset))
        elif isinstance(game, JaxGame):
            self._game, self._init, self._step = _functions(game, bool(auto_reset))
        else:
            raise TypeError(
                f"game must be a JAX game string or a JaxGame, got {type(game).__name__}"
            )
        self.spec: EnvSpec = self._game.spec
        self.batch_size = int(batch_size)
        self.auto_reset = bool(auto_reset)
        self._state = None
        self._last: TimeStep | None = None
        self._key = None
        self._steps = 0

    def reset(self, seed: int) -> TimeStep:
        """Starts B new games from `seed`; returns the first `TimeStep` (zero rewards)."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self._key = jax.random.key(int(seed))
        self._steps = 0
        self._state = self._init(self._key, self.batch_size)
        self._last = self._to_host()
        return self._last

    def step(self, actions: np.ndarray | Sequence) -> TimeStep:
        """Plays one step of every game.

        Args:
          actions: int [B, P, K]; entries of players who are not acting (and of finished
            games) are ignored.

        Returns:
          The next `TimeStep`; `rewards` float32 [B, P] are those earned by this step.

        Raises:
          IllegalActionError: a malformed, out-of-range or illegal action; no game is stepped.
        """
        if self._last is None:
            raise RuntimeError("call reset(seed) before step(actions)")
        actions = self._validate(actions)
        self._steps += 1
        keys = jax.random.split(jax.random.fold_in(self._key, self._steps), self.batch_size)
        self._state = self._step(self._state, actions, keys)
        self._last = self._to_host()
        return self._last

    def _to_host(self) -> TimeStep:
        return TimeStep(*(np.asarray(x) for x in jax.device_get(to_timestep(self._state))))

    def _validate(self, actions) -> np.ndarray:
        spec, last = self.spec, self._last
        array = np.asarray(actions)
        expected = (self.batch_size, spec.num_players, spec.num_slots)
        if array.shape != expected:
            raise IllegalActionError(
                f"{spec.name}: actions must have shape [B, P, K] = {expected}, got {array.shape}"
            )
        if array.dtype.kind not in "iu":
            raise IllegalActionError(f"{spec.name}: actions must be integers, got {array.dtype}")
        # Finished games (restarted or kept) and players who are not acting are not checked.
        checked = last.acting & ~(last.terminated | last.truncated)[:, None]  # [B, P]
        in_range = (array >= 0) & (array < spec.num_actions)
        clipped = np.clip(array, 0, spec.num_actions - 1)
        legal = (
            in_range & np.take_along_axis(last.legal_action_mask, clipped[..., None], -1)[..., 0]
        )
        bad = np.argwhere(~legal & checked[..., None])
        if len(bad):
            b, p, k = (int(i) for i in bad[0])
            allowed = np.flatnonzero(last.legal_action_mask[b, p, k])
            shown = ", ".join(str(a) for a in allowed[:8])
            more = f" and {len(allowed) - 8} more" if len(allowed) > 8 else ""
            raise IllegalActionError(
                f"{spec.name}: illegal action {int(array[b, p, k])} of player {p}, slot {k}, in "
                f"game {b} (legal: {shown}{more}; accepted: 0 to {spec.num_actions - 1} where "
                f"the mask allows); {len(bad)} illegal entries in all, no game was stepped"
            )
        return array.astype(np.int32)
