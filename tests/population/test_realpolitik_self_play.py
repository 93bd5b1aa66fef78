"""Self-play on realpolitik, on both backends: the JAX engine and the host `RealpolitikEnv`.

The two share the environment contract's spec (observations, K order slots, actions), so one
network architecture and one set of parameters serve both; `train` picks the backend from the
game string ("realpolitik_jax(...)": JAX, "realpolitik(...)": host).
"""

import dataclasses

import jax
import numpy as np

from detente.agents import PPOConfig
from detente.games import jax_games
from detente.games.realpolitik import RealpolitikEnv
from detente.population.jax_self_play import train
from detente.population.self_play import SelfPlayConfig

CONFIG = SelfPlayConfig(
    game="realpolitik(map=duel,max_years=1)",
    batch_size=8,
    unroll_length=4,
    num_updates=2,
    hidden_sizes=(8,),
    log_every=1,
    ppo=PPOConfig(num_epochs=1, num_minibatches=1),
)


def test_jax_game_has_the_host_env_spec():
    game = jax_games.make("realpolitik_jax(map=duel,max_years=1)")
    host = RealpolitikEnv("duel", 2, max_years=1).spec
    assert dataclasses.replace(game.spec, name=host.name) == host
    assert jax_games.is_registered("realpolitik_jax(map=quartet)")
    assert not jax_games.is_registered("realpolitik(map=duel)")


def test_self_play_on_both_backends():
    host = train(CONFIG, progress=False)
    jax_config = dataclasses.replace(CONFIG, game="realpolitik_jax(map=duel,max_years=1)")
    device = train(jax_config, progress=False)
    assert host.spec.num_slots == device.spec.num_slots == 2  # one step = one phase, K slots
    assert host.env_steps == device.env_steps == 2 * 4 * 8
    shapes = jax.tree.map(np.shape, host.params)
    assert jax.tree.map(np.shape, device.params) == shapes  # one architecture for both
    for leaf in jax.tree.leaves(device.params):
        assert np.all(np.isfinite(leaf))
