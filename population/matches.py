"""Matches: B games of a game between population members, with an explicit seat map.

`play_matches` plays several seat assignments ("profiles") at once: profile g gets the games
[g * B, (g + 1) * B) of one `OpenSpielEnv` batch and every step is one `agents.act` call on the
stacked parameters of the members involved, so many match-ups cost one device call per step.
Every seat map is validated before anything is played: wrong number of seats and unknown member
ids fail naming the profile and the bad value.

Determinism: the result is a function of (game, members' params, profiles, games per profile,
seed, max_steps). Game b of the batch draws its chance events from (seed, b) (see
`lib.openspiel_env`) and actions from `jax.random.fold_in(key(seed), t)` at step t.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import pyspiel

from detente.agents import Network, stack_params
from detente.games import load
from detente.lib import OpenSpielEnv
from detente.population.host_rollout import play_to_end
from detente.population.members import Population
from detente.population.payoffs import MatchRecord


@dataclasses.dataclass(frozen=True)
class MatchResult:
    """One seat assignment's games.

    Attributes:
      members: N member ids, members[p] played seat p.
      returns: float [B, N], each game's return of every seat.
      mean_returns: float [N], returns averaged over the B games.
      seed: the seed of the batch the games were played in.
    """

    members: tuple[str, ...]
    returns: np.ndarray
    mean_returns: np.ndarray
    seed: int

    def record(self) -> MatchRecord:
        """The result as a `MatchRecord` for a `PayoffStore`."""
        return MatchRecord.from_games(self.members, self.returns, self.seed)


def _as_game(game: pyspiel.Game | str) -> pyspiel.Game:
    if isinstance(game, str):
        return load(game)
    if not isinstance(game, pyspiel.Game):
        raise TypeError(f"game must be a game string or a pyspiel.Game, got {type(game).__name__}")
    return game


def check_profiles(
    population: Population, profiles: Sequence[Sequence[str]], num_players: int
) -> list[tuple[str, ...]]:
    """Validates seat maps: each profile names N known member ids.

    Returns:
      The profiles as tuples.

    Raises:
      ValueError: no profile, a profile with the wrong number of seats, or an unknown id.
    """
    if isinstance(profiles, (str, bytes)) or not isinstance(profiles, Sequence) or not profiles:
        raise ValueError(
            "profiles must be a non-empty sequence of seat maps (one member id per seat), "
            f"got {profiles!r}"
        )
    checked = []
    for g, profile in enumerate(profiles):
        if isinstance(profile, (str, bytes)) or not isinstance(profile, Sequence):
            raise ValueError(
                f"profile {g} must be a sequence of {num_players} member ids, got {profile!r}"
            )
        profile = tuple(profile)
        if len(profile) != num_players:
            raise ValueError(
                f"profile {g} {profile} has {len(profile)} seats; the game has {num_players}"
            )
        population.check_ids(profile, f"profile {g} {profile}")
        checked.append(profile)
    return checked


def check_match_args(games_per_profile: int, seed: int) -> None:
    """Raises ValueError unless `games_per_profile` >= 1 and `seed` >= 0 are integers."""
    if (
        isinstance(games_per_profile, bool)
        or not isinstance(games_per_profile, (int, np.integer))
        or games_per_profile < 1
    ):
        raise ValueError(f"games_per_profile must be a positive integer, got {games_per_profile!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")


def results_by_profile(
    profiles: Sequence[tuple[str, ...]], returns: np.ndarray, games_per_profile: int, seed: int
) -> list[MatchResult]:
    """Cuts a batch's returns [G * B, P] into one `MatchResult` per profile (B games each)."""
    results = []
    for g, profile in enumerate(profiles):
        rows = returns[g * games_per_profile : (g + 1) * games_per_profile]
        results.append(
            MatchResult(members=profile, returns=rows, mean_returns=rows.mean(axis=0), seed=seed)
        )
    return results


def play_matches(
    game: pyspiel.Game | str,
    network: Network,
    population: Population,
    profiles: Sequence[Sequence[str]],
    *,
    games_per_profile: int,
    seed: int,
    max_steps: int | None = None,
) -> list[MatchResult]:
    """Plays `games_per_profile` games of every seat assignment in `profiles`, batched.

    Args:
      game: a game string or pyspiel game.
      network: the network every member's params belong to.
      population: holds the members named in the profiles.
      profiles: G seat maps; profiles[g][p] is the member id playing seat p in profile g.
      games_per_profile: B >= 1 games per profile.
      seed: non-negative seed of chance events and action sampling.
      max_steps: truncate games after this many steps (None: the rules end games).

    Returns:
      G `MatchResult`s, in the order of `profiles`.

    Raises:
      ValueError: malformed or unknown seat maps, or bad `games_per_profile`/`seed`.
    """
    game = _as_game(game)
    num_players = game.num_players()
    profiles = check_profiles(population, profiles, num_players)
    check_match_args(games_per_profile, seed)
    num_groups = len(profiles)
    env = OpenSpielEnv(game, num_groups * int(games_per_profile), max_steps=max_steps)
    order = {m: i for i, m in enumerate(population.ids)}
    involved = sorted({m for profile in profiles for m in profile}, key=order.__getitem__)
    position = {m: i for i, m in enumerate(involved)}
    stacked = stack_params([population[m].params for m in involved])
    seat_members = jnp.asarray([[position[m] for m in profile] for profile in profiles], jnp.int32)
    ts = env.reset(seed=int(seed))
    returns, ended = play_to_end(
        env, ts, network, stacked, seat_members, jax.random.key(int(seed)), env.spec.max_steps
    )
    if not ended:  # pragma: no cover - the adapter bounds episodes by spec.max_steps
        raise RuntimeError(f"{game}: games did not end within max_steps={env.spec.max_steps}")
    return results_by_profile(profiles, returns, int(games_per_profile), int(seed))


def play_match(
    game: pyspiel.Game | str,
    network: Network,
    population: Population,
    seats: Sequence[str],
    *,
    num_games: int,
    seed: int,
    max_steps: int | None = None,
) -> MatchResult:
    """Plays `num_games` games with member `seats[p]` at seat p; see `play_matches`."""
    return play_matches(
        game,
        network,
        population,
        [seats],
        games_per_profile=num_games,
        seed=seed,
        max_steps=max_steps,
    )[0]
