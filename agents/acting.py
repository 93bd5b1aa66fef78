"""Acting for a population: every seat of every game may be a different member, in one call.

The parameters of M members are stacked into one pytree with a leading [M] axis. A batch of B
games is split into G equal groups of B // G consecutive games (game b is in group
b // (B // G)); `seat_members[g, p]` names the member playing seat p in group g. Inference
gathers one parameter set per (group, seat) and vmaps `network.apply` over G and P, the B // G
games of a group forming the inner batch, so a league match-up of many opponents costs one
device call (DESIGN.md, "Agents").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import chex
import jax
import jax.numpy as jnp
import numpy as np

from detente.agents import legal_sampling
from detente.agents.networks import Network

PRNGKey = jax.Array


def stack_params(params_list: Sequence[Any]) -> Any:
    """Stacks M parameter pytrees of the same structure into one with a leading [M] axis.

    Args:
      params_list: M >= 1 parameter pytrees with identical structure and leaf shapes.

    Returns:
      A pytree whose leaves have shape [M, *leaf_shape].

    Raises:
      ValueError: if the list is empty or structures differ.
    """
    params_list = list(params_list)
    if not params_list:
        raise ValueError("stack_params needs at least one parameter pytree, got none")
    structure = jax.tree.structure(params_list[0])
    for i, params in enumerate(params_list[1:], start=1):
        if jax.tree.structure(params) != structure:
            raise ValueError(
                f"params_list[{i}] has structure {jax.tree.structure(params)}, "
                f"expected {structure} like params_list[0]"
            )
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *params_list)


def unstack_params(stacked_params: Any, index: int) -> Any:
    """Returns member `index` of stacked parameters (leaves [M, ...] -> [...])."""
    return jax.tree.map(lambda x: x[index], stacked_params)


def log_prob(logits: jax.Array, actions: jax.Array) -> jax.Array:
    """Log-probability of a joint action, summed over slots.

    Args:
      logits: float [..., K, A] (already masked by the network).
      actions: int [..., K].

    Returns:
      float [...].
    """
    log_pi = jax.nn.log_softmax(logits)
    return jnp.sum(jnp.take_along_axis(log_pi, actions[..., None], -1)[..., 0], -1)


def sample(
    key: PRNGKey, logits: jax.Array, mask: jax.Array, *, near_legal: bool | None = None
) -> jax.Array:
    """Samples one action per slot from the masked categorical distribution.

    Illegal actions get -inf before sampling, so they are never drawn whatever the logits
    (a slot with no legal action returns action 0). The actions are those
    `jax.random.categorical(key, where(mask, logits, -inf))` draws, by the Gumbel-max trick on
    `jax.random.gumbel(key, logits.shape)`'s noise.

    Args:
      key: PRNG key.
      logits: float [..., K, A].
      mask: bool [..., K, A].
      near_legal: draw the noise only in blocks of actions that hold a legal one
        (`detente.agents.legal_sampling.sample_near_legal`; the same actions). None: where that
        draws less noise (A > 512, a float32 Threefry draw) and the default backend is the
        CPU, where it measured faster. True: wherever it can reproduce the noise. False: never.

    Returns:
      int32 [..., K].
    """
    chex.assert_equal_shape([logits, mask])
    # Both draws take the argmax as plain reductions (`legal_sampling._first_max`): the
    # variadic (value, index) argmax of `jax.random.categorical` is not fused with the noise by
    # XLA. On the 2-core CPU that form was 2.1x faster on [512, 2, 2, 50] and 1.6x on
    # [64, 7, 17, 1446] (docs/jax_games.md).
    if near_legal is None:
        near_legal = jax.default_backend() == "cpu" and legal_sampling.near_legal_applies(
            key, logits
        )
    elif near_legal and not legal_sampling.gumbel_supported(key, logits.shape, logits.dtype):
        near_legal = False
    if near_legal:
        return legal_sampling.sample_near_legal(key, logits, mask)
    return legal_sampling.dense_sample(key, logits, mask)


def greedy(logits: jax.Array, mask: jax.Array) -> jax.Array:
    """The most likely legal action per slot (ties to the lowest index).

    Args:
      logits: float [..., K, A].
      mask: bool [..., K, A].

    Returns:
      int32 [..., K].
    """
    chex.assert_equal_shape([logits, mask])
    return jnp.argmax(jnp.where(mask, logits, -jnp.inf), axis=-1).astype(jnp.int32)


def population_apply(
    network: Network,
    stacked_params: Any,
    seat_members: jax.Array,
    obs: jax.Array,
    mask: jax.Array,
) -> tuple[jax.Array, jax.Array]:
    """Applies member `seat_members[b // (B // G), p]` to seat p of game b, in one vmapped call.

    Args:
      network: the network shared by all members (static under jit).
      stacked_params: pytree with leaves [M, ...].
      seat_members: int [G, P], member index per (group, seat); G must divide B.
      obs: float [B, P, *obs_shape].
      mask: bool [B, P, K, A].

    Returns:
      (logits [B, P, K, A], value [B, P]).

    Raises:
      ValueError: if shapes disagree, G does not divide B, or (outside jit) a member index is
        out of range.
    """
    seat_members = jnp.asarray(seat_members)
    obs, mask = jnp.asarray(obs), jnp.asarray(mask)
    if seat_members.ndim != 2:
        raise ValueError(f"seat_members must have shape [G, P], got {seat_members.shape}")
    num_groups, num_players = seat_members.shape
    if obs.ndim < 2 or obs.shape[1] != num_players:
        raise ValueError(
            f"obs must have shape [B, P={num_players}, *obs_shape], got {tuple(obs.shape)}"
        )
    batch = obs.shape[0]
    if batch % num_groups:
        raise ValueError(f"B={batch} games cannot be split into G={num_groups} equal groups")
    chex.assert_type(seat_members, int)
    num_members = jax.tree.leaves(stacked_params)[0].shape[0]
    # Out-of-range gathers are clamped silently by XLA, so check whenever the values are known.
    if not isinstance(seat_members, jax.core.Tracer):
        known = np.asarray(seat_members)
        if np.any((known < 0) | (known >= num_members)):
            raise ValueError(
                f"seat_members must index the M={num_members} stacked members, got {known.tolist()}"
            )
    chex.assert_shape(mask, (batch, num_players, network.num_slots, network.num_actions))
    per_group = batch // num_groups

    seat_params = jax.tree.map(lambda x: x[seat_members], stacked_params)  # leaves [G, P, ...]

    def to_gp(x):  # [B, P, ...] -> [G, P, B // G, ...]
        x = x.reshape((num_groups, per_group) + x.shape[1:])
        return jnp.swapaxes(x, 1, 2)

    def from_gp(x):  # [G, P, B // G, ...] -> [B, P, ...]
        return jnp.swapaxes(x, 1, 2).reshape((batch,) + x.shape[1:2] + x.shape[3:])

    apply_gp = jax.vmap(jax.vmap(network.apply))  # over G, then P
    logits, value = apply_gp(seat_params, to_gp(obs), to_gp(mask))
    return from_gp(logits), from_gp(value)[..., 0]


def act(
    network: Network,
    stacked_params: Any,
    seat_members: jax.Array,
    obs: jax.Array,
    mask: jax.Array,
    key: PRNGKey,
    *,
    deterministic: bool | tuple[bool, ...] = False,
    acting: jax.Array | None = None,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Chooses every seat's actions, each seat possibly played by a different member.

    jit with `network` (and `deterministic`) static:
    `jax.jit(act, static_argnums=0, static_argnames="deterministic")`.

    Args:
      network: the network shared by all members.
      stacked_params: pytree with leaves [M, ...] (see `stack_params`).
      seat_members: int32 [G, P]; game b belongs to group b // (B // G).
      obs: float32 [B, P, *obs_shape].
      mask: bool [B, P, K, A].
      key: PRNG key for sampling (unused when deterministic).
      deterministic: take the greedy legal action instead of sampling: True for every seat, or
        a tuple of P bools for some seats (e.g. a greedy best response against a sampled
        policy).
      acting: bool [B, P], the players who act now (the timestep's `acting`), or None. Given,
        a seat that is not acting takes action 0 in every slot (the contract ignores its
        actions): its draw sees only action 0 as legal instead of its all-True mask, so
        `sample`'s near-legal draw stays small. Acting seats draw what they draw without it;
        logits, values and the log-probabilities of acting seats are unchanged.

    Returns:
      actions int32 [B, P, K], log_prob float32 [B, P] (of the actions under the acting member,
      summed over slots; the trajectory's `behaviour_log_prob`), value float32 [B, P].
    """
    logits, value = population_apply(network, stacked_params, seat_members, obs, mask)
    mask = jnp.asarray(mask)
    if acting is not None:
        acting = jnp.asarray(acting)
        if acting.shape != mask.shape[:2] or acting.dtype != bool:
            raise ValueError(
                f"acting must be bool [B, P] = {mask.shape[:2]}, got {acting.dtype} "
                f"{tuple(acting.shape)}"
            )
        first_only = jnp.arange(mask.shape[-1]) == 0
        mask = jnp.where(acting[:, :, None, None], mask, first_only)
    if isinstance(deterministic, tuple):
        if len(deterministic) != mask.shape[1]:
            raise ValueError(
                f"deterministic must be a bool or one bool per seat (P={mask.shape[1]}), "
                f"got {deterministic!r}"
            )
        seat_greedy = jnp.asarray(deterministic, bool)[None, :, None]
        actions = jnp.where(seat_greedy, greedy(logits, mask), sample(key, logits, mask))
    elif deterministic:
        actions = greedy(logits, mask)
    else:
        actions = sample(key, logits, mask)
    return actions, log_prob(logits, actions), value
