"""Populations and their training loops: naive self-play today; fictitious play, PSRO and the
league build on the same machinery."""

from detente.population.self_play import SelfPlayConfig, SelfPlayResult, train_self_play

__all__ = ["SelfPlayConfig", "SelfPlayResult", "train_self_play"]

# Population store, payoffs, matches, opponent training, PSRO and fictitious play.
from detente.population.fictitious_play import (  # noqa: E402
    fictitious_play_config,
    run_fictitious_play,
)
from detente.population.jax_matches import play_jax_matches  # noqa: E402
from detente.population.jax_opponent_training import train_jax_against_opponents  # noqa: E402
from detente.population.matches import MatchResult, play_match, play_matches  # noqa: E402
from detente.population.members import Member, Population  # noqa: E402
from detente.population.opponent_training import (  # noqa: E402
    OpponentTrainingConfig,
    OpponentTrainingResult,
    check_seat_sets,
    train_against_opponents,
)
from detente.population.payoffs import MatchRecord, PayoffStore, PayoffTable  # noqa: E402
from detente.population.psro import PSROConfig, PSROResult, run_psro  # noqa: E402
from detente.population.run_state import RunState, load_run, save_run  # noqa: E402
from detente.population.tabular import TabularMembers  # noqa: E402

__all__ += [
    "MatchRecord",
    "MatchResult",
    "Member",
    "OpponentTrainingConfig",
    "OpponentTrainingResult",
    "check_seat_sets",
    "PSROConfig",
    "PSROResult",
    "PayoffStore",
    "PayoffTable",
    "Population",
    "RunState",
    "TabularMembers",
    "fictitious_play_config",
    "play_jax_matches",
    "load_run",
    "play_match",
    "play_matches",
    "run_fictitious_play",
    "run_psro",
    "save_run",
    "train_against_opponents",
    "train_jax_against_opponents",
]

# Reproducible leaderboards of frozen pools; approximate exploitability by learned best responses.
from detente.population.approx_exploitability import (  # noqa: E402
    ApproxExploitability,
    BestResponseConfig,
    approximate_nash_conv,
)
from detente.population.leaderboard_runner import (  # noqa: E402
    LeaderboardResult,
    MatchSpec,
    Pool,
    PoolMember,
    load_pool,
    make_schedule,
    network_member,
    run_leaderboard,
    uniform_member,
    uniform_params,
    write_pool,
)

__all__ += [
    "ApproxExploitability",
    "BestResponseConfig",
    "LeaderboardResult",
    "MatchSpec",
    "Pool",
    "PoolMember",
    "approximate_nash_conv",
    "load_pool",
    "make_schedule",
    "network_member",
    "run_leaderboard",
    "uniform_member",
    "uniform_params",
    "write_pool",
]

# On-device rollouts and self-play on JAX-native games (docs/jax_games.md).
from detente.population.jax_rollout import init_env_states, make_rollout  # noqa: E402
from detente.population.jax_self_play import train_jax_self_play  # noqa: E402

__all__ += ["init_env_states", "make_rollout", "train_jax_self_play"]

# Self-play on the backend that fits the game (JAX-native games on the device, others on the
# OpenSpiel adapter), with the same learner.
from detente.population.jax_self_play import train as run_self_play  # noqa: E402

__all__ += ["run_self_play"]

# The AlphaStar-style league (docs/league.md).
from detente.population.league import (  # noqa: E402
    LeagueConfig,
    LeagueResult,
    ScoreTable,
    learner_seat_sets,
    opponent_distribution,
    run_league,
)

__all__ += [
    "LeagueConfig",
    "LeagueResult",
    "ScoreTable",
    "learner_seat_sets",
    "opponent_distribution",
    "run_league",
]

# Where population work runs: in-process by default, Ray when asked (imported lazily).
from detente.population.execution import (  # noqa: E402
    Executor,
    InProcessExecutor,
    make_executor,
)
from detente.population.ray_backend import RayExecutor  # noqa: E402

__all__ += ["Executor", "InProcessExecutor", "RayExecutor", "make_executor"]
