"""Reproducible leaderboards: a frozen pool, a seeded match schedule, logged matches, ratings.

A leaderboard run (docs/leaderboards.md):

1. **Pool.** Members are frozen networks (params + the MLP's hidden sizes) or built-in
   baselines (`uniform_random`). Each is identified by the SHA-256 content hash of its params
   (`detente.lib.content_hash`; a fixed hash for built-ins). A pool manifest (`pool.json`) lists
   id, kind, checkpoint and hash; loading it recomputes every hash and fails naming the member
   whose parameters changed. A directory of `detente.lib.checkpoint` checkpoints (e.g. self-play
   run directories) is also a pool; its hashes are computed on load and the manifest is written
   beside the leaderboard.
2. **Schedule.** `make_schedule` derives every match from the seed: which member sits in which
   seat, how many games, and the seed of each match. Two-player games: every pair of members in
   both seatings; more players: seeded random seatings.
3. **Matches.** A match of n games is one batch of the league's host environment
   (`league_env.env_factory`: `RealpolitikEnv` for realpolitik game strings, so league
   populations are rated on the observations they learnt on; the OpenSpiel adapter otherwise)
   reset with the match's seed; every seat is played by its member through
   `detente.agents.act` (one call per network architecture per step, all members of an
   architecture stacked), sampling with keys derived from the match's seed. A match depends
   only on its seed and its members, so it can be replayed alone.
4. **Log.** One JSON line per match (`matches.jsonl`: match index, seed, member per seat, their
   hash prefixes, per-game per-seat returns) is appended and flushed to disk as soon as the
   match ends. A run that is interrupted keeps its finished matches; running it again with the
   same arguments and output directory checks the log against the schedule, drops a torn last
   line, plays only the missing matches and produces the same files as an uninterrupted run.
5. **Ratings.** Bradley-Terry/Elo with bootstrap intervals (`detente.lib.leaderboard.rate`),
   written as `leaderboard.json` and `leaderboard.md` with no timestamps or timings: the same
   pool, game and arguments give byte-identical files.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import json
import math
import os
import pathlib
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pyspiel

from detente.agents import PPOConfig, act, make_policy_value_network, make_ppo, stack_params
from detente.agents.networks import Network
from detente.lib import content_hash, env_spec_for
from detente.lib.checkpoint import CheckpointError, load_checkpoint, load_metadata, save_checkpoint
from detente.lib.leaderboard import Ratings, rate
from detente.population.league_env import env_factory, league_spec
from detente.population.members import INDEX_FILE, Population

__all__ = [
    "LEADERBOARD_JSON",
    "LEADERBOARD_MD",
    "MATCH_LOG",
    "PAYOFFS_JSON",
    "POOL_MANIFEST",
    "UNIFORM_RANDOM",
    "LeaderboardResult",
    "MatchSpec",
    "Pool",
    "PoolMember",
    "load_pool",
    "make_schedule",
    "pairwise_win_rates",
    "network_member",
    "play_match",
    "run_leaderboard",
    "uniform_member",
    "uniform_params",
    "write_pool",
]

POOL_MANIFEST = "pool.json"
MATCH_LOG = "matches.jsonl"
LEADERBOARD_JSON = "leaderboard.json"
LEADERBOARD_MD = "leaderboard.md"
PAYOFFS_JSON = "payoffs.json"  # pairwise win rates, the format `detente report`/`evaluate` read
UNIFORM_RANDOM = "uniform_random"
NETWORK = "network"
_KINDS = (NETWORK, UNIFORM_RANDOM)
_POOL_FORMAT = "detente.pool/1"
_LEADERBOARD_FORMAT = "detente.leaderboard/1"
_HASH_PREFIX = 12
# A built-in's hash names the built-in: it has no parameters, and its behaviour is fixed by code.
_BUILTIN_HASHES = {UNIFORM_RANDOM: hashlib.sha256(b"detente.builtin/uniform_random").hexdigest()}


# ----------------------------------------------------------------------------- pool


@dataclasses.dataclass(frozen=True)
class PoolMember:
    """One frozen member of a pool.

    Attributes:
      id: unique name in the pool.
      kind: "network" (an MLP policy/value network) or "uniform_random" (built-in baseline).
      content_hash: SHA-256 of the params (`detente.lib.content_hash`), or the built-in's fixed
        hash.
      hidden_sizes: the network's torso widths (None for built-ins).
      params: the network's parameters (None for built-ins).
    """

    id: str
    kind: str
    content_hash: str
    hidden_sizes: tuple[int, ...] | None = None
    params: Any = None

    def __post_init__(self):
        if not isinstance(self.id, str) or not self.id or any(c in self.id for c in "\n\r\t"):
            raise ValueError(f"member id must be a non-empty single-line string, got {self.id!r}")
        if self.kind not in _KINDS:
            raise ValueError(f"member {self.id!r}: kind {self.kind!r} is not one of {_KINDS}")
        if self.kind == NETWORK and (self.params is None or self.hidden_sizes is None):
            raise ValueError(f"network member {self.id!r} needs params and hidden_sizes")


def network_member(member_id: str, params: Any, hidden_sizes: Sequence[int]) -> PoolMember:
    """A network member (MLP of `hidden_sizes`, see `make_policy_value_network`) with its hash."""
    params = jax.tree.map(np.asarray, params)
    return PoolMember(
        id=member_id,
        kind=NETWORK,
        content_hash=content_hash(params),
        hidden_sizes=tuple(int(h) for h in hidden_sizes),
        params=params,
    )


def uniform_member(member_id: str = UNIFORM_RANDOM) -> PoolMember:
    """The built-in uniform-random baseline (uniform over legal actions)."""
    return PoolMember(
        id=member_id, kind=UNIFORM_RANDOM, content_hash=_BUILTIN_HASHES[UNIFORM_RANDOM]
    )


@dataclasses.dataclass(frozen=True)
class Pool:
    """A frozen pool: members in manifest order.

    Attributes:
      members: the members; ids are distinct.
      source: where the pool was loaded from (informational; not part of its identity).
    """

    members: tuple[PoolMember, ...]
    source: str = ""

    def __post_init__(self):
        ids = [m.id for m in self.members]
        if not ids:
            raise ValueError("a pool needs at least one member")
        if len(set(ids)) != len(ids):
            raise ValueError(f"pool member ids must be distinct; repeated: {_repeated(ids)}")

    @property
    def ids(self) -> tuple[str, ...]:
        """Member ids in manifest order."""
        return tuple(m.id for m in self.members)

    @property
    def pool_hash(self) -> str:
        """SHA-256 over the (id, content hash) list: the pool's identity."""
        text = "\n".join(f"{m.id}\t{m.content_hash}" for m in self.members)
        return hashlib.sha256(text.encode()).hexdigest()

    def member(self, member_id: str) -> PoolMember:
        """The member with id `member_id`."""
        for m in self.members:
            if m.id == member_id:
                return m
        raise ValueError(f"unknown member {member_id!r}; the pool has {list(self.ids)}")

    def with_uniform(self) -> Pool:
        """This pool plus the uniform-random baseline, unless it already has one."""
        if any(m.kind == UNIFORM_RANDOM for m in self.members):
            return self
        if UNIFORM_RANDOM in self.ids:
            raise ValueError(f"a network member is named {UNIFORM_RANDOM!r}; rename it")
        return Pool(self.members + (uniform_member(),), self.source)

    def manifest(self) -> dict:
        """The JSON manifest of the pool (checkpoint paths as written by `write_pool`)."""
        rows = []
        for m in self.members:
            row = {"id": m.id, "kind": m.kind, "content_hash": m.content_hash}
            if m.kind == NETWORK:
                row["hidden_sizes"] = list(m.hidden_sizes)
                row["checkpoint"] = f"members/{m.id}"
            rows.append(row)
        return {"format": _POOL_FORMAT, "members": rows}


