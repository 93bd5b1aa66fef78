"""The core every part of detente uses: the environment contract and its OpenSpiel adapter,
policies as data, exact evaluation, checkpoints, logging and host-thread batch parts."""

from detente.lib.checkpoint import (
    CheckpointError,
    content_hash,
    load_checkpoint,
    load_metadata,
    save_checkpoint,
)
from detente.lib.exact_eval import (
    ExactEvaluation,
    evaluate,
    exploitability,
    nash_conv,
    to_openspiel_policy,
)
from detente.lib.host_parallel import (
    HostParallel,
    concat_batch,
    default_num_parts,
    host_cores,
    map_parts,
    part_bounds,
    split_batch,
)
from detente.lib.metrics_logger import (
    CsvLogger,
    Logger,
    MultiLogger,
    TensorBoardLogger,
    make_run_logger,
)
from detente.lib.openspiel_env import (
    IllegalActionError,
    ObservationEncoder,
    OpenSpielEnv,
    env_spec_for,
)
from detente.lib.policy import (
    PerPlayerPolicy,
    PolicyFn,
    as_per_seat,
    masked_softmax,
    softmax_policy_fn,
    uniform_policy_fn,
)
from detente.lib.spec import EnvSpec, TimeStep

__all__ = [
    "CheckpointError",
    "CsvLogger",
    "EnvSpec",
    "ExactEvaluation",
    "HostParallel",
    "IllegalActionError",
    "Logger",
    "MultiLogger",
    "ObservationEncoder",
    "OpenSpielEnv",
    "PerPlayerPolicy",
    "PolicyFn",
    "TensorBoardLogger",
    "TimeStep",
    "as_per_seat",
    "concat_batch",
    "content_hash",
    "default_num_parts",
    "env_spec_for",
    "evaluate",
    "exploitability",
    "host_cores",
    "load_checkpoint",
    "load_metadata",
    "make_run_logger",
    "map_parts",
    "masked_softmax",
    "nash_conv",
    "part_bounds",
    "save_checkpoint",
    "softmax_policy_fn",
    "split_batch",
    "to_openspiel_policy",
    "uniform_policy_fn",
]

# Ratings for leaderboards: Bradley-Terry / Elo with anchor, bootstrap CIs, n-player results.
from detente.lib.leaderboard import (  # noqa: E402
    ELO_PER_LOGIT,
    Comparisons,
    Ratings,
    expected_score,
    fit_bradley_terry,
    pairwise_comparisons,
    rate,
)

__all__ += [
    "ELO_PER_LOGIT",
    "Comparisons",
    "Ratings",
    "expected_score",
    "fit_bradley_terry",
    "pairwise_comparisons",
    "rate",
]
