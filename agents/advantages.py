"""Generalised advantage estimation on sparse per-player streams.

In a multi-agent game a player acts only at some timesteps (one seat at a time in a sequential
game). Each player's stream is therefore a semi-Markov decision process from its own point of
view: a decision at step t is followed by the rewards of every transition up to and including
the player's next decision step (or the end of the episode), and discounting and the GAE trace
run over the player's own decisions only. This is GAE (Schulman et al. 2016, "High-Dimensional
Continuous Control Using Generalized Advantage Estimation", eq. 16) applied to that stream.

Conventions (the environment contract of `detente.lib.spec`, with auto-reset):
  * `r_t` is the reward earned by the transition INTO timestep t.
  * A timestep with `terminated` or `truncated` True ends its episode; nobody decides there
    (a decision flagged at such a step is ignored). The next timestep starts a new episode,
    and its reward is never credited to the previous episode.
  * Index T (the last of T+1) is the bootstrap step: it has no action in the rollout, so it
    gets no advantage; its value bootstraps the decisions before it that are still open.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp


def sparse_gae(
    v_t: jax.Array,
    r_t: jax.Array,
    acting_t: jax.Array,
    terminated_t: jax.Array,
    truncated_t: jax.Array,
    gamma: float,
    lambda_: float,
) -> tuple[jax.Array, jax.Array]:
    """GAE advantages and lambda-returns of one player's sparse stream.

    For a decision at t (acting_t True, t < T, t not an episode end), with n(t) the player's
    next decision step, the episode's last step, or T, whichever comes first:

      delta_t = sum_{j=t+1}^{n(t)} r_j + gamma * V_next - v_t,
      V_next  = v_{n(t)} if n(t) is a decision of the player, or T (bootstrap),
                v_{n(t)} if the episode was truncated at n(t) (the final observation's value),
                0        if the episode terminated at n(t),
      A_t     = delta_t + gamma * lambda_ * A_{n(t)},  with A_{n(t)} = 0 unless n(t) is a
                decision of the player with n(t) < T,
      G_t     = A_t + v_t (the value target).

    Value targets are also given at the player's waiting steps (not deciding, not an episode
    end): the same formula with n(t) the next decision or end after t, so the value head is
    trained on every state it may bootstrap from (a truncated game's final observation, a
    rollout's last step).

    Implemented as one reverse `jax.lax.scan` (fixed shapes, jit- and vmap-friendly).

    Args:
      v_t: float [T+1], the player's value estimates.
      r_t: float [T+1], the player's rewards (earned entering each step).
      acting_t: bool [T+1], whether the player decides at each step.
      terminated_t: bool [T+1], the episode terminated at this step.
      truncated_t: bool [T+1], the episode was truncated at this step.
      gamma: discount per decision of the player, in [0, 1].
      lambda_: GAE trace parameter, in [0, 1].

    Returns:
      (advantages [T+1], returns [T+1]): advantages are zero wherever the player does not
      decide; returns (value targets) are zero at episode ends; both are zero at T.
    """
    chex.assert_rank([v_t, r_t, acting_t, terminated_t, truncated_t], 1)
    chex.assert_equal_shape([v_t, r_t, acting_t, terminated_t, truncated_t])
    chex.assert_type([acting_t, terminated_t, truncated_t], bool)
    dtype = jnp.result_type(v_t, r_t, jnp.float32)
    v_t, r_t = v_t.astype(dtype), r_t.astype(dtype)
    ended_t = terminated_t | truncated_t
    decides_t = acting_t & ~ended_t
    zero = jnp.zeros((), dtype)

    # The carry describes what follows step t for a decision taken before it:
    # (rewards accumulated from t on, bootstrap value, advantage of the next decision).
    carry_T = (r_t[-1], jnp.where(terminated_t[-1], zero, v_t[-1]), zero)

    def backward(carry, xs):
        acc, boot_v, next_adv = carry
        v, r, decides, terminated, ended = xs
        # The same lambda-return is the value target at waiting steps of the player, so the
        # value head is also trained where it is used to bootstrap (rollout ends, truncation).
        full_adv = acc + gamma * boot_v - v + gamma * lambda_ * next_adv
        target = jnp.where(ended, zero, full_adv + v)
        adv = jnp.where(decides, full_adv, zero)
        # Episode end: cut everything that follows (it belongs to the next episode).
        end_carry = (r, jnp.where(terminated, zero, v), zero)
        decide_carry = (r, v, adv)
        pass_carry = (r + acc, boot_v, next_adv)
        new_carry = jax.tree.map(
            lambda e, d, p: jnp.where(ended, e, jnp.where(decides, d, p)),
            end_carry,
            decide_carry,
            pass_carry,
        )
        return new_carry, (adv, target)

    xs = (v_t[:-1], r_t[:-1], decides_t[:-1], terminated_t[:-1], ended_t[:-1])
    _, (adv, returns) = jax.lax.scan(backward, carry_T, xs, reverse=True)
    adv = jnp.concatenate([adv, jnp.zeros((1,), dtype)])
    returns = jnp.concatenate([returns, jnp.zeros((1,), dtype)])
    return adv, returns


def batched_sparse_gae(
    values: jax.Array,
    rewards: jax.Array,
    acting: jax.Array,
    terminated: jax.Array,
    truncated: jax.Array,
    gamma: float,
    lambda_: float,
) -> tuple[jax.Array, jax.Array]:
    """`sparse_gae` over every game and player of a time-major batch.

    Args:
      values: float [T+1, B, P], each player's value estimate at each step.
      rewards: float [T+1, B, P], rewards earned entering each step.
      acting: bool [T+1, B, P].
      terminated: bool [T+1, B].
      truncated: bool [T+1, B].
      gamma: discount per decision, in [0, 1].
      lambda_: GAE trace parameter, in [0, 1].

    Returns:
      (advantages [T+1, B, P], returns [T+1, B, P]) as in `sparse_gae`.
    """
    chex.assert_rank([values, rewards, acting, terminated, truncated], [3, 3, 3, 2, 2])
    chex.assert_equal_shape([values, rewards, acting])
    chex.assert_equal_shape([terminated, truncated])
    chex.assert_equal_shape_prefix([values, terminated], 2)

    def per_game(v, r, a, term, trunc):  # v, r, a: [T+1, P]; term, trunc: [T+1]
        per_player = jax.vmap(sparse_gae, in_axes=(1, 1, 1, None, None, None, None), out_axes=1)
        return per_player(v, r, a, term, trunc, gamma, lambda_)

    return jax.vmap(per_game, in_axes=1, out_axes=1)(values, rewards, acting, terminated, truncated)