def _repeated(items: Sequence[str]) -> list[str]:
    return sorted({i for i in items if list(items).count(i) > 1})


def write_pool(directory: str | os.PathLike, pool: Pool | Sequence[PoolMember]) -> pathlib.Path:
    """Saves a pool: each network's params as a checkpoint, plus the manifest `pool.json`.

    Args:
      directory: target directory (created); members go to `directory/members/<id>/`.
      pool: a `Pool` or its members.

    Returns:
      The manifest's path.
    """
    pool = pool if isinstance(pool, Pool) else Pool(tuple(pool))
    directory = pathlib.Path(directory)
    for m in pool.members:
        if m.kind == NETWORK:
            if "/" in m.id or m.id in (".", ".."):
                raise ValueError(f"member id {m.id!r} cannot name a directory; use another id")
            save_checkpoint(
                directory / "members" / m.id,
                m.params,
                {"id": m.id, "hidden_sizes": list(m.hidden_sizes), "content_hash": m.content_hash},
            )
    path = directory / POOL_MANIFEST
    _write_text(path, json.dumps(pool.manifest(), indent=1, sort_keys=True) + "\n")
    return path


@functools.lru_cache(maxsize=64)
def _network(spec, hidden_sizes: tuple[int, ...]) -> Network:
    # One Network object per (spec, architecture): its jitted functions, and `act` jitted with
    # it as a static argument, then compile once per process instead of once per member or run.
    return make_policy_value_network(spec, hidden_sizes=hidden_sizes)


