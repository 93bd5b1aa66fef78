"""The population store: frozen members (params + metadata) kept in insertion order.

A `Member` is a frozen parameter pytree plus its identity and lineage (id, role, parent id,
training step, free-form JSON metadata) and the SHA-256 content hash of its parameters
(`detente.lib.checkpoint.content_hash`). A `Population` holds members in the order they were
added; its index in that order is a member's position in stacked parameters.

On disk (`Population.save`), every member is one `detente.lib.checkpoint` directory (arrays in
.npz, metadata in JSON; nothing is unpickled on load) named after its position, plus an
`index.json` listing the members in order with their metadata and content hash. `load`
recomputes every member's hash and fails, naming the member, if a file was changed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import jax
import numpy as np

from detente.lib.checkpoint import CheckpointError, content_hash, load_checkpoint, save_checkpoint
from detente.population._io import write_json_atomic

INDEX_FILE = "index.json"
INDEX_FORMAT_VERSION = 1


def _frozen_params(params: Any) -> Any:
    """A host copy of `params` whose leaves are read-only numpy arrays."""

    def freeze(leaf):
        array = np.array(jax.device_get(leaf), copy=True)
        array.setflags(write=False)
        return array

    return jax.tree.map(freeze, params)


@dataclasses.dataclass(frozen=True, eq=False)
class Member:
    """One frozen policy of a population.

    Build members with `Member.create`, which freezes the parameters and computes the hash.

    Attributes:
      id: unique name within its population (any non-empty string).
      params: the network parameters, a pytree of read-only numpy arrays.
      role: what the member is for, e.g. "initial", "best_response", "main".
      parent: id of the member it was trained from (None for a fresh initialisation).
      step: training steps (learner updates) behind it.
      hash: SHA-256 content hash of `params` (`detente.lib.checkpoint.content_hash`).
      metadata: JSON-serialisable extra information (iteration, seed, opponents...).
    """

    id: str
    params: Any
    role: str
    parent: str | None
    step: int
    hash: str
    metadata: Mapping[str, Any]

    @classmethod
    def create(
        cls,
        id: str,
        params: Any,
        *,
        role: str = "main",
        parent: str | None = None,
        step: int = 0,
        metadata: Mapping[str, Any] | None = None,
    ) -> Member:
        """Freezes `params` (host copy, read-only) and computes their content hash.

        Raises:
          ValueError: `id` or `role` is not a non-empty string, `parent` is not None or a
            string, `step` is negative, or `metadata` is not JSON-serialisable.
        """
        _check_name(id, "Member id")
        _check_name(role, "Member role")
        if parent is not None and not isinstance(parent, str):
            raise ValueError(f"Member parent must be None or a member id, got {parent!r}")
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
            raise ValueError(f"Member step must be a non-negative integer, got {step!r}")
        try:
            metadata = json.loads(json.dumps(dict(metadata or {})))
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"metadata of member {id!r} is not JSON-serialisable: {error}"
            ) from error
        params = _frozen_params(params)
        return cls(
            id=id,
            params=params,
            role=role,
            parent=parent,
            step=int(step),
            hash=content_hash(params),
            metadata=metadata,
        )

    def describe(self) -> dict[str, Any]:
        """The member's metadata as a JSON-able dict (everything but the parameters)."""
        return {
            "id": self.id,
            "role": self.role,
            "parent": self.parent,
            "step": self.step,
            "hash": self.hash,
            "metadata": dict(self.metadata),
        }


