"""StorageSession: one transaction of the write path."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any, Protocol

from ingestry.domain.conventions import Convention
from ingestry.services.ports.rows import (
    QuarantineRow,
    RawRow,
    Receipt,
    ReceiptKey,
    RecordChange,
    RecordRow,
    RowTimes,
    UpsertResult,
    Wire,
)

#: Called inside a batch's transaction with the records it created or changed (the
#: outbox writes its events there): (session, convention name, changes).
OnChanges = Callable[["StorageSession", str, Sequence[RecordChange]], None]


class StorageSession(Protocol):
    """One transaction. Everything written through it commits or rolls back together."""

    def append_raw(
        self,
        rows: Sequence[RawRow],
        headers: Sequence[tuple[bytes, bytes]],
        wire: Wire | None = None,
        receipt: Receipt | None = None,
    ) -> int:
        """Store raw rows; a row whose (source, source_id, sha256) exists is a duplicate.
        Every row, new or duplicate, is a receipt (in row order) of its raw payload,
        under `receipt` (None: a receipt of no run).

        Returns how many rows were new. `headers` are (sha256, bytes) of CSV headers;
        `wire`, the batch's encoding by this storage's `WireEncoding`, if it has one.
        """
        ...

    def append_receipts(self, keys: Sequence[ReceiptKey], receipt: Receipt) -> None:
        """Record arrivals of payloads stored already (a re-ingest's no-ops, skipped
        before preparation), in order; a key with no raw row is ignored."""
        ...

    def quarantine(self, rows: Sequence[QuarantineRow]) -> None:
        """Keep failed payloads; the same bytes quarantined twice stay one entry."""
        ...

    def fill_payload(
        self, source: str, sha256: bytes, length: int, chunks: Callable[[], Iterator[bytes]]
    ) -> None:
        """Stream `length` bytes from `chunks` into the payload of `source`'s open
        quarantine entry and failed raw row with that sha256, where they were written
        with an empty placeholder (a line too long to hold: see `services.spill`), so
        those bytes are never all in memory. Rows that hold their bytes are left alone."""
        ...

    def upsert_records(
        self,
        convention: Convention,
        rows: Sequence[RecordRow],
        now: str,
        wire: Wire | None = None,
        times: Sequence[RowTimes | None] | None = None,
    ) -> UpsertResult:
        """Insert new records; for existing ones, a changed `content_hash` bumps the
        version (keeping the previous version in history), an equal one changes nothing.
        Rows are applied in order, so an id repeated within `rows` versions correctly.
        `wire` as in `append_raw`.

        `times`, one per row (or None): the times an import carried (moving a store
        keeps its history's times). The version a row writes gets its `updated_at`
        instead of `now`, version 1 also its `published_at`, and the version it replaces
        is superseded at its `updated_at`. The changes feed and the outbox are as for
        any write."""
        ...

    def start_run(self, srn: str, source: str, origins: list[str], now: str) -> None: ...

    def finish_run(self, srn: str, status: str, summary: dict[str, Any], now: str) -> None: ...

    def repeated_ids(self, source: str) -> frozenset[str]:
        """The ids the last finished run of `source` received two or more batches
        apart: its next run defers them to their last occurrence (services.repeats)."""
        ...

    def keep_repeated_ids(self, source: str, ids: Collection[str]) -> None:
        """Replace the far-apart ids kept for `source` with `ids`."""
        ...

    def quarantine_headers(
        self, source: str, header: tuple[bytes, bytes], sha256s: Sequence[bytes]
    ) -> None:
        """Keep the CSV header (sha256, bytes) of quarantined rows, so that quarantine
        replay can read them again (a simple source keeps no raw rows)."""
        ...

    def append_events(self, convention: str, changes: Sequence[RecordChange], now: str) -> None:
        """Make each change's event part of the outbox, in this transaction (the
        transactional outbox). PostgreSQL writes them, one COPY for all; SQLite has
        nothing to do: the change rows its write made are the events, taken in when a
        dispatcher claims (`LifecycleSession.take_in`)."""
        ...

    def unit(self, work: Callable[[], None]) -> None:
        """Run `work` (calls on this session) as one unit. A storage that must redo
        its transaction (PostgreSQL, after a deadlock) runs `work` again rather than
        replaying its calls one by one, so what `work` derives from their answers (a
        batch's counts) describes what was finally written."""
        ...
