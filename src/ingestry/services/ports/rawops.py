"""Raw-store operations: replay, quarantine, retention, strategy migration.

A separate port so the hot ingest path stays as it is; a backend exposes it through
`Storage.raw_operations()`. Its sessions are StorageSessions too (same transaction), so
a replay upserts records and marks raw rows in one commit, and `on_changes` handlers
(the outbox) write in it as they do during ingest.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import NamedTuple, Protocol

from ingestry.domain.conventions import Convention
from ingestry.domain.payloads import QuarantineDetail
from ingestry.domain.records import Record
from ingestry.domain.retention import RawHold, RetentionAuditEntry, RetentionReport
from ingestry.services.ports.rows import RawRow
from ingestry.services.ports.session import StorageSession


class RawWindow(NamedTuple):
    """Which raw rows of a source an operation selects; times are ISO text in UTC."""

    source: str
    entity_type: str | None = None
    since: str | None = None  # received_at >= since
    until: str | None = None  # received_at < until
    extractor_version: str | None = None  # rows last extracted by this version


class StoredRaw(NamedTuple):
    """A raw row as replay reads it (with its CSV header's bytes, if any)."""

    id: int
    received_at: str
    entity_type: str
    source_id: str
    sha256: bytes
    payload: bytes
    header: bytes | None
    extractor_version: str | None
    error: str | None
    synthesized: bool
    line: int | None
    origin: str | None


class StoredReceipt(NamedTuple):
    """One arrival of a raw payload (a row of `raw_receipts`); times are ISO text."""

    raw_id: int
    run_srn: str | None
    received_at: str
    origin: str | None
    line: int | None
    container: str | None
    container_sha256: bytes | None


#: A raw row's new extraction state: (id, received_at, sha256, stored source_id,
#: extractor_version, error, new source_id or None, new entity_type or None);
#: processed_at becomes the session's `now`. A new source id is taken only when no
#: other row of the source holds the same bytes under it (the dedupe key stays unique).
RawMark = tuple[int, str, bytes, str, str, str | None, str | None, str | None]


class QuarantineItem(NamedTuple):
    """An open quarantine row with what it takes to extract it again."""

    id: int
    sha256: bytes
    payload: bytes
    header: bytes | None
    line: int | None
    origin: str | None
    received_at: str


class ExistingRecord(NamedTuple):
    """An existing record's identity, provenance JSON and extractor, by source id."""

    source_type: str
    upstream: str
    source_id: str
    source: str
    extractor_version: str | None
    #: its current version is a tombstone (soft-deleted): replay leaves it deleted
    deleted: bool = False


class PurgeResult(NamedTuple):
    rows: int
    bytes: int
    partitions: int


class RetentionPolicy(NamedTuple):
    """Purge `source`'s rows received before `cutoff` (ISO), except rows of `held_ids`."""

    source: str
    cutoff: str
    held_ids: tuple[str, ...] = ()


class RawSession(StorageSession, Protocol):
    """A StorageSession that can also change raw rows and quarantine decisions."""

    def latest_raw_ids(self, source: str, source_ids: Sequence[str]) -> dict[str, int]:
        """For each of `source_ids` (when it has any raw row): the id of the raw row its
        latest receipt is of (the payload received last drives the record)."""
        ...

    def existing_records(
        self, convention: Convention, source_type: str, upstream: str, source_ids: Sequence[str]
    ) -> list[ExistingRecord]:
        """The records of `source_ids` under one (provenance type, upstream)."""
        ...

    def set_extractor_version(
        self, convention: Convention, identities: Sequence[tuple[str, str, str]], version: str
    ) -> None:
        """Records whose content a replay found unchanged remember the new extractor
        (no new version: the content is the same)."""
        ...

    def mark_raw(self, source: str, rows: Sequence[RawMark], now: str) -> None: ...

    def drop_run_receipts(self, run_srn: str) -> int:
        """Delete the receipts one run wrote (a raw bundle import puts the bundle's own
        receipts in their place); returns how many."""
        ...

    def source_receipts(
        self, source: str
    ) -> set[tuple[str, bytes, str | None, str, int | None, str | None]]:
        """Every receipt of a source's payloads as (source_id, sha256, run_srn,
        received_at ISO, line, origin): what a bundle import must not write twice."""
        ...

    def resolve_quarantine(
        self,
        source: str,
        *,
        ids: Sequence[int] = (),
        sha256s: Sequence[bytes] = (),
        status: str,
        resolution: str,
        actor: str,
        now: str,
    ) -> list[int]:
        """Close the open entries named by id or hash (status `released` or
        `discarded`), dropping their bytes; returns the ids closed."""
        ...

    def append_synthesized(self, rows: Sequence[RawRow]) -> int:
        """Store raw rows made from records (strategy migration), marked synthesized."""
        ...

    def add_hold(
        self,
        source: str,
        source_id: str | None,
        until: str | None,
        reason: str | None,
        actor: str,
        now: str,
    ) -> int: ...

    def release_hold(self, hold_id: int, actor: str, now: str) -> bool: ...

    def write_audit(self, report: RetentionReport, actor: str, now: str) -> None: ...


class RawOperations(Protocol):
    """Reads and maintenance of the raw store that ingest never needs."""

    def session(self) -> AbstractContextManager[RawSession]: ...

    def window_count(self, window: RawWindow) -> int: ...

    def window_batch(
        self, window: RawWindow, after: tuple[str, int] | None, limit: int
    ) -> list[StoredRaw]:
        """The next `limit` rows of the window in (received_at, id) order after `after`:
        one index range read per batch, so a window costs what it holds."""
        ...

    def receipts(self, raw_ids: Sequence[int]) -> list[StoredReceipt]:
        """Every receipt of these raw rows, by raw id then arrival (receipt id)."""
        ...

    def quarantine_items(
        self, source: str, ids: Sequence[int] | None, after: int, limit: int
    ) -> list[QuarantineItem]:
        """Open quarantine rows of `source` (only `ids`, when given) with id > after."""
        ...

    def quarantine_raw_rows(self, source: str, items: Sequence[QuarantineItem]) -> list[StoredRaw]:
        """The raw rows holding the bytes of quarantine entries of a raw source."""
        ...

    def quarantine_entry(self, entry_id: int) -> QuarantineDetail | None:
        """One quarantine entry (any status), with its raw row's bytes for a raw source."""
        ...

    def extractor_versions(self, convention: Convention, data_source: str) -> dict[str, int]:
        """How many current records of `data_source` each extractor version produced."""
        ...

    def source_records(
        self,
        convention: Convention,
        data_source: str,
        after: tuple[str, str, str] | None,
        limit: int,
    ) -> list[Record]:
        """Current records written by `data_source`, in identity order (keyset after
        (source_type, upstream, source_id))."""
        ...

    def holds(self, source: str | None, active_at: str | None) -> list[RawHold]:
        """Holds, all or those active at a time, optionally of one source."""
        ...

    def retention_counts(self, policy: RetentionPolicy, report: RetentionReport) -> None:
        """Fill `report`: the rows expired under `policy`, the bytes of the purgeable
        ones, and why the others are kept (unextracted, quarantined, held)."""
        ...

    def drop_partitions(
        self, policies: Sequence[RetentionPolicy], now: str
    ) -> dict[str, PurgeResult]:
        """Drop whole partitions every row of which is purgeable under `policies` (with
        their dedupe keys); per source, what went. A backend without partitions: {}."""
        ...

    def purge(self, policy: RetentionPolicy, batch_rows: int) -> PurgeResult:
        """Delete the purgeable rows under `policy`, `batch_rows` per transaction."""
        ...

    def audit(self, source: str | None, limit: int) -> list[RetentionAuditEntry]: ...
