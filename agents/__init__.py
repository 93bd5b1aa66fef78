"""detente.agents: haiku policy/value networks, sparse multi-agent GAE, PPO, population acting.

Public API:
  * networks: `Network`, `make_policy_value_network`, `mask_logits`, `ILLEGAL_LOGIT`.
  * advantages: `sparse_gae` (one player's stream), `batched_sparse_gae` ([T+1, B, P]).
  * learning: `Trajectory`, `check_trajectory`, `PPOConfig`, `TrainingState`, `make_ppo`,
    `Learner`, `warm_start`, `initial_params`.
  * acting: `act`, `population_apply`, `stack_params`, `unstack_params`, `sample`, `greedy`,
    `log_prob`; the module `legal_sampling` (`gumbel_at`, `sample_near_legal`: `sample`'s
    draw with noise only near the legal actions).

Dimension names: B batch, T time, P players, K action slots, A actions per slot, M members,
G groups of games sharing a seat-to-member assignment.
"""

from detente.agents.acting import (
    act,
    greedy,
    log_prob,
    population_apply,
    sample,
    stack_params,
    unstack_params,
)
from detente.agents.advantages import batched_sparse_gae, sparse_gae
from detente.agents.networks import (
    ILLEGAL_LOGIT,
    Network,
    check_params,
    make_policy_value_network,
    mask_logits,
)
from detente.agents.ppo import (
    Learner,
    PPOConfig,
    TrainingState,
    initial_params,
    make_ppo,
    warm_start,
)
from detente.agents.trajectory import Trajectory, check_trajectory

__all__ = [
    "ILLEGAL_LOGIT",
    "Learner",
    "Network",
    "PPOConfig",
    "TrainingState",
    "Trajectory",
    "act",
    "batched_sparse_gae",
    "check_params",
    "check_trajectory",
    "greedy",
    "log_prob",
    "make_policy_value_network",
    "initial_params",
    "make_ppo",
    "mask_logits",
    "population_apply",
    "sample",
    "sparse_gae",
    "stack_params",
    "unstack_params",
    "warm_start",
]
