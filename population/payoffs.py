"""The payoff store: per-seat results of every match, aggregated into empirical meta-games.

A `MatchRecord` is one match: the member id at each of the N seats, each seat's mean return
over the match's games (and mean squared return, for standard errors), the number of games,
the seed it was played with, and whether the values are exact expectations rather than
samples. Records are general-sum: nothing assumes the seats' returns sum to a constant.

`PayoffStore.payoff_tensor(seat_members)` aggregates the records of every seat assignment in
the product of per-seat member lists into the empirical meta-game float [N, S_1, ..., S_N]
(game-weighted means) with the number of games behind each entry. Symmetric many-player games
have two smaller views (see docs/population.md):

* `one_vs_rest`: float [S, S], M[a, b] = the mean payoff of a lone `a` against N - 1 copies of
  `b`, averaged over a's seat; it needs only the S^2 N profiles "one a, the rest b", not the
  full S^N tensor (equal to `detente.lib.meta_game.symmetric_reduction` of the full tensor).
* `seat_averaged_tensor`: the symmetric meta-game [N, S, ..., S] obtained by averaging every
  profile's payoffs over all seat permutations (a game with asymmetric seats, such as Kuhn
  poker or Diplomacy, played by one shared population).

The store is saved as JSON (no pickle).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
from collections.abc import Iterable, Sequence

import numpy as np

from detente.lib.meta_game import SymmetricReduction, symmetric_reduction
from detente.population._io import read_json, write_json_atomic

FORMAT_VERSION = 1
REPORT_FORMAT = "detente.payoffs/1"  # the payoffs.json that `detente report`/`evaluate` read


@dataclasses.dataclass(frozen=True)
class MatchRecord:
    """The result of one match (one seat assignment, one or more games).

    Attributes:
      members: N member ids, members[p] played seat p.
      returns: N floats, seat p's mean return over the games.
      returns_sq: N floats, seat p's mean squared return (equal to returns**2 when exact).
      num_games: games played (>= 1 for sampled records; 0 for exact ones).
      seed: the seed the match was played with (None for exact values).
      exact: the returns are exact expected values, not samples.
    """

    members: tuple[str, ...]
    returns: tuple[float, ...]
    returns_sq: tuple[float, ...]
    num_games: int
    seed: int | None = None
    exact: bool = False

    def __post_init__(self):
        members = tuple(self.members)
        if not members or any(not isinstance(m, str) or not m for m in members):
            raise ValueError(f"MatchRecord.members must be non-empty member ids, got {members!r}")
        returns = tuple(float(r) for r in self.returns)
        returns_sq = tuple(float(r) for r in self.returns_sq)
        if len(returns) != len(members) or len(returns_sq) != len(members):
            raise ValueError(
                f"MatchRecord has {len(members)} seats but {len(returns)} returns and "
                f"{len(returns_sq)} squared returns"
            )
        if not all(math.isfinite(r) for r in returns + returns_sq):
            raise ValueError(f"MatchRecord returns must be finite, got {returns}")
        if isinstance(self.num_games, bool) or not isinstance(self.num_games, (int, np.integer)):
            raise ValueError(f"MatchRecord.num_games must be an integer, got {self.num_games!r}")
        if self.exact and self.num_games != 0:
            raise ValueError("an exact MatchRecord has num_games=0")
        if not self.exact and self.num_games < 1:
            raise ValueError(f"a sampled MatchRecord needs num_games >= 1, got {self.num_games!r}")
        object.__setattr__(self, "members", members)
        object.__setattr__(self, "returns", returns)
        object.__setattr__(self, "returns_sq", returns_sq)
        object.__setattr__(self, "num_games", int(self.num_games))

    @classmethod
    def from_games(cls, members: Sequence[str], returns, seed: int | None) -> MatchRecord:
        """A sampled record from per-game returns float [B, N]."""
        returns = np.asarray(returns, np.float64)
        if returns.ndim != 2 or returns.shape[1] != len(members) or returns.shape[0] < 1:
            raise ValueError(
                f"per-game returns must have shape [B >= 1, N={len(members)}], got {returns.shape}"
            )
        return cls(
            members=tuple(members),
            returns=tuple(returns.mean(axis=0)),
            returns_sq=tuple(np.square(returns).mean(axis=0)),
            num_games=returns.shape[0],
            seed=seed,
        )

    @classmethod
    def exact_values(cls, members: Sequence[str], values) -> MatchRecord:
        """An exact record from expected returns float [N]."""
        values = tuple(float(v) for v in np.asarray(values, np.float64).reshape(-1))
        return cls(
            members=tuple(members),
            returns=values,
            returns_sq=tuple(v * v for v in values),
            num_games=0,
            exact=True,
        )


@dataclasses.dataclass(frozen=True)
class PayoffTable:
    """An empirical meta-game.

    Attributes:
      payoffs: float [N, S_1, ..., S_N], mean returns of each seat per seat assignment.
      counts: int [S_1, ..., S_N], games behind each entry (0 where the values are exact).
      exact: bool [S_1, ..., S_N], entries that are exact expected values.
      stderr: float [N, S_1, ..., S_N], standard error of each sampled mean (0 when exact).
      seat_members: per seat, the member ids along that axis.
    """

    payoffs: np.ndarray
    counts: np.ndarray
    exact: np.ndarray
    stderr: np.ndarray
    seat_members: tuple[tuple[str, ...], ...]


class _Aggregate:
    """Running statistics of one seat assignment."""

    __slots__ = ("sum", "sum_sq", "games", "exact")

    def __init__(self, num_players: int):
        self.sum = np.zeros(num_players)
        self.sum_sq = np.zeros(num_players)
        self.games = 0
        self.exact: np.ndarray | None = None


class PayoffStore:
    """Every match's per-seat results, for a game with `num_players` seats.

    Args:
      num_players: N, seats per match.
      records: initial records, in order.
    """

    def __init__(self, num_players: int, records: Iterable[MatchRecord] = ()):
        if isinstance(num_players, bool) or not isinstance(num_players, int) or num_players < 1:
            raise ValueError(f"num_players must be a positive integer, got {num_players!r}")
        self.num_players = num_players
        self._records: list[MatchRecord] = []
        self._aggregates: dict[tuple[str, ...], _Aggregate] = {}
        for record in records:
            self.add(record)

    # ---------------------------------------------------------------------------- records
    def add(self, record: MatchRecord) -> None:
        """Appends one match's record."""
        if not isinstance(record, MatchRecord):
            raise TypeError(f"PayoffStore.add expects a MatchRecord, got {type(record).__name__}")
        if len(record.members) != self.num_players:
            raise ValueError(
                f"record has {len(record.members)} seats {record.members}, the store holds "
                f"{self.num_players}-player matches"
            )
        self._records.append(record)
        aggregate = self._aggregates.get(record.members)
        if aggregate is None:
            aggregate = self._aggregates[record.members] = _Aggregate(self.num_players)
        if record.exact:
            aggregate.exact = np.asarray(record.returns)
        else:
            aggregate.sum += record.num_games * np.asarray(record.returns)
            aggregate.sum_sq += record.num_games * np.asarray(record.returns_sq)
            aggregate.games += record.num_games

    @property
    def records(self) -> list[MatchRecord]:
        """All records in the order they were added (a copy)."""
        return list(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def truncate(self, num_records: int) -> None:
        """Keeps the first `num_records` records (e.g. to undo an interrupted iteration)."""
        if not 0 <= num_records <= len(self._records):
            raise ValueError(f"cannot truncate {len(self._records)} records to {num_records!r}")
        kept = self._records[:num_records]
        self._records, self._aggregates = [], {}
        for record in kept:
            self.add(record)

    def has(self, members: Sequence[str]) -> bool:
        """Whether the seat assignment `members` has at least one record."""
        return tuple(members) in self._aggregates

    def mean(self, members: Sequence[str]) -> tuple[np.ndarray, int, bool]:
        """(per-seat mean returns float [N], games, exact) of one seat assignment.

        Exact records take precedence over samples of the same assignment.

        Raises:
          KeyError: the assignment was never played.
        """
        members = tuple(members)
        aggregate = self._aggregates.get(members)
        if aggregate is None:
            raise KeyError(f"no match recorded for the seat assignment {members}; play it first")
        if aggregate.exact is not None:
            return aggregate.exact.copy(), aggregate.games, True
        return aggregate.sum / aggregate.games, aggregate.games, False

    def _stderr(self, members: tuple[str, ...]) -> np.ndarray:
        aggregate = self._aggregates[members]
        if aggregate.exact is not None or aggregate.games < 2:
            return np.zeros(self.num_players)
        mean = aggregate.sum / aggregate.games
        variance = np.maximum(aggregate.sum_sq / aggregate.games - mean**2, 0.0)
        return np.sqrt(variance / (aggregate.games - 1))

    def missing(self, seat_members: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
        """The seat assignments of the product of `seat_members` that have no record."""
        seat_members = self._check_seats(seat_members)
        return [p for p in itertools.product(*seat_members) if p not in self._aggregates]

    def _check_seats(self, seat_members: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
        seat_members = [tuple(ids) for ids in seat_members]
        if len(seat_members) != self.num_players:
            raise ValueError(
                f"seat_members must list members for each of the {self.num_players} seats, got "
                f"{len(seat_members)} lists"
            )
        for seat, ids in enumerate(seat_members):
            if not ids:
                raise ValueError(f"seat_members[{seat}] is empty; every seat needs a member")
        return seat_members

    # ------------------------------------------------------------------------ meta-games
    def payoff_tensor(self, seat_members: Sequence[Sequence[str]]) -> PayoffTable:
        """The empirical meta-game over the product of per-seat member lists.

        Args:
          seat_members: N lists; seat p's axis of the tensor lists `seat_members[p]` in order
            (the same list N times for one shared population).

        Returns:
          A `PayoffTable` with payoffs float [N, S_1, ..., S_N].

        Raises:
          ValueError: a seat assignment of the product was never played (the message names
            the first one and how many are missing).
        """
        seat_members = self._check_seats(seat_members)
        missing = self.missing(seat_members)
        if missing:
            raise ValueError(
                f"{len(missing)} seat assignment(s) have no recorded match, e.g. {missing[0]}; "
                "play them before building the payoff tensor"
            )
        shape = tuple(len(ids) for ids in seat_members)
        payoffs = np.zeros((self.num_players,) + shape)
        stderr = np.zeros((self.num_players,) + shape)
        counts = np.zeros(shape, np.int64)
        exact = np.zeros(shape, bool)
        for index in itertools.product(*(range(s) for s in shape)):
            members = tuple(seat_members[p][i] for p, i in enumerate(index))
            values, games, is_exact = self.mean(members)
            payoffs[(slice(None),) + index] = values
            stderr[(slice(None),) + index] = self._stderr(members)
            counts[index] = games
            exact[index] = is_exact
        return PayoffTable(
            payoffs=payoffs,
            counts=counts,
            exact=exact,
            stderr=stderr,
            seat_members=tuple(seat_members),
        )

    def one_vs_rest(self, members: Sequence[str]) -> SymmetricReduction:
        """One-versus-the-rest tables of a population sharing all seats.

        M[a, b] = (1 / N) sum_i payoff of seat i in the profile (b, ..., b, a at seat i, b,
        ..., b): a lone `a` against a field of `b`, averaged over a's seat. Only the S^2 N
        profiles of that form are read (equal to `lib.meta_game.symmetric_reduction` of the
        full tensor, which needs S^N).

        Args:
          members: the S member ids.

        Returns:
          A `lib.meta_game.SymmetricReduction` (one_vs_rest [S, S] and its antisymmetric part).

        Raises:
          ValueError: fewer than 2 seats, or a needed profile was never played.
        """
        members = list(members)
        if self.num_players < 2:
            raise ValueError("one_vs_rest needs at least 2 seats")
        if not members:
            raise ValueError("one_vs_rest needs at least one member")
        size = len(members)
        table = np.zeros((size, size))
        for a, b in itertools.product(range(size), repeat=2):
            for seat in range(self.num_players):
                profile = [members[b]] * self.num_players
                profile[seat] = members[a]
                if tuple(profile) not in self._aggregates:
                    raise ValueError(
                        f"one_vs_rest needs the profile {tuple(profile)}, which was never played"
                    )
                table[a, b] += self.mean(profile)[0][seat]
        table /= self.num_players
        return SymmetricReduction(one_vs_rest=table, antisymmetric=0.5 * (table - table.T))

    def seat_averaged_tensor(self, members: Sequence[str]) -> np.ndarray:
        """The symmetric meta-game of one population, averaged over seat permutations.

        T[s_0, s_1, ..., s_{N-1}] is the payoff of the member s_0 when the others are s_1, ...,
        s_{N-1}, averaged over all N! ways of seating them (and over the recorded permutations
        only, when some were not played). The result payoffs[i][s] = T[s_i, s_-i] is a
        symmetric game in which a member's payoff does not depend on its seat, the form
        symmetric meta-solvers expect.

        Args:
          members: the S member ids shared by all seats.

        Returns:
          float [N, S, ..., S].

        Raises:
          ValueError: no permutation of some multiset of members was ever played.
        """
        members = list(members)
        if not members:
            raise ValueError("seat_averaged_tensor needs at least one member")
        n, size = self.num_players, len(members)
        focal = np.zeros((size,) * n)
        permutations = list(itertools.permutations(range(n)))
        for index in itertools.product(range(size), repeat=n):
            total, found = 0.0, 0
            for seats in permutations:  # member index[j] sits at seat seats[j]
                profile = [""] * n
                for j, seat in enumerate(seats):
                    profile[seat] = members[index[j]]
                if tuple(profile) in self._aggregates:
                    total += self.mean(profile)[0][seats[0]]
                    found += 1
            if not found:
                raise ValueError(
                    "seat_averaged_tensor: no seating of the members "
                    f"{tuple(members[i] for i in index)} was ever played"
                )
            focal[index] = total / found
        payoffs = np.zeros((n,) + (size,) * n)
        for player in range(n):
            # payoffs[player][s] = focal[s_player, s_0..s_{player-1}, s_{player+1}..]
            order = [player] + [q for q in range(n) if q != player]
            payoffs[player] = np.transpose(focal, np.argsort(order))
        return payoffs

    # ----------------------------------------------------------------- report export
    def to_report_json(self, seat_members: Sequence[Sequence[str]]) -> dict:
        """The meta-game over `seat_members` in the `payoffs.json` format of docs/reports.md.

        Always holds the N-player meta-game (`seat_members`, `meta_game` [N, S_1, ..., S_N],
        `games` behind each entry). When every seat has the same number S of members it also
        holds a population table [S, S] (`members`, `payoffs`, `kind="payoff"`): the
        one-versus-the-rest reduction M[a, b] = (1/N) sum_i u_i(b, .., a at seat i, .., b)
        (`lib.meta_game.symmetric_reduction`). With one population in every seat ("shared")
        a member is one id; with per-player populations ("paired") member k is the k-th
        member of every population (PSRO's iteration-k best responses), named by joining
        their ids with "+".

        Args:
          seat_members: N lists of member ids, one per seat.

        Returns:
          A JSON-able dict.

        Raises:
          ValueError: a seat assignment of the product was never played (named).
        """
        table = self.payoff_tensor(seat_members)
        seats = [list(ids) for ids in table.seat_members]
        value = {
            "format": REPORT_FORMAT,
            "seat_members": seats,
            "meta_game": table.payoffs.tolist(),
            "games": table.counts.tolist(),
        }
        if self.num_players >= 2 and len({len(ids) for ids in seats}) == 1:
            shared = all(ids == seats[0] for ids in seats)
            members = seats[0] if shared else ["+".join(ids) for ids in zip(*seats, strict=True)]
            value.update(
                members=members,
                payoffs=symmetric_reduction(table.payoffs).one_vs_rest.tolist(),
                kind="payoff",
                table="one_vs_rest" if shared else "paired",
            )
        return value

    # ------------------------------------------------------------------------ persistence
    def to_json(self) -> dict:
        """The store as a JSON-able dict."""
        return {
            "format_version": FORMAT_VERSION,
            "num_players": self.num_players,
            "records": [dataclasses.asdict(record) for record in self._records],
        }

    @classmethod
    def from_json(cls, value: dict) -> PayoffStore:
        """Rebuilds a store from `to_json`'s output; malformed input raises ValueError."""
        if not isinstance(value, dict) or value.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"not a payoff store (format_version {FORMAT_VERSION} expected)")
        try:
            records = [
                MatchRecord(
                    members=tuple(r["members"]),
                    returns=tuple(r["returns"]),
                    returns_sq=tuple(r["returns_sq"]),
                    num_games=r["num_games"],
                    seed=r["seed"],
                    exact=r["exact"],
                )
                for r in value["records"]
            ]
        except (KeyError, TypeError) as error:
            raise ValueError(f"malformed payoff record: {error!r}") from error
        return cls(value["num_players"], records)

    def save(self, path: str | os.PathLike) -> None:
        """Writes the store to a JSON file, atomically."""
        write_json_atomic(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike) -> PayoffStore:
        """Reads a store written by `save`."""
        return cls.from_json(read_json(path, "payoff store"))


def write_payoffs_json(
    path: str | os.PathLike, store: PayoffStore, seat_members: Sequence[Sequence[str]]
) -> None:
    """Writes `store.to_report_json(seat_members)` to `path` atomically (docs/reports.md).

    Raises:
      ValueError: a seat assignment of the product was never played (named).
    """
    write_json_atomic(path, store.to_report_json(seat_members))
