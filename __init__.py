"""detente: multi-agent reinforcement learning for mixed-motive games.

Subpackages: `detente.lib` (environment contract, OpenSpiel adapter, evaluation maths,
checkpoints, logging), `detente.games` (registry and game definitions), `detente.agents`
(haiku networks, learners, acting), `detente.population` (self-play and population
training), `detente.experiments` (named configs, entry points, the CLI).
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