def _check_name(value: Any, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")


class Population:
    """Members in insertion order, looked up by id.

    Example:
      population = Population()
      population.add(Member.create("p0_0", params, role="initial"))
      stacked = stack_params([population[i].params for i in population.ids])

    Args:
      members: initial members, added in order.
    """

    def __init__(self, members: Sequence[Member] = ()):
        self._members: dict[str, Member] = {}
        for member in members:
            self.add(member)

    def add(self, member: Member) -> Member:
        """Appends `member`; its id must be new. Returns it."""
        if not isinstance(member, Member):
            raise TypeError(f"Population.add expects a Member, got {type(member).__name__}")
        if member.id in self._members:
            raise ValueError(f"member id {member.id!r} is already in the population")
        if member.parent is not None and member.parent not in self._members:
            raise ValueError(
                f"member {member.id!r} names parent {member.parent!r}, which is not in the "
                "population"
            )
        self._members[member.id] = member
        return member

    def __getitem__(self, member_id: str) -> Member:
        try:
            return self._members[member_id]
        except KeyError:
            raise KeyError(self._unknown(member_id)) from None

    def _unknown(self, member_id: Any) -> str:
        known = list(self._members)
        shown = ", ".join(repr(k) for k in known[:10]) + (", ..." if len(known) > 10 else "")
        return f"unknown member id {member_id!r}; the population holds [{shown}]"

    def check_ids(self, member_ids: Sequence[str], what: str = "member ids") -> None:
        """Raises ValueError naming the first id of `member_ids` that is not a member."""
        for member_id in member_ids:
            if member_id not in self._members:
                raise ValueError(f"{what}: {self._unknown(member_id)}")

    def __contains__(self, member_id: object) -> bool:
        return member_id in self._members

    def __len__(self) -> int:
        return len(self._members)

    def __iter__(self) -> Iterator[Member]:
        return iter(self._members.values())

    @property
    def ids(self) -> list[str]:
        """Member ids in insertion order."""
        return list(self._members)

    def hashes(self) -> dict[str, str]:
        """Member id -> content hash, in insertion order."""
        return {m.id: m.hash for m in self._members.values()}

    # ------------------------------------------------------------------------ persistence
    def save(self, directory: str | os.PathLike) -> None:
        """Writes every member not yet on disk (or changed) and then the index.

        Each member is a checkpoint directory `members/<position>`; a member already saved
        there with the same hash is not rewritten, so saving after every PSRO iteration only
        writes the new members. The index is replaced atomically, last.
        """
        directory = pathlib.Path(directory)
        previous = _read_index(directory) if (directory / INDEX_FILE).is_file() else None
        saved = {}
        if previous is not None:
            saved = {entry["path"]: entry["hash"] for entry in previous["members"]}
        entries = []
        for position, member in enumerate(self._members.values()):
            relative = f"members/{position:06d}"
            if saved.get(relative) != member.hash or not (directory / relative).is_dir():
                save_checkpoint(directory / relative, member.params, {"member": member.describe()})
            entries.append({**member.describe(), "path": relative})
        write_json_atomic(
            directory / INDEX_FILE, {"format_version": INDEX_FORMAT_VERSION, "members": entries}
        )

    @classmethod
    def load(
        cls,
        directory: str | os.PathLike,
        template: Any,
        *,
        member_ids: Sequence[str] | None = None,
    ) -> Population:
        """Loads a population saved by `save`, verifying every member's content hash.

        Args:
          directory: the population directory.
          template: a parameter pytree of the members' structure (e.g. `network.init(key)`).
          member_ids: load only these members, in the saved order (None: all). A parent that
            is not loaded is kept as a name only.

        Raises:
          CheckpointError: the index is missing or corrupt, a listed member is absent, or a
            member's files were changed (the message names the member).
        """
        directory = pathlib.Path(directory)
        index = _read_index(directory)
        entries = index["members"]
        if member_ids is not None:
            wanted = list(member_ids)
            stored = {entry["id"] for entry in entries}
            missing = [m for m in wanted if m not in stored]
            if missing:
                raise CheckpointError(
                    f"population {directory} has no member(s) {missing[:5]}; it holds "
                    f"{sorted(stored)[:10]}"
                )
            entries = [entry for entry in entries if entry["id"] in set(wanted)]
        population = cls()
        for entry in entries:
            path = directory / entry["path"]
            try:
                params, _ = load_checkpoint(path, template)
            except CheckpointError as error:
                raise CheckpointError(
                    f"member {entry['id']!r} of population {directory} cannot be loaded: {error}"
                ) from error
            member = Member.create(
                entry["id"],
                params,
                role=entry["role"],
                parent=entry["parent"],
                step=entry["step"],
                metadata=entry["metadata"],
            )
            if member.hash != entry["hash"]:
                raise CheckpointError(
                    f"member {entry['id']!r} of population {directory}: its parameters hash to "
                    f"{member.hash[:12]}... but the index records {entry['hash'][:12]}... "
                    f"({path} was changed or replaced)"
                )
            if member.parent is not None and member.parent not in population:
                population._members[member.id] = member  # parent not loaded: keep its name
            else:
                population.add(member)
        return population


def _read_index(directory: pathlib.Path) -> dict:
    path = directory / INDEX_FILE
    if not path.is_file():
        raise CheckpointError(f"no population at {directory}: {INDEX_FILE} is missing")
    try:
        with open(path) as f:
            index = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"corrupt population index {path}: {error}") from error
    if not isinstance(index, dict) or index.get("format_version") != INDEX_FORMAT_VERSION:
        raise CheckpointError(
            f"corrupt population index {path}: expected format_version {INDEX_FORMAT_VERSION}"
        )
    return index
