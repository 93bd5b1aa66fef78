"""Policies as data: the one calling convention every detente policy follows.

A policy is a batched, pure function from observations and legal-action masks to action
probabilities (`PolicyFn`). Acting, rollouts, matches and the exact evaluators
(`detente.lib.exact_eval`) all call policies this way, so a policy is evaluated on exactly the
inputs it was trained on (the `ObservationEncoder` layout of `detente.lib.openspiel_env`).

Dimension names: N rows (any batch), P players, K action slots, A actions per slot.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np


@runtime_checkable
class PolicyFn(Protocol):
    """The calling convention of a detente policy.

    A policy maps a batch of observations and legal-action masks to action probabilities:

      probs = policy_fn(observation, legal_mask)

    Args (of the call):
      observation: float32 [N, obs_size], N views in the `ObservationEncoder` layout (the
        game's tensor followed by a one-hot of the observing seat, so one policy can play any
        seat and can tell which seat it plays).
      legal_mask: bool [N, K, A], legal actions of each slot (K = 1 for OpenSpiel games).

    Returns:
      float [N, K, A] probabilities (numpy or JAX array). Each slot's row must be a
      distribution over its legal actions; mass on illegal actions is an error in the
      evaluators (beyond a small tolerance), never silently moved.

    A policy must be a function of its inputs only (no hidden state, no global RNG), so that
    evaluating it on every information state at once is the same as calling it during play.
    """

    def __call__(self, observation: np.ndarray, legal_mask: np.ndarray) -> np.ndarray: ...


def uniform_policy_fn(observation: np.ndarray, legal_mask: np.ndarray) -> np.ndarray:
    """The uniform random policy over legal actions.

    Args:
      observation: float32 [N, obs_size] (unused, checked for its leading dimension).
      legal_mask: bool [N, K, A].

    Returns:
      float32 [N, K, A]: 1 / (number of legal actions) on legal actions, 0 elsewhere; a slot
      with no legal action gets all zeros.
    """
    mask = np.asarray(legal_mask, dtype=bool)
    if mask.ndim != 3:
        raise ValueError(f"legal_mask must be bool [N, K, A], got shape {mask.shape}")
    if np.shape(observation)[0] != mask.shape[0]:
        raise ValueError(
            f"observation has {np.shape(observation)[0]} rows but legal_mask has {mask.shape[0]}"
        )
    counts = mask.sum(axis=-1, keepdims=True)
    return (mask / np.maximum(counts, 1)).astype(np.float32)


def masked_softmax(logits: jax.Array, legal_mask: jax.Array) -> jax.Array:
    """Softmax over legal actions only; illegal actions get exactly zero probability.

    Args:
      logits: float [..., A].
      legal_mask: bool [..., A], same shape.

    Returns:
      float [..., A] probabilities. A row with no legal action is all zeros.
    """
    logits = jnp.where(legal_mask, logits, -jnp.inf)
    row_max = jnp.max(logits, axis=-1, keepdims=True)
    row_max = jnp.where(jnp.isfinite(row_max), row_max, 0.0)
    unnormalised = jnp.where(legal_mask, jnp.exp(logits - row_max), 0.0)
    total = jnp.sum(unnormalised, axis=-1, keepdims=True)
    return unnormalised / jnp.where(total > 0, total, 1.0)


def softmax_policy_fn(
    logits_fn: Callable[[jax.Array, jax.Array], jax.Array], *, temperature: float = 1.0
) -> PolicyFn:
    """Wraps a logits function (e.g. a network's `apply` with bound params) as a `PolicyFn`.

    Example:
      policy_fn = softmax_policy_fn(lambda obs, mask: apply(params, obs, mask)[0])

    Args:
      logits_fn: (observation float32 [N, obs_size], legal_mask bool [N, K, A]) ->
        logits float [N, K, A]. It is jitted together with the softmax.
      temperature: > 0; logits are divided by it before the masked softmax.

    Returns:
      A jitted `PolicyFn` returning float32 [N, K, A].
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")

    @jax.jit
    def policy_fn(observation, legal_mask):
        logits = logits_fn(observation, legal_mask)
        return masked_softmax(logits.astype(jnp.float32) / temperature, legal_mask)

    return policy_fn


class PerPlayerPolicy:
    """One policy per seat, presented as a single `PolicyFn`.

    Rows are routed to `policies[p]` by the seat one-hot that the `ObservationEncoder` appends
    as the last P entries of every observation, so a `PerPlayerPolicy` can be used anywhere a
    `PolicyFn` is expected (rollouts, matches, exact evaluation). Each seat's policy is called
    once per call, on all of that seat's rows.

    Args:
      policies: P policy functions; `policies[p]` plays seat p.
    """

    def __init__(self, policies: Sequence[PolicyFn]):
        policies = list(policies)
        if not policies:
            raise ValueError("PerPlayerPolicy needs at least one policy (one per seat)")
        for p, policy in enumerate(policies):
            if not callable(policy):
                raise TypeError(f"policies[{p}] is not callable: {policy!r}")
        self.policies = policies
        self.num_players = len(policies)

    def __call__(self, observation: np.ndarray, legal_mask: np.ndarray) -> np.ndarray:
        """Calls each seat's policy on its rows; returns float32 [N, K, A]."""
        observation = np.asarray(observation)
        legal_mask = np.asarray(legal_mask, dtype=bool)
        num_players = self.num_players
        if observation.ndim != 2 or observation.shape[1] < num_players:
            raise ValueError(
                f"observation must be float32 [N, obs_size] ending with a one-hot of the "
                f"{num_players} seats, got shape {observation.shape}"
            )
        seat_one_hot = observation[:, -num_players:]
        valid = np.all((seat_one_hot == 0) | (seat_one_hot == 1), axis=1) & (
            seat_one_hot.sum(axis=1) == 1
        )
        if not np.all(valid):
            row = int(np.argmin(valid))
            raise ValueError(
                f"observation row {row} does not end with a one-hot of the {num_players} seats "
                f"(got {seat_one_hot[row].tolist()}); PerPlayerPolicy needs the "
                "ObservationEncoder layout and as many policies as players"
            )
        seats = np.argmax(seat_one_hot, axis=1)
        out = np.zeros(legal_mask.shape, np.float32)
        for p in range(num_players):
            rows = np.flatnonzero(seats == p)
            if rows.size:
                out[rows] = np.asarray(self.policies[p](observation[rows], legal_mask[rows]))
        return out

    def __repr__(self) -> str:
        return f"PerPlayerPolicy({self.policies!r})"


def as_per_seat(policy: PolicyFn | Sequence[PolicyFn], num_players: int) -> list[PolicyFn]:
    """Normalises "one policy for every seat" or "a list of P policies" to a list of P.

    Args:
      policy: a `PolicyFn` (plays every seat), a `PerPlayerPolicy`, or a sequence of P of them.
      num_players: P.

    Returns:
      A list of P callables; entry p plays seat p.
    """
    if isinstance(policy, PerPlayerPolicy):
        policy = policy.policies
    if callable(policy):
        return [policy] * num_players
    if isinstance(policy, Sequence) and not isinstance(policy, (str, bytes)):
        policies = list(policy)
        if len(policies) != num_players:
            raise ValueError(
                f"expected one policy per seat ({num_players}), got {len(policies)} policies"
            )
        for p, fn in enumerate(policies):
            if not callable(fn):
                raise TypeError(f"policy for seat {p} is not callable: {fn!r}")
        return policies
    raise TypeError(
        f"policy must be a PolicyFn, a PerPlayerPolicy or a list of {num_players} PolicyFns, "
        f"got {type(policy).__name__}"
    )
