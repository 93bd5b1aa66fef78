"""Fixtures shared by the agents tests."""

import pytest

from detente.agents import make_policy_value_network
from detente.lib.spec import EnvSpec


@pytest.fixture(scope="session")
def small_network():
    """A factory: `small_network(num_players, obs_shape, num_slots, num_actions)` is the MLP
    (8,) policy/value network of a simultaneous zero-sum test spec of those sizes."""

    def make(num_players, obs_shape, num_slots, num_actions):
        spec = EnvSpec(
            name="test",
            num_players=num_players,
            obs_shape=obs_shape,
            num_slots=num_slots,
            num_actions=num_actions,
            max_steps=4,
            symmetric=True,
            utility="zero_sum",
            dynamics="simultaneous",
            chance=False,
        )
        return make_policy_value_network(spec, hidden_sizes=(8,))

    return make
