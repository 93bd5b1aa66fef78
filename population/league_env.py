"""The league's environments and matches: `RealpolitikEnv` for realpolitik, `JaxGameEnv` for
JAX-only games, OpenSpiel otherwise.

Realpolitik is learnt on `games.realpolitik.RealpolitikEnv` (one step = one phase, K > 1 order
slots), whose observations differ from the OpenSpiel game's unit-by-unit sub-steps. A JAX game
that OpenSpiel does not know (`is_jax_only`: "realpolitik_jax(...)") is learnt on
`games.jax_games.host_env.JaxGameEnv`, its own jitted engine stepped from the host; on
realpolitik that is the same game as `RealpolitikEnv` (the same spec, observations and masks;
rewards bit for bit on the 2-power board, to float32 rounding on larger ones). Every other game
runs on `lib.OpenSpielEnv` (JAX games that OpenSpiel also has, `matrix_*` and `blotto`,
included). All three share
`reset(seed)`, `step(actions [B, P, K])`, `spec` and `batch_size`, so the league's learners
(`train_against_opponents(env=...)`) and its matches (`play_env_matches`) are written once.

`play_env_matches` is `population.matches.play_matches` on `RealpolitikEnv` or `JaxGameEnv`
(the same seat maps; profiles are played in batches of `PROFILES_PER_BATCH`, batch c seeded
from `SeedSequence([seed, c])`, padded to fixed shapes so that acting and the engine compile
once); for OpenSpiel games it calls `play_matches`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from detente.agents import Network, stack_params
from detente.games import is_registered, jax_games, load
from detente.games.jax_games.host_env import JaxGameEnv
from detente.games.realpolitik import RealpolitikEnv
from detente.lib import EnvSpec, OpenSpielEnv, env_spec_for
from detente.population.host_rollout import play_to_end
from detente.population.jax_matches import match_player
from detente.population.matches import (
    MatchResult,
    check_match_args,
    check_profiles,
    play_matches,
)
from detente.population.members import Population

PROFILES_PER_BATCH = 8


def is_realpolitik(game: str) -> bool:
    """Whether a game string names the realpolitik family (learnt on `RealpolitikEnv`)."""
    return game.split("(", 1)[0].strip() == "realpolitik"


def is_jax_only(game: str) -> bool:
    """Whether a game string names a registered JAX game that `games.load` does not know (e.g.
    "realpolitik_jax(map=classic)"), learnt and played on `JaxGameEnv`."""
    return jax_games.is_registered(game) and not is_registered(game)


GAME_BACKENDS = ("host", "jax")


def check_game_backend(owner: str, backend: str, game: str) -> None:
    """Checks a population loop's `backend` for `game`: "host", or "jax" for a JAX-only game.

    Raises:
      ValueError: naming the bad value and what is accepted.
    """
    if backend not in GAME_BACKENDS:
        raise ValueError(f"{owner}.backend must be one of {GAME_BACKENDS}, got {backend!r}")
    if backend == "jax" and not is_jax_only(game):
        raise ValueError(
            f"{owner}.backend='jax' needs a JAX-only game (e.g. "
            f"'realpolitik_jax(map=duel,max_years=2)'), got {game!r}"
        )


def uses_league_env(game: str) -> bool:
    """Whether the league learns `game` on its own environment (`RealpolitikEnv` or
    `JaxGameEnv`) rather than on `OpenSpielEnv`."""
    return is_realpolitik(game) or is_jax_only(game)


def env_factory(game: str, max_steps: int | None = None) -> Callable[[int, bool], Any]:
    """`make(batch_size, auto_reset) -> env` for a game string.

    Args:
      game: a game string of `detente.games.load`, e.g. "realpolitik(map=duel,max_years=2)",
        or of a JAX-only game (`is_jax_only`), e.g. "realpolitik_jax(map=duel,max_years=2)".
      max_steps: truncation of OpenSpiel games; None for realpolitik, whose horizon is its
        `max_years` parameter, and for JAX games (never truncated).

    Raises:
      ValueError: an unknown game or bad parameters (from `games.load` or
        `games.jax_games.make`), or `max_steps` for a realpolitik or JAX game.
    """
    if is_jax_only(game):
        jax_games.make(game)  # fails early, naming the bad parameter
        if max_steps is not None:
            raise ValueError(
                f"max_steps={max_steps} does not apply to {game!r}: JAX games end by their own "
                "rules and are never truncated; leave max_steps None"
            )

        def make_jax(batch_size: int, auto_reset: bool) -> JaxGameEnv:
            return JaxGameEnv(game, batch_size, auto_reset=auto_reset)

        return make_jax
    pyspiel_game = load(game)
    if is_realpolitik(game):
        if max_steps is not None:
            raise ValueError(
                f"max_steps={max_steps} does not apply to {game!r}: realpolitik games end by "
                "their max_years parameter; leave max_steps None"
            )
        params = pyspiel_game.get_parameters()

        def make_realpolitik(batch_size: int, auto_reset: bool) -> RealpolitikEnv:
            return RealpolitikEnv(
                params["map"],
                batch_size,
                scoring=params["scoring"],
                max_years=int(params["max_years"]),
                random_end_prob=float(params["random_end_prob"]),
                random_end_after=int(params["random_end_after"]),
                auto_reset=auto_reset,
            )

        return make_realpolitik

    def make_openspiel(batch_size: int, auto_reset: bool) -> OpenSpielEnv:
        return OpenSpielEnv(pyspiel_game, batch_size, max_steps=max_steps, auto_reset=auto_reset)

    return make_openspiel


def league_spec(game: str, max_steps: int | None = None) -> EnvSpec:
    """The `EnvSpec` the league's networks are built from (that of `env_factory`'s envs)."""
    if uses_league_env(game):
        return env_factory(game, max_steps)(1, False).spec
    return env_spec_for(load(game), max_steps=max_steps)


def play_env_matches(
    game: str,
    network: Network,
    population: Population,
    profiles: Sequence[Sequence[str]],
    *,
    games_per_profile: int,
    seed: int,
    max_steps: int | None = None,
    on_device: bool = False,
) -> list[MatchResult]:
    """`play_matches` on the league's environment of `game` (see the module docstring).

    Args:
      on_device: for a JAX-only game, play each batch of profiles on the device
        (`jax_matches.match_player`: one jitted `lax.while_loop` per batch, the same padded
        shapes) instead of stepping `JaxGameEnv` from the host. Other keys, other games.

    Raises:
      ValueError: malformed or unknown seat maps, bad `games_per_profile` or `seed`, or
        `on_device` for a game that is not JAX-only.
    """
    if on_device and not is_jax_only(game):
        raise ValueError(
            f"on_device needs a JAX-only game (e.g. 'realpolitik_jax(...)'), got {game!r}"
        )
    if not uses_league_env(game):
        return play_matches(
            game,
            network,
            population,
            profiles,
            games_per_profile=games_per_profile,
            seed=seed,
            max_steps=max_steps,
        )
    check_match_args(games_per_profile, seed)
    make = env_factory(game)
    num_players = make(1, False).spec.num_players
    profiles = check_profiles(population, profiles, num_players)
    play = _device_player(game, network) if on_device else _host_player(make, network)
    results = []
    for chunk, begin in enumerate(range(0, len(profiles), PROFILES_PER_BATCH)):
        part = profiles[begin : begin + PROFILES_PER_BATCH]
        results += _play_chunk(play, population, part, games_per_profile, _seed(seed, chunk))
    return results


def _seed(*entropy: int) -> int:
    return int(np.random.SeedSequence([int(e) for e in entropy]).generate_state(1)[0])


def _host_player(make, network):
    """`play(stacked, seat_members, seed, batch) -> returns [B, P]` on the host environment."""

    def play(stacked, seat_members, seed, batch):
        env = make(batch, False)
        ts = env.reset(seed=int(seed))
        returns, _ = play_to_end(
            env, ts, network, stacked, seat_members, jax.random.key(int(seed)), env.spec.max_steps
        )
        return returns

    return play


def _device_player(game, network):
    """`play(stacked, seat_members, seed, batch) -> returns [B, P]`, the games on the device."""
    _, player = match_player(game, network)

    def play(stacked, seat_members, seed, batch):
        returns, ended = player(stacked, seat_members, jax.random.key(int(seed)), batch)
        if not bool(jnp.all(ended)):  # pragma: no cover - JAX games end within max_steps
            raise RuntimeError(f"{game!r}: games did not end within the game's max_steps")
        return np.asarray(returns, np.float64)

    return play


def _play_chunk(play, population, profiles, games_per_profile, seed):
    """One batch of at most `PROFILES_PER_BATCH` profiles, padded to fixed shapes."""
    # Pad the profiles and the stacked members to fixed sizes (repeating the first) so that
    # acting compiles for a handful of shapes, not once per call.
    padded = list(profiles) + [profiles[0]] * (PROFILES_PER_BATCH - len(profiles))
    num_players = len(profiles[0])
    order = {m: i for i, m in enumerate(population.ids)}
    involved = sorted({m for profile in profiles for m in profile}, key=order.__getitem__)
    position = {m: i for i, m in enumerate(involved)}
    size = PROFILES_PER_BATCH * num_players  # the most members a batch can involve
    stacked = stack_params(
        [population[m].params for m in involved + involved[:1] * (size - len(involved))]
    )
    seat_members = jnp.asarray([[position[m] for m in profile] for profile in padded], jnp.int32)
    returns = play(stacked, seat_members, seed, PROFILES_PER_BATCH * games_per_profile)
    return [
        MatchResult(
            members=profile,
            returns=returns[g * games_per_profile : (g + 1) * games_per_profile],
            mean_returns=returns[g * games_per_profile : (g + 1) * games_per_profile].mean(0),
            seed=int(seed),
        )
        for g, profile in enumerate(profiles)
    ]
