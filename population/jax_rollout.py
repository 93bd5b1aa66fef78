"""On-device rollouts of JAX-native games: a whole T-step unroll in one `jax.lax.scan`.

`make_rollout(spec, init, step, network, unroll_length)` returns a pure, jittable
`rollout(stacked_params, seat_members, env_state, key) -> (Trajectory, env_state)`: B games
(an auto-resetting batch, see `detente.games.jax_games.auto_reset`) are played for T steps,
every seat of every game by one of M stacked members (`detente.agents.act`: the games are split
into G groups, `seat_members[g, p]` plays seat p in group g), and the experience comes back as
a time-major `detente.agents.Trajectory` with behaviour log-probabilities, ready for the
learner. Nothing leaves the device between steps.

Dimension names: T time, B batch, P players, K slots, A actions per slot, M members, G groups.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import chex
import jax
import jax.numpy as jnp

from detente.agents import Network, Trajectory, act, population_apply
from detente.games.jax_games import auto_reset, to_timestep
from detente.lib.spec import EnvSpec

PRNGKey = jax.Array
RolloutFn = Callable[[Any, jax.Array, Any, PRNGKey], tuple[Trajectory, Any]]


def init_env_states(init: Callable[[PRNGKey], Any], key: PRNGKey, batch_size: int) -> Any:
    """Starts `batch_size` games: game b from `jax.random.split(key, batch_size)[b]`.

    Args:
      init: `init(key) -> state` of one game.
      key: PRNG key.
      batch_size: B >= 1.

    Returns:
      The batched state (leaves with a leading [B]).
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return jax.vmap(init)(jax.random.split(key, batch_size))


def check_network_fits(network: Network, spec: EnvSpec) -> None:
    """Raises ValueError unless `network` was built for `spec` (observation shape, K and A)."""
    if (tuple(network.obs_shape), network.num_slots, network.num_actions) != (
        tuple(spec.obs_shape),
        spec.num_slots,
        spec.num_actions,
    ):
        raise ValueError(
            f"network (obs_shape={network.obs_shape}, K={network.num_slots}, "
            f"A={network.num_actions}) does not fit game {spec.name} (obs_shape={spec.obs_shape}, "
            f"K={spec.num_slots}, A={spec.num_actions})"
        )


def make_rollout(
    spec: EnvSpec,
    init: Callable[[PRNGKey], Any],
    step: Callable[[Any, jax.Array, PRNGKey], Any],
    network: Network,
    unroll_length: int,
    *,
    learner_member: int | None = None,
    deterministic: bool = False,
) -> RolloutFn:
    """Builds a jittable T-step rollout of an auto-resetting batch of a JAX game.

    Args:
      spec: the game's `EnvSpec`.
      init: `init(key) -> state` of one game (used to restart finished games).
      step: `step(state, actions int32 [P, K], key) -> state` of one game, *without*
        auto-reset (the rollout wraps it with `auto_reset(init, step)`).
      network: the network shared by every member; built for `spec`.
      unroll_length: T >= 1, environment steps per rollout.
      learner_member: the trajectory's `learner_mask` selects the seats played by this member
        (None: every seat, as in self-play).
      deterministic: play the greedy legal action instead of sampling.

    Returns:
      `rollout(stacked_params, seat_members, env_state, key) -> (trajectory, env_state)`:
        stacked_params: pytree with leaves [M, ...].
        seat_members: int32 [G, P]; G must divide B.
        env_state: batched state [B, ...] (e.g. from `init_env_states`).
        key: PRNG key.
      The trajectory is time-major: observation [T+1, B, P, *obs_shape] etc., actions
      [T, B, P, K], behaviour_log_prob [T, B, P] (log-probability of the actions under the
      member that chose them), learner_mask [B, P], behaviour_value [T+1, B, P] (each seat's
      member's value estimates; index T evaluated on the returned state). Index 0 is
      `env_state`'s timestep and index T the returned state's, which the next rollout starts
      from. Players who are not acting take action 0 in every slot (`agents.act`'s
      `acting`), with its log-probability. Step t draws its actions from `fold_in(key, t)`'s
      first split and its environment keys from the second.

    Raises:
      ValueError: if the network does not fit the spec or `unroll_length` < 1.
    """
    if not isinstance(unroll_length, int) or unroll_length < 1:
        raise ValueError(f"unroll_length must be a positive integer, got {unroll_length!r}")
    check_network_fits(network, spec)
    reset_step = jax.vmap(auto_reset(init, step))
    num_players = spec.num_players

    def rollout(
        stacked_params: Any, seat_members: jax.Array, env_state: Any, key: PRNGKey
    ) -> tuple[Trajectory, Any]:
        seat_members = jnp.asarray(seat_members)
        chex.assert_rank(seat_members, 2)
        chex.assert_type(seat_members, int)
        batch = env_state.observation.shape[0]
        chex.assert_shape(env_state.observation, (batch, num_players) + tuple(spec.obs_shape))
        chex.assert_shape(
            env_state.legal_action_mask, (batch, num_players, spec.num_slots, spec.num_actions)
        )

        def body(state, t):
            act_key, env_key = jax.random.split(jax.random.fold_in(key, t))
            actions, log_prob, value = act(
                network,
                stacked_params,
                seat_members,
                state.observation,
                state.legal_action_mask,
                act_key,
                deterministic=deterministic,
                acting=state.acting,
            )
            next_state = reset_step(state, actions, jax.random.split(env_key, batch))
            return next_state, (to_timestep(state), actions, log_prob, value)

        final, (timesteps, actions, log_probs, values) = jax.lax.scan(
            body, env_state, jnp.arange(unroll_length)
        )
        last = to_timestep(final)
        _, last_value = population_apply(
            network, stacked_params, seat_members, last.observation, last.legal_action_mask
        )
        full = jax.tree.map(lambda xs, x: jnp.concatenate([xs, x[None]], axis=0), timesteps, last)
        if learner_member is None:
            learner_mask = jnp.ones((batch, num_players), bool)
        else:
            groups = seat_members.shape[0]
            learner_mask = jnp.repeat(seat_members == learner_member, batch // groups, axis=0)
        trajectory = Trajectory(
            observation=full.observation,
            legal_action_mask=full.legal_action_mask,
            acting=full.acting,
            rewards=full.rewards,
            terminated=full.terminated,
            truncated=full.truncated,
            actions=actions,
            behaviour_log_prob=log_probs,
            learner_mask=learner_mask,
            behaviour_value=jnp.concatenate([values, last_value[None]], axis=0),
        )
        return trajectory, final

    return rollout