def _load_params(directory: pathlib.Path, spec, member_id: str) -> tuple[Any, tuple[int, ...]]:
    """Params and hidden sizes from a params checkpoint or a self-play run checkpoint."""
    try:
        metadata = load_metadata(directory)
    except CheckpointError as error:
        raise ValueError(f"member {member_id!r}: {error}") from None
    config = metadata.get("config")
    if isinstance(config, dict) and "ppo" in config and "hidden_sizes" in config:
        kind = "self-play"
        hidden_sizes = tuple(int(h) for h in config["hidden_sizes"])
    elif "hidden_sizes" in metadata:
        kind = "params"
        hidden_sizes = tuple(int(h) for h in metadata["hidden_sizes"])
    else:
        raise ValueError(
            f"member {member_id!r}: checkpoint {directory} records no network (expected "
            "'hidden_sizes' in its metadata, as written by write_pool or self-play)"
        )
    stored_game = metadata.get("game")
    if stored_game is not None and stored_game != spec.name:
        raise ValueError(
            f"member {member_id!r}: checkpoint {directory} was trained on {stored_game!r}, "
            f"not {spec.name!r}"
        )
    network = _network(spec, hidden_sizes)
    params_template = network.init(jax.random.key(0))
    try:
        if kind == "params":
            params, _ = load_checkpoint(directory, params_template)
        else:  # self-play saves (TrainingState, result params); the second is the policy
            ppo = PPOConfig(**config["ppo"])
            state_template = make_ppo(network, ppo)[0](jax.random.key(0))
            (_, params), _ = load_checkpoint(directory, (state_template, params_template))
    except CheckpointError as error:
        raise ValueError(f"member {member_id!r}: {error}") from None
    return jax.tree.map(np.asarray, params), hidden_sizes


def _population_directory(path: pathlib.Path) -> pathlib.Path | None:
    """The saved `Population` at `path`, or in a run directory's checkpoint, if any."""
    for candidate in (path, path / "population", path / "checkpoint" / "population"):
        if (candidate / INDEX_FILE).is_file():
            return candidate
    return None


def _population_hidden_sizes(directory: pathlib.Path, member_id: str) -> tuple[int, ...]:
    """A population's MLP widths from the run state saved beside it (PSRO, league)."""
    state = directory.parent / "state.json"
    try:
        config = json.loads(state.read_text())["config"]
        return tuple(int(h) for h in config["hidden_sizes"])
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError):
        raise ValueError(
            f"population {str(directory)!r}: cannot tell the members' network (no run state "
            f"with config.hidden_sizes at {str(state)!r}); pass hidden_sizes= to load_pool "
            f"(member {member_id!r})"
        ) from None


def _load_population(
    directory: pathlib.Path, spec, hidden_sizes: Sequence[int] | None
) -> tuple[PoolMember, ...]:
    """Every member of a saved `Population` (population/members.py), hashes verified."""
    try:
        index = json.loads((directory / INDEX_FILE).read_text())
        first = index["members"][0]["id"]
    except (OSError, json.JSONDecodeError, KeyError, IndexError, TypeError):
        raise ValueError(
            f"population {str(directory)!r}: unreadable or empty {INDEX_FILE}"
        ) from None
    sizes = (
        tuple(int(h) for h in hidden_sizes)
        if hidden_sizes is not None
        else _population_hidden_sizes(directory, first)
    )
    template = _network(spec, sizes).init(jax.random.key(0))
    try:
        population = Population.load(directory, template)
    except (CheckpointError, ValueError) as error:
        raise ValueError(
            f"population {str(directory)!r} cannot be loaded as {spec.name} members with "
            f"hidden sizes {list(sizes)}: {error}"
        ) from None
    return tuple(
        network_member(m.id, jax.tree.map(np.asarray, m.params), sizes) for m in population
    )


