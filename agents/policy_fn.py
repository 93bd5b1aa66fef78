"""A network and its parameters as a batched policy function, for evaluators.

The result follows `detente.lib.policy.PolicyFn`: `(observation [N, *obs_shape],
legal_mask [N, K, A]) -> probabilities [N, K, A]`, zero on illegal actions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from detente.agents.networks import Network


def make_policy_fn(network: Network, params: Any) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Returns the softmax policy of `network` with `params` as a batched numpy function.

    Args:
      network: the policy/value network.
      params: its parameters (one member, not stacked).

    Returns:
      policy_fn(observation float32 [N, *obs_shape], legal_mask bool [N, K, A]) ->
      probabilities float64 [N, K, A], exactly zero on illegal actions.
    """

    @jax.jit
    def probabilities(observation, legal_mask):
        logits, _ = network.apply(params, observation, legal_mask)
        return jax.nn.softmax(logits, axis=-1)

    def policy_fn(observation: np.ndarray, legal_mask: np.ndarray) -> np.ndarray:
        legal_mask = np.asarray(legal_mask, bool)
        probs = np.asarray(probabilities(np.asarray(observation, np.float32), legal_mask))
        probs = np.where(legal_mask, probs.astype(np.float64), 0.0)
        return probs / probs.sum(axis=-1, keepdims=True)

    return policy_fn
