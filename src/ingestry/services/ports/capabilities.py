"""What a storage may do beyond the ports, for speed: take batches pre-encoded, write on
several connections, tell unchanged payloads. Read once per storage by
`services.writemode.WriteMode.of`."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import NamedTuple, Protocol, runtime_checkable

from ingestry.domain.conventions import Convention
from ingestry.services.ports.rows import Receipt, WireEncode
from ingestry.services.ports.session import StorageSession


@runtime_checkable
class WireEncoding(Protocol):
    """A storage that can take a batch's rows pre-encoded, built where the batch is
    prepared (a worker process) rather than by the writer."""

    def wire_encoder(self, convention: Convention) -> WireEncode: ...


@runtime_checkable
class OffloadEncoding(Protocol):
    """A storage whose writer takes a batch cheaper when the preparation worker did
    more of its work (SQLite: the rows bound into an image), at a cost to the worker
    larger than the writer's saving: worth it only where the workers have time to
    spare and the writer is the critical path (an HTTP pull, not a file ingest)."""

    def offload_encoder(self, convention: Convention) -> WireEncode: ...


@runtime_checkable
class ConcurrentSessions(Protocol):
    """A storage that can hold `lanes` sessions open at once, each on its own
    connection, so one batch's statements run in the database while the next batch's
    are sent (see `services.lanes`, which keeps their commits in order)."""

    lanes: int

    def lane_session(self, lane: int) -> AbstractContextManager[StorageSession]:
        """A session (one transaction) on connection `lane` (0 <= lane < lanes); one
        caller at a time per lane."""
        ...

    def blocked_by(self, waiters: Sequence[int], holder: int) -> bool:
        """Whether the transaction of one of the `waiters` lanes waits, directly or
        through other transactions, for a lock held by lane `holder`'s (asked on
        `holder`'s connection, by the thread using it)."""
        ...


@runtime_checkable
class PayloadProbe(Protocol):
    """A StorageSession that can tell which payloads of a raw source would change
    nothing, before they are prepared (see `services.rescan`). A storage whose sessions
    are PayloadProbes says so with a class attribute `payload_probe = True`, read once
    when its write mode is built (`services.writemode.WriteMode.of`)."""

    def unchanged_payloads(
        self,
        source: str,
        convention: Convention,
        source_type: str,
        upstream: str,
        extractor_version: str,
        keys: Sequence[tuple[int, str, bytes]],
        arrivals: Arrivals | None = None,
    ) -> set[int]:
        """The indexes (first item of each key: index, source id, sha256) whose raw row
        (source, source id, sha256) is stored AND whose record (source_type, upstream,
        source id)
        was built from a payload with that sha256 by `extractor_version` for `source`.
        With `arrivals`, the receipts of those payloads are written too, in key order
        (the lookup that found their raw rows gives their ids: no second one)."""
        ...

    def read_before(self, source: str, origin: str) -> bool:
        """Whether one of the last runs of `source` read an input named `origin`: a
        re-sent file, whose re-ingest scans from its first batch (`services.rescan`)."""
        ...


class Arrivals(NamedTuple):
    """How the payloads of a probe arrived, for their receipts: the batch's receipt,
    moment and input name, and each key's line (aligned with the keys)."""

    receipt: Receipt
    received_at: str
    origin: str | None
    lines: Sequence[int | None]