def load_pool(
    path: str | os.PathLike,
    game: str | pyspiel.Game,
    *,
    hidden_sizes: Sequence[int] | None = None,
) -> Pool:
    """Loads a pool from a manifest or a directory, verifying every member's content hash.

    Args:
      path: a manifest file (`pool.json`), a directory holding one, a saved `Population`
        (`population/members.py`: a directory with `index.json`, or a PSRO/league run
        directory holding `checkpoint/population/`; member ids are the population's), or a
        directory of checkpoints (each sub-directory with a `metadata.json`, at depth 1 or 2;
        the member id is the relative path, minus a final "checkpoint" component; a self-play
        run directory itself is a pool of one, named after the directory).
      game: the game the members play (their networks are built from its `EnvSpec`; for a
        realpolitik game string, that of `RealpolitikEnv`, the league's environment).
      hidden_sizes: the MLP widths of a saved `Population`'s members (default: the
        `config.hidden_sizes` of the run's `state.json` beside the population).

    Returns:
      The `Pool`, in manifest order (directory scans: sorted by id).

    Raises:
      ValueError: malformed manifest, missing or corrupt checkpoint, a checkpoint for another
        game or network, or a member whose params no longer have the manifest's hash.
    """
    path = pathlib.Path(path)
    # The members' networks see the league's environment: RealpolitikEnv for realpolitik.
    spec = league_spec(game) if isinstance(game, str) else env_spec_for(game)
    if path.is_dir() and (path / POOL_MANIFEST).is_file():
        path = path / POOL_MANIFEST
    if path.is_file():
        return _load_manifest(path, spec)
    population_dir = _population_directory(path) if path.is_dir() else None
    if population_dir is not None:
        return Pool(_load_population(population_dir, spec, hidden_sizes), str(path))
    if not path.is_dir():
        raise ValueError(f"pool {str(path)!r} is neither a manifest file nor a directory")
    found = sorted(
        {
            p.parent
            for p in list(path.glob("*/metadata.json")) + list(path.glob("*/*/metadata.json"))
        }
    )
    if not found:
        raise ValueError(
            f"pool directory {str(path)!r} holds no {POOL_MANIFEST} and no checkpoints "
            "(sub-directories with metadata.json)"
        )
    members = []
    for directory in found:
        parts = directory.relative_to(path).parts
        if parts[-1] == "checkpoint":  # a self-play run directory: name it after the run
            parts = parts[:-1] or (path.resolve().name,)
        member_id = "/".join(parts)
        params, hidden_sizes = _load_params(directory, spec, member_id)
        members.append(network_member(member_id, params, hidden_sizes))
    return Pool(tuple(members), str(path))


