"""Policy/value networks: a frozen pair of pure functions built from an `EnvSpec`.

Haiku is used inside this module only; everywhere else a network is the frozen dataclass
`Network` of pure `init`/`apply` functions (the acme convention, `acme/jax/networks/base.py`).

Dimension names: K action slots per player per step, A actions per slot; `...` is any number
of leading batch dimensions (e.g. [T, B, P] or [B, P]).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

import chex
import haiku as hk
import jax
import jax.numpy as jnp

from detente.lib.spec import EnvSpec

Params = Any  # a haiku parameter pytree
PRNGKey = jax.Array

# Illegal actions get this logit instead of -inf: softmax still gives them probability exactly 0
# in float32, but p * log p stays 0 * finite = 0, so entropies and gradients never become NaN,
# and a slot whose actions are all illegal degrades to a uniform distribution, not NaN.
ILLEGAL_LOGIT = -1e9


@dataclasses.dataclass(frozen=True)
class Network:
    """A policy/value network as two pure functions.

    Frozen and hashable, so it can be a static argument of `jax.jit`.

    Attributes:
      init: `init(key) -> params`.
      apply: `apply(params, obs [..., *obs_shape], mask bool [..., K, A]) ->
        (logits float32 [..., K, A], value float32 [..., 1])`. Illegal actions' logits equal
        `ILLEGAL_LOGIT`; the value predicts the return of the player whose observation it is.
      obs_shape: shape of one player's observation.
      num_slots: K.
      num_actions: A.
    """

    init: Callable[[PRNGKey], Params]
    apply: Callable[[Params, jax.Array, jax.Array], tuple[jax.Array, jax.Array]]
    obs_shape: tuple[int, ...]
    num_slots: int
    num_actions: int


def mask_logits(logits: jax.Array, mask: jax.Array) -> jax.Array:
    """Replaces the logits of illegal actions by `ILLEGAL_LOGIT`.

    Args:
      logits: float [..., A].
      mask: bool [..., A], True where the action is legal.

    Returns:
      float [..., A]; legal logits unchanged (their gradient too), illegal ones constant.
    """
    return jnp.where(mask, logits, jnp.asarray(ILLEGAL_LOGIT, logits.dtype))


def check_params(network: Network, params: Any, what: str = "params") -> Any:
    """Returns `params` if they fit `network` (same tree and leaf shapes as its `init`).

    Raises:
      ValueError: naming `what`, the leaf shapes given and those the network expects.
    """
    abstract = jax.eval_shape(network.init, jax.random.key(0))
    expected = jax.tree.map(lambda x: tuple(x.shape), abstract)
    if jax.tree.structure(params) != jax.tree.structure(abstract):
        raise ValueError(
            f"{what} do not fit the network: got {params!r:.200}, expected leaf shapes {expected}"
        )
    try:
        shapes = jax.tree.map(lambda x: tuple(jnp.shape(x)), params)
    except TypeError as error:  # a leaf that is not an array
        raise ValueError(f"{what} do not fit the network: {error}") from None
    if shapes != expected:
        raise ValueError(
            f"{what} do not fit the network: leaf shapes {shapes}, expected {expected}"
        )
    return params


def make_policy_value_network(
    spec: EnvSpec,
    *,
    hidden_sizes: Sequence[int] = (128, 128),
    name: str = "policy_value",
) -> Network:
    """Builds an MLP actor-critic for a game described by `spec`.

    An MLP torso on the flattened observation feeds two linear heads: per-slot policy logits
    (K * A outputs reshaped to [K, A], illegal entries masked) and a scalar value of the
    observing player's return. Observations already carry the seat (the adapter appends a
    one-hot player index), so one network plays every seat.

    The policy head is initialised with small weights so the initial policy is close to
    uniform over legal actions (Andrychowicz et al. 2021, "What matters in on-policy RL",
    recommendation on the last policy layer).

    Args:
      spec: the game's `EnvSpec` (obs_shape, num_slots K, num_actions A are used).
      hidden_sizes: widths of the torso's hidden layers (ReLU).
      name: haiku module name, the prefix of every parameter.

    Returns:
      A `Network`; `apply` accepts any leading batch dimensions.

    Raises:
      ValueError: if a hidden size is not a positive integer.
    """
    hidden_sizes = tuple(int(h) for h in hidden_sizes)
    if any(h < 1 for h in hidden_sizes):
        raise ValueError(f"hidden_sizes must be positive integers, got {hidden_sizes}")
    return _cached_network(spec, hidden_sizes, name)


# One Network object per (spec, sizes, name): jitted learners and actors take the network as a
# static argument, so equal networks built twice (a resumed run, a population of learners, the
# next PSRO iteration) share their compilations instead of recompiling.
@functools.lru_cache(maxsize=64)
def _cached_network(spec: EnvSpec, hidden_sizes: tuple[int, ...], name: str) -> Network:
    obs_shape = tuple(int(d) for d in spec.obs_shape)
    num_slots, num_actions = spec.num_slots, spec.num_actions
    obs_size = spec.obs_size

    def forward(obs: jax.Array, mask: jax.Array) -> tuple[jax.Array, jax.Array]:
        batch_shape = obs.shape[: obs.ndim - len(obs_shape)]
        x = jnp.reshape(obs, (-1, obs_size)).astype(jnp.float32)
        h = x
        if hidden_sizes:
            h = hk.nets.MLP(hidden_sizes, activate_final=True, name=f"{name}_torso")(x)
        logits = hk.Linear(
            num_slots * num_actions,
            w_init=hk.initializers.VarianceScaling(0.01),
            name=f"{name}_policy_head",
        )(h)
        value = hk.Linear(1, name=f"{name}_value_head")(h)
        logits = jnp.reshape(logits, batch_shape + (num_slots, num_actions))
        value = jnp.reshape(value, batch_shape + (1,))
        return mask_logits(logits, mask), value

    transformed = hk.without_apply_rng(hk.transform(forward))

    def init(key: PRNGKey) -> Params:
        dummy_obs = jnp.zeros((1,) + obs_shape, jnp.float32)
        dummy_mask = jnp.ones((1, num_slots, num_actions), bool)
        return transformed.init(key, dummy_obs, dummy_mask)

    def apply(params: Params, obs: jax.Array, mask: jax.Array) -> tuple[jax.Array, jax.Array]:
        obs, mask = jnp.asarray(obs), jnp.asarray(mask)
        if obs.ndim < len(obs_shape) or tuple(obs.shape[obs.ndim - len(obs_shape) :]) != obs_shape:
            raise ValueError(
                f"observation must have shape [..., *{obs_shape}], got {tuple(obs.shape)}"
            )
        batch_shape = obs.shape[: obs.ndim - len(obs_shape)]
        chex.assert_type(obs, float)
        chex.assert_type(mask, bool)
        chex.assert_shape(mask, batch_shape + (num_slots, num_actions))
        logits, value = transformed.apply(params, obs, mask)
        chex.assert_shape(logits, batch_shape + (num_slots, num_actions))
        chex.assert_shape(value, batch_shape + (1,))
        return logits, value

    # Jitted here so that eager calls (tests, evaluation scripts) compile once per shape instead of
    # dispatching every haiku op; inside an outer jit/vmap these are simply inlined.
    return Network(
        init=jax.jit(init),
        apply=jax.jit(apply),
        obs_shape=obs_shape,
        num_slots=num_slots,
        num_actions=num_actions,
    )
