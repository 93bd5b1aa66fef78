"""Proximal policy optimisation for multi-agent trajectories with sparse, masked seats.

PPO (Schulman et al. 2017, "Proximal Policy Optimization Algorithms", eq. 7 clipped surrogate
plus value and entropy terms, eq. 9) with GAE over each player's own decisions
(`detente.agents.advantages`). Only entries where the seat acts (at a non-final step) and the
trajectory's `learner_mask` selects the seat contribute to any loss term: frozen opponents' and
idle seats' data is ignored, so one trajectory can mix the learner with league opponents.

`make_ppo` returns the pure functions; `Learner` only holds the state between calls.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import rlax

from detente.agents.advantages import batched_sparse_gae
from detente.agents.networks import Network, check_params
from detente.agents.shuffle import permutation
from detente.agents.trajectory import Trajectory, check_trajectory

PRNGKey = jax.Array


@dataclasses.dataclass(frozen=True)
class PPOConfig:
    """Hyperparameters of PPO; validated on construction.

    Attributes:
      learning_rate: Adam step size, > 0.
      adam_eps: Adam epsilon, > 0.
      clip_epsilon: ratio clipping epsilon of the surrogate objective, in (0, 1).
      entropy_cost: weight of the entropy bonus, >= 0.
      value_cost: weight of the value loss, >= 0.
      gamma: discount per decision of a player, in [0, 1].
      gae_lambda: GAE trace parameter, in [0, 1].
      num_epochs: passes over each trajectory, >= 1.
      num_minibatches: minibatches per pass, >= 1; T * B * P of every trajectory must be a
        multiple of it.
      max_grad_norm: global gradient norm clip, > 0 (math.inf disables clipping).
      normalize_advantages: normalise advantages to zero mean, unit variance over the valid
        entries of the whole trajectory (before minibatching).
      anneal_updates: if > 0, the learning rate decays linearly to 0 over this many updates
        (then stays 0); 0 keeps it constant.
      magnet_cost: weight alpha of the magnet term alpha * KL(pi || rho), with rho the policy
        of `TrainingState.magnet_params` (magnetic mirror descent, Sokota et al. 2022, "A
        unified approach to reinforcement learning, quantal response equilibria, and
        two-player zero-sum games"). With a fixed magnet it pulls self-play toward the
        magnet's quantal response equilibrium; moving the magnet to the current parameters
        every `magnet_update_every` updates iterates toward a Nash equilibrium (the
        regularise-then-move scheme of R-NaD, Perolat et al. 2021). 0 disables it.
      magnet_update_every: replace the magnet by the current parameters every this many
        updates; 0 keeps the initial parameters (a near-uniform policy) as the magnet.
    """

    learning_rate: float = 3e-4
    adam_eps: float = 1e-5
    clip_epsilon: float = 0.2
    entropy_cost: float = 0.01
    value_cost: float = 0.5
    gamma: float = 0.99
    gae_lambda: float = 0.95
    num_epochs: int = 4
    num_minibatches: int = 4
    max_grad_norm: float = 0.5
    normalize_advantages: bool = True
    anneal_updates: int = 0
    magnet_cost: float = 0.0
    magnet_update_every: int = 0

    def __post_init__(self):
        # (field, lower, lower inclusive, upper, upper inclusive, integer)
        ranges = [
            ("learning_rate", 0.0, False, math.inf, False, False),
            ("adam_eps", 0.0, False, math.inf, False, False),
            ("clip_epsilon", 0.0, False, 1.0, False, False),
            ("entropy_cost", 0.0, True, math.inf, False, False),
            ("value_cost", 0.0, True, math.inf, False, False),
            ("gamma", 0.0, True, 1.0, True, False),
            ("gae_lambda", 0.0, True, 1.0, True, False),
            ("num_epochs", 1, True, math.inf, False, True),
            ("num_minibatches", 1, True, math.inf, False, True),
            ("max_grad_norm", 0.0, False, math.inf, True, False),
            ("anneal_updates", 0, True, math.inf, False, True),
            ("magnet_cost", 0.0, True, math.inf, False, False),
            ("magnet_update_every", 0, True, math.inf, False, True),
        ]
        for field, lo, lo_inc, hi, hi_inc, integer in ranges:
            value = getattr(self, field)
            interval = f"{'[' if lo_inc else '('}{lo}, {hi}{']' if hi_inc else ')'}"
            kind = "an integer" if integer else "a number"
            if isinstance(value, bool) or not isinstance(
                value, (int, np.integer) if integer else (int, float, np.integer, np.floating)
            ):
                raise ValueError(f"PPOConfig.{field} must be {kind} in {interval}, got {value!r}")
            ok = (value >= lo if lo_inc else value > lo) and (value <= hi if hi_inc else value < hi)
            if not ok or (not integer and math.isnan(value)):
                raise ValueError(f"PPOConfig.{field} must be {kind} in {interval}, got {value!r}")
        if not isinstance(self.normalize_advantages, bool):
            raise ValueError(
                f"PPOConfig.normalize_advantages must be a bool, got {self.normalize_advantages!r}"
            )


class TrainingState(NamedTuple):
    """Everything a learner carries between updates.

    Attributes:
      params: network parameters.
      opt_state: optax state.
      key: PRNG key for minibatch shuffling, split on every update.
      step: int32 [], number of updates done.
      magnet_params: parameters of the magnet policy of `PPOConfig.magnet_cost` (the initial
        parameters until `magnet_update_every` moves it).
    """

    params: Any
    opt_state: optax.OptState
    key: PRNGKey
    step: jax.Array
    magnet_params: Any


InitFn = Callable[[PRNGKey], TrainingState]
UpdateFn = Callable[[TrainingState, Trajectory], tuple[TrainingState, dict[str, jax.Array]]]


def _masked_mean(x: jax.Array, mask: jax.Array) -> jax.Array:
    return jnp.sum(jnp.where(mask, x, 0.0)) / jnp.maximum(jnp.sum(mask), 1)


class _Batch(NamedTuple):
    # The whole trajectory's observations and masks have B * P more rows (step T's, after
    # row N - 1): minibatches gather rows below N only.
    observation: jax.Array  # [N, *obs_shape]
    legal_action_mask: jax.Array  # [N, K, A] ([N, K * A] while gathered, see `_update`)
    actions: jax.Array  # [N, K]
    behaviour_log_prob: jax.Array  # [N]
    advantages: jax.Array  # [N]
    returns: jax.Array  # [N]
    magnet_log_pi: jax.Array  # [N, K, A] (as the mask), the magnet's log-policy; [N, 0] unused
    valid: jax.Array  # [N], entries of the policy loss (the learner's decisions)
    value_valid: jax.Array  # [N], entries of the value loss (the learner's non-final steps)


def _optimiser(config: PPOConfig) -> optax.GradientTransformation:
    learning_rate = config.learning_rate
    if config.anneal_updates:
        # Linear decay to 0: in self-play the last iterate of a constant step size keeps
        # cycling around an equilibrium; shrinking steps damp the cycle.
        learning_rate = optax.linear_schedule(
            config.learning_rate,
            0.0,
            config.anneal_updates * config.num_epochs * config.num_minibatches,
        )
    return optax.chain(
        optax.clip_by_global_norm(config.max_grad_norm),
        optax.adam(learning_rate, eps=config.adam_eps),
    )


def _state_at(config: PPOConfig, params: Any, state_key: PRNGKey) -> TrainingState:
    """A step-0 `TrainingState` at `params`: fresh optimiser state, the magnet at `params`."""
    return TrainingState(
        params=params,
        opt_state=_optimiser(config).init(params),
        key=state_key,
        step=jnp.zeros((), jnp.int32),
        magnet_params=params,
    )


@functools.partial(jax.jit, static_argnums=(0, 1))
def _init(network: Network, config: PPOConfig, key: PRNGKey) -> TrainingState:
    _, state_key = jax.random.split(key)
    return _state_at(config, initial_params(network, key), state_key)


def initial_params(network: Network, key: PRNGKey) -> Any:
    """The parameters a learner initialised from `key` starts from (`Learner(network, config,
    key)`, any config): the network initialised from `key`'s first split."""
    params_key, _ = jax.random.split(key)
    return network.init(params_key)


def _loss(network: Network, config: PPOConfig, params: Any, batch: _Batch):
    logits, values = network.apply(params, batch.observation, batch.legal_action_mask)
    valid = batch.valid
    log_pi = jax.nn.log_softmax(logits)  # [n, K, A]
    # Idle seats may carry any action index; zero it so the gather stays in range.
    actions = jnp.where(valid[:, None], batch.actions, 0)
    log_prob = jnp.sum(jnp.take_along_axis(log_pi, actions[..., None], -1)[..., 0], -1)
    # Masked before exp: an idle seat's behaviour log-prob may be anything (even -inf) and
    # a NaN there would leak into gradients through jnp.where.
    log_ratio = jnp.where(valid, log_prob - batch.behaviour_log_prob, 0.0)
    ratio = jnp.exp(log_ratio)
    per_entry_pg = jax.vmap(
        lambda r, a: rlax.clipped_surrogate_pg_loss(r[None], a[None], config.clip_epsilon)
    )(ratio, batch.advantages)
    pg_loss = _masked_mean(per_entry_pg, valid)
    # Entropy computed directly: rlax.softmax is deprecated in favour of distrax, which agents
    # may not import. Illegal actions have probability exactly 0, so they add 0 * finite.
    entropy = -jnp.sum(jnp.exp(log_pi) * log_pi, axis=(-2, -1))
    entropy = _masked_mean(entropy, valid)
    value_loss = 0.5 * _masked_mean(jnp.square(values[..., 0] - batch.returns), batch.value_valid)
    loss = pg_loss + config.value_cost * value_loss - config.entropy_cost * entropy
    magnet_kl = jnp.zeros(())
    if config.magnet_cost:
        # KL(pi || rho) per decision, summed over slots; illegal actions have pi = 0 exactly.
        kl = jnp.sum(jnp.exp(log_pi) * (log_pi - batch.magnet_log_pi), axis=(-2, -1))
        magnet_kl = _masked_mean(kl, valid)
        loss = loss + config.magnet_cost * magnet_kl
    metrics = {
        "loss": loss,
        "policy_loss": pg_loss,
        "value_loss": value_loss,
        "entropy": entropy,
        "magnet_kl": magnet_kl,
        # Schulman's k3 estimator of KL(behaviour || current), unbiased and >= 0.
        "approx_kl": _masked_mean((ratio - 1.0) - log_ratio, valid),
        "clip_fraction": _masked_mean(
            (jnp.abs(ratio - 1.0) > config.clip_epsilon).astype(jnp.float32), valid
        ),
    }
    return loss, metrics


# Jitted with the (hashable, frozen) network and config static, so every learner built from
# the same network and config shares one compilation: a population of learners compiles once.
@functools.partial(jax.jit, static_argnums=(0, 1))
def _update(network: Network, config: PPOConfig, state: TrainingState, traj: Trajectory):
    optimiser = _optimiser(config)
    T, B, P, K, A = check_trajectory(traj, network.obs_shape)
    if (K, A) != (network.num_slots, network.num_actions):
        raise ValueError(
            f"Trajectory has K={K}, A={A} but the network was built for "
            f"K={network.num_slots}, A={network.num_actions}"
        )
    n = T * B * P
    if n % config.num_minibatches:
        raise ValueError(
            f"T * B * P = {T} * {B} * {P} = {n} is not a multiple of "
            f"PPOConfig.num_minibatches={config.num_minibatches}"
        )

    if traj.behaviour_value is None:
        _, values = network.apply(state.params, traj.observation, traj.legal_action_mask)
        values = values[..., 0]
    else:  # the acting pass's values (on-policy: these parameters), not a second pass
        values = traj.behaviour_value.astype(jnp.float32)
    values = jax.lax.stop_gradient(values)  # [T+1, B, P]
    advantages, returns = batched_sparse_gae(
        values,
        traj.rewards,
        traj.acting,
        traj.terminated,
        traj.truncated,
        config.gamma,
        config.gae_lambda,
    )
    ended = traj.terminated | traj.truncated
    value_valid = ~ended[:-1, :, None] & traj.learner_mask[None]  # [T, B, P]
    valid = traj.acting[:-1] & value_valid
    advantages, returns = advantages[:-1], returns[:-1]
    raw_advantages = advantages
    if config.normalize_advantages:
        mean = _masked_mean(advantages, valid)
        std = jnp.sqrt(_masked_mean(jnp.square(advantages - mean), valid))
        advantages = jnp.where(valid, (advantages - mean) / (std + 1e-8), 0.0)

    # Entries 0..n-1 of the flattened [T+1, B, P] arrays are those of steps 0..T-1: the
    # minibatches gather from them directly instead of from a copy without step T.
    # Rows of [K, A] are gathered as flat rows of K * A: XLA's CPU gather of [K, A] slices cost
    # 7 times as much on the duel board's masks (the update 1.06x faster; the same rows).
    observation = traj.observation.reshape((n + B * P,) + network.obs_shape)
    legal_action_mask = traj.legal_action_mask.reshape(n + B * P, K * A)
    if config.magnet_cost:
        magnet_logits, _ = network.apply(
            state.magnet_params, observation[:n], legal_action_mask[:n].reshape(n, K, A)
        )
        magnet_log_pi = jax.lax.stop_gradient(jax.nn.log_softmax(magnet_logits))
    else:  # unused: an empty placeholder, not [N, K, A] zeros (gigabytes on large boards)
        magnet_log_pi = jnp.zeros((n, 0), jnp.float32)
    flat = _Batch(
        observation=observation,
        legal_action_mask=legal_action_mask,
        magnet_log_pi=magnet_log_pi.reshape(n, -1),
        actions=traj.actions.reshape(n, K).astype(jnp.int32),
        behaviour_log_prob=traj.behaviour_log_prob.reshape(n).astype(jnp.float32),
        advantages=advantages.reshape(n),
        returns=returns.reshape(n),
        valid=valid.reshape(n),
        value_valid=value_valid.reshape(n),
    )
    key, shuffle_key = jax.random.split(state.key)
    m = config.num_minibatches

    def minibatch_step(carry, indices: jax.Array):
        params, opt_state = carry
        # Each minibatch gathers its rows of `flat`: a shuffled copy of the whole batch per
        # epoch would double the memory of the largest arrays ([N, K, A] masks).
        batch = jax.tree.map(lambda x: x[indices], flat)
        batch = batch._replace(legal_action_mask=batch.legal_action_mask.reshape(-1, K, A))
        if config.magnet_cost:
            batch = batch._replace(magnet_log_pi=batch.magnet_log_pi.reshape(-1, K, A))
        grads, metrics = jax.grad(functools.partial(_loss, network, config), has_aux=True)(
            params, batch
        )
        metrics["grad_norm"] = optax.tree_utils.tree_norm(grads)
        updates, opt_state = optimiser.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), metrics

    def epoch(carry, epoch_key):
        perm = permutation(epoch_key, n)  # jax.random.permutation's, cheaper on CPU
        return jax.lax.scan(minibatch_step, carry, perm.reshape(m, n // m))

    (params, opt_state), metrics = jax.lax.scan(
        epoch,
        (state.params, state.opt_state),
        jax.random.split(shuffle_key, config.num_epochs),
    )
    metrics = jax.tree.map(jnp.mean, metrics)
    metrics.update(
        advantage_mean=_masked_mean(raw_advantages, valid),
        return_mean=_masked_mean(returns, valid),
        value_mean=_masked_mean(values[:-1], valid),
        num_valid=jnp.sum(valid).astype(jnp.float32),
    )
    step = state.step + 1
    magnet_params = state.magnet_params
    if config.magnet_update_every:
        move = step % config.magnet_update_every == 0
        magnet_params = jax.tree.map(
            lambda new, old: jnp.where(move, new, old), params, state.magnet_params
        )
    new_state = TrainingState(
        params=params, opt_state=opt_state, key=key, step=step, magnet_params=magnet_params
    )
    return new_state, metrics


def make_ppo(network: Network, config: PPOConfig) -> tuple[InitFn, UpdateFn]:
    """Builds PPO's pure, jitted init and update functions.

    One update: (1) take the value of every timestep of the trajectory: its
    `behaviour_value` (the acting pass's, recorded by this package's rollouts), or, where that
    is None, the current value function evaluated on the trajectory, (2) compute sparse
    per-player GAE advantages and lambda-returns, (3) normalise advantages over valid entries,
    (4) run `num_epochs` passes of `num_minibatches` shuffled minibatches of the T * B * P
    (step, game, seat) entries, each an Adam step on

      L = clipped surrogate (rlax.clipped_surrogate_pg_loss)
          + value_cost * 0.5 * (V - G)^2 - entropy_cost * entropy
          + magnet_cost * KL(pi || magnet),

    the policy and entropy terms a mean over the minibatch's decisions (acting at t < T, not at
    an episode's final step, and in `learner_mask`), the value term over every non-final step
    of the learner's seats (waiting steps included, since values bootstrap from them). The
    log-probability of a joint action is the sum over its K slots and so are the entropy and
    the magnet KL (slots are sampled independently given the observation).

    Both functions are jitted with `network` and `config` static, so learners built from the
    same `Network` object and an equal config share one compilation.

    Args:
      network: the policy/value network.
      config: PPO hyperparameters.

    Returns:
      (init_fn(key) -> TrainingState, update_fn(state, trajectory) -> (state, metrics)), where
      metrics is a dict of float32 scalars (losses, entropy, approx_kl, clip_fraction,
      grad_norm, mean advantage/return/value, num_valid) averaged over minibatches.

    Raises:
      TypeError: if `network` or `config` has the wrong type.
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be a detente.agents.Network, got {type(network).__name__}")
    if not isinstance(config, PPOConfig):
        raise TypeError(f"config must be a PPOConfig, got {type(config).__name__}")
    return functools.partial(_init, network, config), functools.partial(_update, network, config)


def warm_start(network: Network, config: PPOConfig, key: PRNGKey, params: Any) -> TrainingState:
    """A fresh `TrainingState` at `params`: a new optimiser state, step 0, the magnet at
    `params` too (a warm start from another run's or a population member's parameters).

    Raises:
      ValueError: `params` that do not fit `network` (`check_params`).
    """
    params = check_params(network, params, "initial params")
    _, state_key = jax.random.split(key)  # the state's key as `_init` derives it
    return _state_at(config, params, state_key)


class Learner:
    """A PPO learner: holds the `TrainingState` between calls of the pure update; no logic.

    Args:
      network: the policy/value network.
      config: PPO hyperparameters.
      key: PRNG key for the initial parameters and minibatch shuffling.
      state: resume from this state instead of initialising from `key` (e.g. a checkpoint).
    """

    def __init__(
        self,
        network: Network,
        config: PPOConfig,
        key: PRNGKey,
        *,
        state: TrainingState | None = None,
    ):
        self._init_fn, self._update_fn = make_ppo(network, config)
        self._state = state if state is not None else self._init_fn(key)

    @property
    def state(self) -> TrainingState:
        """The current training state."""
        return self._state

    @property
    def params(self) -> Any:
        """The current network parameters."""
        return self._state.params

    def update(self, trajectory: Trajectory) -> Mapping[str, float]:
        """Runs one PPO update on `trajectory`; returns its metrics as Python floats."""
        self._state, metrics = self._update_fn(self._state, trajectory)
        return {name: float(value) for name, value in jax.device_get(metrics).items()}