def _load_manifest(path: pathlib.Path, spec) -> Pool:
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as error:
        raise ValueError(f"pool manifest {str(path)!r} is not readable JSON: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != _POOL_FORMAT:
        raise ValueError(
            f"pool manifest {str(path)!r}: 'format' must be {_POOL_FORMAT!r}, got "
            f"{manifest.get('format') if isinstance(manifest, dict) else manifest!r}"
        )
    rows = manifest.get("members")
    if not isinstance(rows, list) or not rows:
        raise ValueError(f"pool manifest {str(path)!r}: 'members' must be a non-empty list")
    members = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not {"id", "kind", "content_hash"} <= set(row):
            raise ValueError(
                f"pool manifest {str(path)!r}: member {i} must have id, kind and content_hash, "
                f"got {row!r}"
            )
        member_id, kind, expected = row["id"], row["kind"], row["content_hash"]
        if kind == UNIFORM_RANDOM:
            member = uniform_member(member_id)
        elif kind == NETWORK:
            if "checkpoint" not in row:
                raise ValueError(f"pool manifest: network member {member_id!r} has no checkpoint")
            directory = path.parent / row["checkpoint"]
            params, hidden_sizes = _load_params(directory, spec, member_id)
            if "hidden_sizes" in row and tuple(row["hidden_sizes"]) != hidden_sizes:
                raise ValueError(
                    f"member {member_id!r}: manifest says hidden_sizes {row['hidden_sizes']}, "
                    f"checkpoint {directory} says {list(hidden_sizes)}"
                )
            member = network_member(member_id, params, hidden_sizes)
        else:
            raise ValueError(f"pool manifest: member {member_id!r} has unknown kind {kind!r}")
        if member.content_hash != expected:
            raise ValueError(
                f"member {member_id!r} changed: the manifest {str(path)!r} records content hash "
                f"{expected[:_HASH_PREFIX]}..., its parameters now hash to "
                f"{member.content_hash[:_HASH_PREFIX]}...; this is not the frozen pool the "
                "manifest describes"
            )
        members.append(member)
    return Pool(tuple(members), str(path))


def uniform_params(network: Network, key: jax.Array | None = None) -> Any:
    """Parameters of `network` whose policy is exactly uniform over legal actions.

    The policy head's weights and bias are zeroed, so every legal logit is 0 and the masked
    softmax is uniform; this lets a uniform baseline be stacked with trained members and play
    through the same `act` call. Checked on a probe input.

    Raises:
      ValueError: if the network has no parameters named "policy_head" that do this.
    """
    params = network.init(jax.random.key(0) if key is None else key)

    def zero_head(path, leaf):
        return jnp.zeros_like(leaf) if "policy_head" in jax.tree_util.keystr(path) else leaf

    params = jax.tree_util.tree_map_with_path(zero_head, params)
    probe = jnp.ones((1,) + network.obs_shape, jnp.float32)
    mask = jnp.ones((1, network.num_slots, network.num_actions), bool)
    logits, _ = network.apply(params, probe, mask)
    if not bool(jnp.all(logits == 0.0)):
        raise ValueError(
            "cannot build uniform parameters: the network's policy head is not zeroable"
        )
    return jax.tree.map(np.asarray, params)


# ----------------------------------------------------------------------------- schedule


class MatchSpec(NamedTuple):
    """One scheduled match: `num_games` games with the same seating, from one seed.

    Attributes:
      index: the match's position in the schedule.
      members: the member id in each seat, [P].
      num_games: games in the match (one batch of the adapter).
      seed: the match's seed (chance events and action sampling).
    """

    index: int
    members: tuple[str, ...]
    num_games: int
    seed: int


def _match_seed(seed: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def _check_positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def make_schedule(
    ids: Sequence[str],
    num_players: int,
    *,
    seed: int,
    games_per_pair: int,
    games_per_match: int = 32,
) -> list[MatchSpec]:
    """The matches of a leaderboard, derived from the seed only.

    Two players: for every pair of members (manifest order) and each of the two seatings,
    ceil(games_per_pair / 2) games, cut into matches of at most `games_per_match` games.
    P > 2 players: ceil(games_per_pair * C(S, 2) / C(P, 2)) games in matches of
    `games_per_match` games, each match seating a seeded random choice of members (distinct
    when S >= P), so that every pair meets about `games_per_pair` times on average.

    Args:
      ids: the S >= 2 member ids.
      num_players: P >= 2.
      seed: non-negative schedule seed; match k's seed is derived from (seed, k).
      games_per_pair: games each pair of members plays (two players: both seatings together).
      games_per_match: the most games in one match (one batch).

    Returns:
      The `MatchSpec`s in playing order.
    """
    ids = tuple(ids)
    if len(ids) < 2:
        raise ValueError(f"a schedule needs at least 2 members, got {list(ids)}")
    if num_players < 2:
        raise ValueError(f"leaderboards need games of at least 2 players, got {num_players}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    games_per_pair = _check_positive("games_per_pair", games_per_pair)
    games_per_match = _check_positive("games_per_match", games_per_match)
    seatings: list[tuple[tuple[str, ...], int]] = []
    if num_players == 2:
        per_seating = math.ceil(games_per_pair / 2)
        for i in range(len(ids)):
            for j in range(i + 1, len(ids)):
                for seats in ((ids[i], ids[j]), (ids[j], ids[i])):
                    left = per_seating
                    while left:
                        seatings.append((seats, min(left, games_per_match)))
                        left -= seatings[-1][1]
    else:
        rng = np.random.default_rng([seed, 1])
        total = math.ceil(games_per_pair * math.comb(len(ids), 2) / math.comb(num_players, 2))
        while total > 0:
            if len(ids) >= num_players:
                chosen = rng.permutation(len(ids))[:num_players]
            else:
                chosen = rng.integers(0, len(ids), num_players)
                while len(set(chosen.tolist())) < 2:
                    chosen = rng.integers(0, len(ids), num_players)
            count = min(total, games_per_match)
            seatings.append((tuple(ids[k] for k in chosen), count))
            total -= count
    return [
        MatchSpec(index=k, members=seats, num_games=n, seed=_match_seed(int(seed), k))
        for k, (seats, n) in enumerate(seatings)
    ]


# ----------------------------------------------------------------------------- playing


_act = jax.jit(act, static_argnums=0)


class _Players:
    """The pool's members grouped by network architecture, params stacked per group."""

    def __init__(self, pool: Pool, spec):
        sizes = sorted({m.hidden_sizes for m in pool.members if m.kind == NETWORK})
        if not sizes:
            sizes = [()]  # only built-ins: a linear network carries their (zero) heads
        self.groups: list[tuple[Network, Any, dict[str, int]]] = []
        for hidden in sizes:
            network = _network(spec, hidden)
            index, params = {}, []
            for m in pool.members:
                if m.kind == NETWORK and m.hidden_sizes == hidden:
                    index[m.id] = len(params)
                    params.append(m.params)
            if hidden == sizes[0]:  # built-ins ride with the first architecture
                for m in pool.members:
                    if m.kind == UNIFORM_RANDOM:
                        index[m.id] = len(params)
                        params.append(uniform_params(network))
            if params:
                self.groups.append((network, stack_params(params), index))
        self.act = _act


def play_match(
    make_env: Callable[[int, bool], Any],
    players: _Players,
    match: MatchSpec,
) -> np.ndarray:
    """Plays one match and returns each game's per-seat returns, float64 [num_games, P].

    `make_env(batch_size, auto_reset)` builds the host environment (`league_env.env_factory`:
    `RealpolitikEnv` for realpolitik, `OpenSpielEnv` otherwise).
    """
    env = make_env(match.num_games, False)
    num_players = env.spec.num_players
    if len(match.members) != num_players:
        raise ValueError(
            f"match {match.index} seats {len(match.members)} members, the game has "
            f"{num_players} seats"
        )
    ts = env.reset(seed=match.seed)
    key = jax.random.key(match.seed)
    returns = np.zeros((match.num_games, num_players))
    involved = []
    for g, (network, stacked, index) in enumerate(players.groups):
        seats = [s for s, member in enumerate(match.members) if member in index]
        if seats:
            members = [[index.get(member, 0) for member in match.members]]
            involved.append((g, network, stacked, jnp.asarray(members, jnp.int32), seats))
    step = 0
    while not np.all(ts.terminated | ts.truncated):
        actions = np.zeros((match.num_games, num_players, env.spec.num_slots), np.int32)
        step_key = jax.random.fold_in(key, step)
        for g, network, stacked, seat_members, seats in involved:
            chosen, _, _ = players.act(
                network,
                stacked,
                seat_members,
                ts.observation,
                ts.legal_action_mask,
                jax.random.fold_in(step_key, g),
                acting=ts.acting,
            )
            actions[:, seats] = np.asarray(chosen)[:, seats]
        ts = env.step(actions)
        returns += ts.rewards
        step += 1
    return returns


# ----------------------------------------------------------------------------- the run


class LeaderboardResult(NamedTuple):
    """What `run_leaderboard` returns.

    Attributes:
      ratings: the fitted `Ratings` (pool order).
      schedule: the matches.
      played: matches played in this call (the rest came from the existing log).
      out_dir: where the files are.
    """

    ratings: Ratings
    schedule: list[MatchSpec]
    played: int
    out_dir: pathlib.Path


def _write_text(path: pathlib.Path, text: str) -> None:
    """Writes atomically: a reader (or a crash) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp")
    with open(staging, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(staging, path)


def _log_line(match: MatchSpec, pool: Pool, returns: np.ndarray) -> str:
    record = {
        "match": match.index,
        "seed": match.seed,
        "members": list(match.members),
        "hashes": [pool.member(m).content_hash[:_HASH_PREFIX] for m in match.members],
        "num_games": match.num_games,
        "pool": pool.pool_hash[:_HASH_PREFIX],
        "returns": [[round(float(r), 6) + 0.0 for r in game] for game in returns],
    }
    return json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"


def _read_log(path: pathlib.Path, schedule: list[MatchSpec], pool: Pool) -> list[dict]:
    """The log's finished matches; a torn last line is dropped (and cut from the file)."""
    if not path.exists():
        return []
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    records, good_bytes = [], 0
    for number, line in enumerate(lines):
        if not line:
            continue
        last = number == len(lines) - 1  # no newline after it: possibly torn by a crash
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            if last:
                break
            raise ValueError(
                f"{path}: line {number + 1} is not valid JSON; the match log is corrupt"
            ) from None
        if last:
            break  # a complete record is always followed by its newline
        k = len(records)
        expected = schedule[k] if k < len(schedule) else None
        if (
            expected is None
            or record.get("match") != expected.index
            or record.get("seed") != expected.seed
            or tuple(record.get("members", ())) != expected.members
            or record.get("num_games") != expected.num_games
            or record.get("pool") != pool.pool_hash[:_HASH_PREFIX]
        ):
            raise ValueError(
                f"{path}: line {number + 1} does not match this run's schedule (another pool, "
                "game, seed or games per pair wrote it); use a fresh output directory"
            )
        records.append(record)
        good_bytes += len(line) + 1
    if good_bytes != len(raw):
        with open(path, "r+b") as f:
            f.truncate(good_bytes)
    return records


def pairwise_win_rates(member_ids: Sequence[str], records: Sequence[dict]) -> dict:
    """The match log as a `payoffs.json` win-rate table (docs/reports.md, docs/leaderboards.md).

    Every game contributes one comparison per pair of seats held by different members (the
    decomposition `rate` fits): 1 if a's return beats b's, 1/2 on a tie, 0 otherwise.
    W[a, b] = a's mean score against b; pairs that never met get 1/2 with `games` 0 (listed in
    `unmet`); the diagonal is 1/2. W + W^T = 1 holds exactly (W[b, a] is computed as
    1 - W[a, b] after rounding to 6 digits).

    Args:
      member_ids: the S pool ids (table order).
      records: match-log records (`members` per seat, `returns` [games][seats]).

    Returns:
      {"format", "kind": "win_rate", "members", "payoffs" [S, S], "games" [S, S], "unmet"}.
    """
    ids = list(member_ids)
    position = {m: i for i, m in enumerate(ids)}
    size = len(ids)
    score = np.zeros((size, size))
    games = np.zeros((size, size), np.int64)
    for record in records:
        seats = [position[m] for m in record["members"]]
        for returns in record["returns"]:
            for s, t in itertools.combinations(range(len(seats)), 2):
                a, b = seats[s], seats[t]
                if a == b:
                    continue
                outcome = (
                    1.0 if returns[s] > returns[t] else 0.5 if returns[s] == returns[t] else 0.0
                )
                score[a, b] += outcome
                score[b, a] += 1.0 - outcome
                games[a, b] += 1
                games[b, a] += 1
    table = np.full((size, size), 0.5)
    unmet = []
    for a, b in itertools.combinations(range(size), 2):
        if games[a, b]:
            table[a, b] = round(float(score[a, b] / games[a, b]), 6) + 0.0
            table[b, a] = round(1.0 - table[a, b], 6) + 0.0
        else:
            unmet.append([ids[a], ids[b]])
    return {
        "format": "detente.payoffs/1",
        "kind": "win_rate",
        "members": ids,
        "payoffs": table.tolist(),
        "games": games.tolist(),
        "unmet": unmet,
    }


def _format_markdown(header: dict, rows: list[dict]) -> str:
    confidence = round(100 * header["confidence"])
    lines = [
        f"# Leaderboard: {header['game']}",
        "",
        f"- pool: `{header['pool_hash'][:16]}` ({len(rows)} members)",
        f"- seed {header['seed']}, {header['num_matches']} matches, {header['num_games']} games "
        f"({header['games_per_pair']} per pair)",
        f"- Bradley-Terry on the Elo scale, anchor `{header['anchor']}` at "
        f"{header['anchor_rating']:g}, prior {header['prior_draws']:g} draws, "
        f"{confidence}% bootstrap CI over {header['num_bootstrap']} resamples of games",
        "",
        f"| rank | member | hash | Elo | {confidence}% CI | games | score |",
        "| ---: | --- | --- | ---: | --- | ---: | ---: |",
    ]
    for row in rows:
        ci = f"[{row['ci_low']:.1f}, {row['ci_high']:.1f}]" if row["ci_low"] is not None else "n/a"
        lines.append(
            f"| {row['rank']} | {row['id']} | `{row['hash']}` | {row['rating']:.1f} | {ci} | "
            f"{row['games']} | {row['score']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def run_leaderboard(
    pool: Pool,
    game: str,
    out_dir: str | os.PathLike,
    *,
    seed: int = 0,
    games_per_pair: int = 100,
    games_per_match: int = 32,
    anchor: str | None = None,
    anchor_rating: float = 0.0,
    prior_draws: float = 1.0,
    num_bootstrap: int = 1000,
    confidence: float = 0.95,
    max_steps: int | None = None,
    progress: bool = False,
) -> LeaderboardResult:
    """Plays the scheduled matches of a pool and writes the leaderboard (resumable).

    Files in `out_dir`: `pool.json` (the pool's manifest), `matches.jsonl` (one line per match),
    `leaderboard.json` and `leaderboard.md`. See the module docstring for resumption.

    Args:
      pool: the frozen pool.
      game: game string for `detente.games.load`.
      out_dir: output directory.
      seed: the schedule's seed (match seeds and the bootstrap derive from it).
      games_per_pair: see `make_schedule`.
      games_per_match: see `make_schedule`.
      anchor: member fixed at `anchor_rating`; default the uniform-random baseline if the pool
        has one, else the first member.
      anchor_rating: the anchor's Elo rating.
      prior_draws: see `detente.lib.leaderboard.rate`.
      num_bootstrap: bootstrap resamples for the intervals.
      confidence: the intervals' level.
      max_steps: truncate games after this many steps (None: the rules end games).
      progress: show a progress bar.

    Returns:
      A `LeaderboardResult`.

    Raises:
      ValueError: bad arguments, an unknown anchor, or an existing match log written by a
        different pool, game or schedule.
    """
    if not isinstance(pool, Pool):
        raise ValueError(f"pool must be a Pool (see load_pool), got {type(pool).__name__}")
    game_name = game
    make_env = env_factory(game_name, max_steps)
    spec = league_spec(game_name, max_steps)
    if anchor is None:
        uniform = [m.id for m in pool.members if m.kind == UNIFORM_RANDOM]
        anchor = uniform[0] if uniform else pool.ids[0]
    if anchor not in pool.ids:
        raise ValueError(f"anchor {anchor!r} is not a pool member; members are {list(pool.ids)}")
    schedule = make_schedule(
        pool.ids,
        spec.num_players,
        seed=seed,
        games_per_pair=games_per_pair,
        games_per_match=games_per_match,
    )
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_text(
        out_dir / POOL_MANIFEST, json.dumps(pool.manifest(), indent=1, sort_keys=True) + "\n"
    )
    log_path = out_dir / MATCH_LOG
    records = _read_log(log_path, schedule, pool)
    players = _Players(pool, spec)
    played = 0
    remaining = schedule[len(records) :]
    bar = None
    if progress and remaining:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(schedule), initial=len(records), desc="leaderboard", leave=False)
    with open(log_path, "a", encoding="utf-8", newline="\n") as log:
        for match in remaining:
            returns = play_match(make_env, players, match)
            line = _log_line(match, pool, returns)
            log.write(line)
            log.flush()
            os.fsync(log.fileno())  # a finished match survives a crash of the next one
            records.append(json.loads(line))
            played += 1
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()

    seat_members = [r["members"] for r in records for _ in range(r["num_games"])]
    results = [game_returns for r in records for game_returns in r["returns"]]
    ratings = rate(
        pool.ids,
        np.array(seat_members, dtype=object).astype(str),
        np.array(results, dtype=np.float64),
        anchor=anchor,
        anchor_rating=anchor_rating,
        prior_draws=prior_draws,
        num_bootstrap=num_bootstrap,
        confidence=confidence,
        seed=_match_seed(seed, 1 << 30),
    )
    rows = []
    for rank, i in enumerate(ratings.order(), start=1):
        member = pool.members[i]
        has_ci = bool(np.isfinite(ratings.ci_low[i]))
        rows.append(
            {
                "rank": rank,
                "id": member.id,
                "hash": member.content_hash[:_HASH_PREFIX],
                "rating": round(float(ratings.rating[i]), 2) + 0.0,
                "ci_low": round(float(ratings.ci_low[i]), 2) + 0.0 if has_ci else None,
                "ci_high": round(float(ratings.ci_high[i]), 2) + 0.0 if has_ci else None,
                "games": int(ratings.games[i]),
                "score": round(float(ratings.score[i]), 4) + 0.0,
            }
        )
    header = {
        "format": _LEADERBOARD_FORMAT,
        "game": spec.name,
        "game_argument": game_name,
        "seed": int(seed),
        "games_per_pair": int(games_per_pair),
        "games_per_match": int(games_per_match),
        "max_steps": max_steps,
        "pool_hash": pool.pool_hash,
        "anchor": anchor,
        "anchor_rating": float(anchor_rating),
        "prior_draws": float(prior_draws),
        "num_bootstrap": int(num_bootstrap),
        "confidence": float(confidence),
        "num_matches": len(records),
        "num_games": len(results),
    }
    _write_text(
        out_dir / LEADERBOARD_JSON,
        json.dumps({**header, "rows": rows}, indent=1, sort_keys=True) + "\n",
    )
    _write_text(out_dir / LEADERBOARD_MD, _format_markdown(header, rows))
    _write_text(
        out_dir / PAYOFFS_JSON,
        json.dumps(pairwise_win_rates(pool.ids, records), indent=1, sort_keys=True) + "\n",
    )
    return LeaderboardResult(ratings=ratings, schedule=schedule, played=played, out_dir=out_dir)
