"""The core every part of detente uses: the environment contract and its OpenSpiel adapter,
policies as data, exact evaluation, checkpoints and logging."""

from detente.lib.openspiel_env import (
    IllegalActionError,
    ObservationEncoder,
    OpenSpielEnv,
    env_spec_for,
)
from detente.lib.spec import EnvSpec, TimeStep

__all__ = [
    "EnvSpec",
    "IllegalActionError",
    "ObservationEncoder",
    "OpenSpielEnv",
    "TimeStep",
    "env_spec_for",
]
