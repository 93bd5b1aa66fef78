"""Populations and their training loops: naive self-play today; fictitious play, PSRO and the
league build on the same machinery."""

from detente.population.self_play import SelfPlayConfig, SelfPlayResult, train_self_play

__all__ = ["SelfPlayConfig", "SelfPlayResult", "train_self_play"]
