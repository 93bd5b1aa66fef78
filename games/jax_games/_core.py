"""The pieces every JAX-native game shares: the state, the game triple, auto-reset.

A JAX game is the triple `JaxGame(spec, init, step)` of pure functions over an immutable
`State` (one game; batch with `jax.vmap`), following the environment contract of
`detente.lib.spec` (docs/environment.md, docs/jax_games.md):

* `init(key) -> State` and `step(state, actions int32 [P, K], key) -> State`, both pure and
  jittable; chance (if any) is drawn from the key.
* Stepping a finished game returns it unchanged with zero rewards.
* An illegal action (out of range, or masked out) of an acting player ends the game at once:
  `terminated` is set, every offending player gets the game's `illegal_reward` (by default
  its lowest payoff), every other player gets 0, and `State.illegal` names the offenders.
  JAX cannot raise inside `jit`, and silently replacing the action would hide the bug.
* `auto_reset(init, step)` wraps `step` with the contract's auto-reset semantics.

Dimension names: P players, K action slots per player, A actions per slot, B batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp

from detente.lib.spec import EnvSpec, TimeStep

PRNGKey = jax.Array
InitFn = Callable[[PRNGKey], Any]
StepFn = Callable[[Any, jax.Array, PRNGKey], Any]


class State(NamedTuple):
    """The state of one JAX-native small game (batched states add a leading [B]).

    The first six fields are the contract's `TimeStep` fields; see `to_timestep`.

    Attributes:
      observation: float32 [P, *obs_shape], each player's view from its own point of view.
      legal_action_mask: bool [P, K, A]; all True at a finished state and for players who
        are not acting.
      acting: bool [P], players who must act now.
      rewards: float32 [P], rewards earned by the last transition.
      terminated: bool [], the rules ended the game (an illegal action ends it too).
      truncated: bool [], a limit cut the game (never set by the one-shot games).
      illegal: bool [P], players whose illegal action ended the game (all False otherwise).
      step_count: int32 [], transitions played since `init`.
    """

    observation: jax.Array
    legal_action_mask: jax.Array
    acting: jax.Array
    rewards: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    illegal: jax.Array
    step_count: jax.Array


class JaxGame(NamedTuple):
    """A JAX-native game: its spec and its pure `init`/`step` (unpacks as a triple).

    Attributes:
      spec: the game's `EnvSpec`.
      init: `init(key) -> state`, one game.
      step: `step(state, actions int32 [P, K], key) -> state`, one game; a finished game is
        returned unchanged with zero rewards (wrap with `auto_reset` to restart it).
    """

    spec: EnvSpec
    init: InitFn
    step: StepFn


def to_timestep(state: Any) -> TimeStep:
    """The contract's fields of a (batch of) state(s), as a `TimeStep` of JAX arrays.

    Works for any state exposing the six contract fields (`observation`,
    `legal_action_mask`, `acting`, `rewards`, `terminated`, `truncated`), batched or not.
    """
    return TimeStep(
        observation=state.observation,
        legal_action_mask=state.legal_action_mask,
        acting=state.acting,
        rewards=state.rewards,
        terminated=state.terminated,
        truncated=state.truncated,
    )


def auto_reset(init: InitFn, step: StepFn) -> StepFn:
    """Wraps `step` so that a finished game restarts on the step after it ended.

    The contract's semantics (docs/environment.md, "Auto-reset"): the final state is returned
    by `step` as is (final observation, `terminated`/`truncated` set, nobody acting); the
    *next* call restarts that game from `init` (its actions are ignored) and returns the
    initial state, whose rewards are zero. Nothing is lost: the final observation and the
    reward of the last transition are both observed.

    Args:
      init: `init(key) -> state` of one game.
      step: `step(state, actions, key) -> state` of one game.

    Returns:
      `step(state, actions int32 [P, K], key) -> state`, one game, pure and jittable (batch
      with `jax.vmap`). The key is split into the restart key and the step key.
    """

    def auto_reset_step(state: Any, actions: jax.Array, key: PRNGKey) -> Any:
        reset_key, step_key = jax.random.split(key)
        done = jnp.logical_or(state.terminated, state.truncated)
        chex.assert_rank(done, 0)
        stepped = step(state, actions, step_key)
        fresh = init(reset_key)
        # Both branches are computed: under vmap a lax.cond would become a select anyway.
        return jax.tree.map(lambda new, old: jnp.where(done, new, old), fresh, stepped)

    return auto_reset_step


def one_shot_game(
    spec: EnvSpec,
    payoff_fn: Callable[[jax.Array], jax.Array],
    illegal_reward: float,
) -> JaxGame:
    """Builds a one-shot simultaneous game: everybody acts once, then the game is over.

    The observation of player p is `[terminal, one_hot(p, P)]` (float32 [1 + P]): exactly
    what `detente.lib.OpenSpielEnv` gives for OpenSpiel's normal-form games, whose
    information-state tensor is the single flag "terminal", followed by the adapter's seat
    one-hot. Policies therefore transfer between the two backends unchanged.

    Args:
      spec: the game's spec (K must be 1; `obs_shape` must be (1 + P,)).
      payoff_fn: `payoff_fn(actions int32 [P]) -> float32 [P]`, the payoffs of a joint action
        of in-range actions.
      illegal_reward: reward of a player whose illegal action ends the game.

    Returns:
      The `JaxGame`.
    """
    num_players, num_actions = spec.num_players, spec.num_actions
    if spec.num_slots != 1 or spec.obs_shape != (1 + num_players,):
        raise ValueError(
            f"one-shot games have K=1 and obs_shape=(1 + P,), got K={spec.num_slots}, "
            f"obs_shape={spec.obs_shape}"
        )
    seats = jnp.eye(num_players, dtype=jnp.float32)

    def observe(terminal: jax.Array) -> jax.Array:
        flag = jnp.broadcast_to(terminal.astype(jnp.float32), (num_players, 1))
        return jnp.concatenate([flag, seats], axis=-1)

    def init(key: PRNGKey) -> State:
        del key  # deterministic game
        return State(
            observation=observe(jnp.zeros((), bool)),
            legal_action_mask=jnp.ones((num_players, 1, num_actions), bool),
            acting=jnp.ones((num_players,), bool),
            rewards=jnp.zeros((num_players,), jnp.float32),
            terminated=jnp.zeros((), bool),
            truncated=jnp.zeros((), bool),
            illegal=jnp.zeros((num_players,), bool),
            step_count=jnp.zeros((), jnp.int32),
        )

    def step(state: State, actions: jax.Array, key: PRNGKey) -> State:
        del key  # deterministic game
        actions = jnp.asarray(actions)
        chex.assert_shape(actions, (num_players, 1))
        chex.assert_type(actions, int)
        action = actions[:, 0].astype(jnp.int32)
        in_range = (action >= 0) & (action < num_actions)
        safe = jnp.clip(action, 0, num_actions - 1)
        allowed = jnp.take_along_axis(state.legal_action_mask[:, 0, :], safe[:, None], -1)[:, 0]
        illegal = state.acting & ~(in_range & allowed)
        payoffs = payoff_fn(safe).astype(jnp.float32)
        penalty = jnp.where(illegal, jnp.float32(illegal_reward), jnp.float32(0.0))
        rewards = jnp.where(jnp.any(illegal), penalty, payoffs)
        done = state.terminated | state.truncated
        finished = State(
            observation=observe(jnp.ones((), bool)),
            legal_action_mask=jnp.ones((num_players, 1, num_actions), bool),
            acting=jnp.zeros((num_players,), bool),
            rewards=rewards,
            terminated=jnp.ones((), bool),
            truncated=jnp.zeros((), bool),
            illegal=illegal,
            step_count=state.step_count + 1,
        )
        unchanged = state._replace(rewards=jnp.zeros_like(state.rewards))
        return jax.tree.map(lambda old, new: jnp.where(done, old, new), unchanged, finished)

    return JaxGame(spec=spec, init=init, step=step)
