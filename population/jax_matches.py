"""Matches on a JAX game: every profile's games played to the end on the device, in one call.

`play_jax_matches` is `population.matches.play_matches` for a registered JAX game
(`detente.games.jax_games`, e.g. "realpolitik_jax(map=duel,max_years=2)" or "blotto"): the
same seat maps, validation and `MatchResult`s, but the G * B games (B per profile; profile g
gets games [g * B, (g + 1) * B), one group of `agents.act`) are stepped by the game's own
`step` inside one jitted `lax.while_loop` that stops when every game has ended. Acting uses the
stacked parameters of the members involved, so a whole table of match-ups costs one device
call, and the opponents' inference runs in the same compiled program as the games.

Determinism: the result is a function of (game, members' params, profiles, games per profile,
seed). With `init_key, play_key = split(key(seed))`, game b starts from
`init(split(init_key, G * B)[b])`, and step t draws its actions from `fold_in(play_key, t)`'s
first split and the games' chance from its second (the convention of `make_rollout`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from detente.agents import Network, act, stack_params
from detente.games import jax_games
from detente.games.jax_games import JaxGame, to_timestep
from detente.population.jax_rollout import check_network_fits, init_env_states
from detente.population.matches import (
    MatchResult,
    check_match_args,
    check_profiles,
    results_by_profile,
)
from detente.population.members import Population

PRNGKey = jax.Array


def make_match_player(game: JaxGame, network: Network):
    """Builds the jitted player of a batch of games to their end.

    Args:
      game: the JAX game; its `spec.max_steps` bounds the loop.
      network: the network every member's parameters belong to (built for `game.spec`).

    Returns:
      `play(stacked_params, seat_members, key, batch_size) -> (returns, ended)`, jitted with
      `batch_size` static: stacked_params leaves [M, ...], seat_members int32 [G, P] (G divides
      `batch_size`); returns float32 [B, P] summed over each game, ended bool [B]. Actions are
      sampled from the members' masked policies (`agents.act`), so they are always legal.
    """
    spec = game.spec
    step_batch = jax.vmap(game.step)

    def play(stacked_params: Any, seat_members: jax.Array, key: PRNGKey, batch_size: int):
        init_key, play_key = jax.random.split(key)
        state = init_env_states(game.init, init_key, batch_size)

        def unfinished(carry):
            t, state, _ = carry
            ts = to_timestep(state)
            return (t < spec.max_steps) & ~jnp.all(ts.terminated | ts.truncated)

        def one_step(carry):
            t, state, returns = carry
            ts = to_timestep(state)
            act_key, env_key = jax.random.split(jax.random.fold_in(play_key, t))
            actions, _, _ = act(
                network,
                stacked_params,
                seat_members,
                ts.observation,
                ts.legal_action_mask,
                act_key,
                acting=ts.acting,
            )
            state = step_batch(state, actions, jax.random.split(env_key, batch_size))
            return t + 1, state, returns + to_timestep(state).rewards

        returns = jnp.zeros((batch_size, spec.num_players), jnp.float32)
        _, state, returns = jax.lax.while_loop(
            unfinished, one_step, (jnp.zeros((), jnp.int32), state, returns)
        )
        ts = to_timestep(state)
        return returns, ts.terminated | ts.truncated

    return jax.jit(play, static_argnums=3)


@functools.lru_cache(maxsize=16)
def match_player(name: str, network: Network):
    """(the game, `make_match_player`'s player) for a JAX game string, one per (string, network).

    `jax_games.make` builds new functions on every call, which would compile again for every
    match table of the same game.
    """
    game = jax_games.make(name)
    return game, make_match_player(game, network)


def play_jax_matches(
    game: str | JaxGame,
    network: Network,
    population: Population,
    profiles: Sequence[Sequence[str]],
    *,
    games_per_profile: int,
    seed: int,
) -> list[MatchResult]:
    """Plays `games_per_profile` games of every seat assignment in `profiles` on a JAX game.

    Args:
      game: a registered JAX game string (compiled once per string and network) or a
        `JaxGame`.
      network: the network every member's params belong to (built for the game's spec).
      population: holds the members named in the profiles.
      profiles: G seat maps; profiles[g][p] is the member id playing seat p in profile g.
      games_per_profile: B >= 1 games per profile.
      seed: non-negative seed of the games' chance and the action sampling.

    Returns:
      G `MatchResult`s in the order of `profiles` (returns float64 [B, P]).

    Raises:
      ValueError: an unknown game string, a network built for another spec, malformed or
        unknown seat maps, or bad `games_per_profile`/`seed`.
      RuntimeError: a game did not end within `spec.max_steps` steps (a game that breaks the
        contract's bound).
    """
    if isinstance(game, str):
        jax_game, play = match_player(game, network)
    elif isinstance(game, JaxGame):
        jax_game, play = game, make_match_player(game, network)
    else:
        raise TypeError(f"game must be a JAX game string or a JaxGame, got {type(game).__name__}")
    spec = jax_game.spec
    check_network_fits(network, spec)
    profiles = check_profiles(population, profiles, spec.num_players)
    check_match_args(games_per_profile, seed)
    games_per_profile = int(games_per_profile)
    order = {m: i for i, m in enumerate(population.ids)}
    involved = sorted({m for profile in profiles for m in profile}, key=order.__getitem__)
    position = {m: i for i, m in enumerate(involved)}
    stacked = stack_params([population[m].params for m in involved])
    seat_members = jnp.asarray([[position[m] for m in profile] for profile in profiles], jnp.int32)
    returns, ended = play(
        stacked, seat_members, jax.random.key(int(seed)), len(profiles) * games_per_profile
    )
    if not bool(jnp.all(ended)):
        raise RuntimeError(f"{game!r}: games did not end within max_steps={spec.max_steps}")
    returns = np.asarray(returns, np.float64)
    return results_by_profile(profiles, returns, games_per_profile, int(seed))
