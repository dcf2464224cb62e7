"""The changes feed port: record changes in the order of a cursor that only grows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ingestry.domain.conventions import Convention
from ingestry.domain.records import Record

#: (xid, seq): the position of a change; (0, 0) is before every change.
ChangeCursor = tuple[int, int]
START: ChangeCursor = (0, 0)


@dataclass(frozen=True, slots=True)
class Change:
    """A record created or given a new version (one row of `record_changes`)."""

    cursor: ChangeCursor
    convention: str
    record_id: int
    version: int


class ChangeFeed(Protocol):
    """Reads of the changes feed (docs/federation.md)."""

    def changes(
        self, after: ChangeCursor, limit: int, conventions: Sequence[str] | None
    ) -> list[Change]:
        """Up to `limit` changes after `after`, in cursor order, of these conventions
        (None: all); only changes no later commit can precede (see the adapters)."""
        ...

    def records_by_id(self, convention: Convention, ids: Sequence[int]) -> dict[int, Record]:
        """The current records with these row ids (missing ones left out)."""
        ...

    def fork_cursor(self, node_id: str, scope: str) -> str | None:
        """Where a fork from `node_id` (scope: a convention, or `*`) got to."""
        ...

    def save_fork_cursor(self, node_id: str, scope: str, cursor: str, now: str) -> None: ...

    def copy_mark(self, convention: str) -> str:
        """Where the convention's records stand now, taken before a copy of them is read
        (docs/data-out.md, "Parquet copies"): opaque text for `changed_since`."""
        ...

    def changed_since(self, convention: str, mark: str) -> bool:
        """True when a record of the convention was created, changed or erased in a
        transaction that `mark` did not see (a copy taken at `mark` is stale)."""
        ...


@dataclass(frozen=True, slots=True)
class RemoteInfo:
    """What a remote node says about itself (`GET /v1/node`)."""

    node_id: str
    #: the conventions the key may read there
    conventions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RemotePage:
    """One page of a remote node's changes feed: records as `records list --json`
    documents, in cursor order."""

    records: list[dict[str, Any]]
    next_cursor: str
    has_more: bool


class RemoteNode(Protocol):
    """Another ingestry node's API, as a fork reads it (adapters.federation: httpx)."""

    def info(self) -> RemoteInfo: ...

    def changes(
        self, after: str | None, limit: int, convention: str | None, since: str | None
    ) -> RemotePage: ...

    def close(self) -> None: ...
