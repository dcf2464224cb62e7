"""Ports: the small interfaces services need from storage. Adapters implement them.

Rows crossing the port on the hot path are NamedTuples of storage-ready primitives:
timestamps as ISO 8601 text in UTC, JSON as canonical text, hashes as bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol, runtime_checkable

from ingestry.domain.conventions import Convention, HookSpec
from ingestry.domain.errors import InputError
from ingestry.domain.events import DeadEvent
from ingestry.domain.features import Feature, HookResult, HookRun
from ingestry.domain.payloads import QuarantineDetail, QuarantineEntry, RawPayload
from ingestry.domain.query import EVERYTHING, RecordQuery
from ingestry.domain.records import Record, spell_srn
from ingestry.domain.retention import RawHold, RetentionAuditEntry, RetentionReport
from ingestry.domain.sources import DEFAULT_MAX_LINE_BYTES, DataSource, SourceFormat

# Rows on the hot path are plain tuples: cheapest to build, to bind, and to pickle to a
# worker process (a NamedTuple pickles 3x slower). The field order is the contract.

RawRow = tuple[
    str,
    str,
    str,
    bytes,
    bytes,
    bytes | None,
    str,
    str | None,
    str | None,
    str | None,
    int | None,
    str | None,
]
RAW_FIELDS = (
    "source",
    "entity_type",
    "source_id",
    "sha256",
    "payload",
    "header_sha256",
    "received_at",
    "processed_at",
    "extractor_version",
    "error",
    "line",
    "origin",
)

QuarantineRow = tuple[str, bytes, bytes, int | None, str | None, str, str]
QUARANTINE_FIELDS = ("source", "sha256", "payload", "line", "origin", "reason", "received_at")

RecordRow = tuple[
    str, str, str, str | None, str, bytes, str | None, bytes | None, tuple[Any, ...], str
]
"""A record to upsert; its identity is (convention, source_type, upstream, source_id).
The upstream comes last so the other fields keep the positions every write path reads."""
RECORD_FIELDS = (
    "source_type",
    "source_id",
    "source",
    "data_source",
    "metadata",
    "content_hash",
    "extractor_version",
    "raw_sha256",
    "columns",
    "upstream",
)

Wire = dict[str, Any]
"""A batch's rows pre-encoded for one storage's write path (see `WireEncoding`). Opaque
to the services; plain builtins (it crosses the pipe from a preparation worker)."""
WireEncode = Callable[[Sequence[RawRow], Sequence[RecordRow], bytes | None], Wire | None]
"""(raw rows, record rows, the payload bytes every value of the rows was read from or
None) -> the batch's wire, or None."""


@runtime_checkable
class WireEncoding(Protocol):
    """A storage that can take a batch's rows pre-encoded, built where the batch is
    prepared (a worker process) rather than by the writer."""

    def wire_encoder(self, convention: Convention) -> WireEncode: ...


class RecordChange(NamedTuple):
    """One record that a write created (version 1) or changed (version n > 1).

    Carries the identity, not the srn, so a bulk write pays for srns only when a
    consumer (events) asks for them."""

    convention: str
    source_type: str
    upstream: str
    source_id: str
    version: int

    @property
    def srn(self) -> str:
        return spell_srn(self.convention, self.source_type, self.upstream, self.source_id)


class NewRecords(Sequence[RecordChange]):
    """The changes of a write that created every record of a batch (version 1 each),
    made from the rows only when asked. A storage whose outbox can take the srn lines
    the preparation worker spelled (`lines`: each srn + newline, in row order) never
    builds them: 5,000 tuples a batch the writer no longer makes or frees."""

    __slots__ = ("convention", "lines", "rows")

    def __init__(
        self, convention: str, rows: Sequence[RecordRow], lines: bytes | None = None
    ) -> None:
        self.convention = convention
        self.rows = rows
        self.lines = lines

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[RecordChange]:
        convention = self.convention
        return (RecordChange(convention, r[0], r[9], r[1], 1) for r in self.rows)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return list(self)[index]
        r = self.rows[index]
        return RecordChange(self.convention, r[0], r[9], r[1], 1)


#: Called inside a batch's transaction with the records it created or changed (the
#: outbox writes its events there): (session, convention name, changes).
OnChanges = Callable[["StorageSession", str, Sequence[RecordChange]], None]


class UpsertResult(NamedTuple):
    created: int
    updated: int
    unchanged: int
    changes: Sequence[RecordChange]


class StorageSession(Protocol):
    """One transaction. Everything written through it commits or rolls back together."""

    def append_raw(
        self,
        rows: Sequence[RawRow],
        headers: Sequence[tuple[bytes, bytes]],
        wire: Wire | None = None,
    ) -> int:
        """Store raw rows; a row whose (source, sha256) exists is a duplicate.

        Returns how many rows were new. `headers` are (sha256, bytes) of CSV headers;
        `wire`, the batch's encoding by this storage's `WireEncoding`, if it has one.
        """
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
    ) -> UpsertResult:
        """Insert new records; for existing ones, a changed `content_hash` bumps the
        version (keeping the previous version in history), an equal one changes nothing.
        Rows are applied in order, so an id repeated within `rows` versions correctly.
        `wire` as in `append_raw`."""
        ...

    def start_run(self, srn: str, source: str, origins: list[str], now: str) -> None: ...

    def finish_run(self, srn: str, status: str, summary: dict[str, Any], now: str) -> None: ...

    def quarantine_headers(
        self, source: str, header: tuple[bytes, bytes], sha256s: Sequence[bytes]
    ) -> None:
        """Keep the CSV header (sha256, bytes) of quarantined rows, so that quarantine
        replay can read them again (a simple source keeps no raw rows)."""
        ...

    def append_events(self, convention: str, changes: Sequence[RecordChange], now: str) -> None:
        """Write one outbox event per change (the transactional outbox: in this
        transaction, one statement for all of them)."""
        ...

    def unit(self, work: Callable[[], None]) -> None:
        """Run `work` (calls on this session) as one unit. A storage that must redo
        its transaction (PostgreSQL, after a deadlock) runs `work` again rather than
        replaying its calls one by one, so what `work` derives from their answers (a
        batch's counts) describes what was finally written."""
        ...


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


class Storage(Protocol):
    """A database holding the raw store, the records and their history."""

    dialect: str

    def session(self) -> AbstractContextManager[StorageSession]: ...

    def schema_revision(self) -> str | None:
        """The Alembic revision the database is at (None when empty)."""
        ...

    def upgrade(self, revision: str = "head") -> None: ...

    def downgrade(self, revision: str) -> None: ...

    def prepare(self, conventions: Sequence[Convention], *, auto_upgrade: bool) -> None:
        """Check the schema revision (migrating an empty database when allowed), then
        make the record tables match the conventions."""
        ...

    def ensure_conventions(self, conventions: Sequence[Convention]) -> None:
        """Create or evolve each convention's record table to match its columns."""
        ...

    def get_record(self, convention: Convention, srn: str) -> Record | None: ...

    def list_records(
        self,
        convention: Convention,
        limit: int | None,
        after: str | None = None,
        query: RecordQuery = EVERYTHING,
    ) -> Iterator[Record]:
        """Records matching `query`, in its order, after the record `after` (keyset)."""
        ...

    def count_records(self, convention: Convention, query: RecordQuery = EVERYTHING) -> int:
        """How many records match `query`."""
        ...

    def record_history(self, convention: Convention, srn: str) -> list[Record]: ...

    def raw_payloads(self, source: str, source_id: str) -> list[RawPayload]: ...

    def quarantine_entries(
        self, source: str, status: str | None = "open"
    ) -> list[QuarantineEntry]: ...

    def stats(self, sources: dict[str, str]) -> dict[str, dict[str, int]]:
        """Per source name (mapped to its convention): raw_rows, records, quarantined."""
        ...

    def close(self) -> None: ...

    def lifecycle(self) -> LifecycleStorage:
        """The record-lifecycle side of this database (outbox, hooks, features, updates),
        on the same connection."""
        ...

    def raw_operations(self) -> RawOperations:
        """Replay, quarantine, retention and migration support (see RawOperations)."""
        ...


# --- raw-store operations: replay, quarantine, retention, strategy migration ------------
# A separate port so the hot ingest path stays as it is; a backend exposes it through
# `Storage.raw_operations()`. Its sessions are StorageSessions too (same transaction), so
# a replay upserts records and marks raw rows in one commit, and `on_changes` handlers
# (the outbox) write in it as they do during ingest.


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
        """The id of the newest raw row stored for each of `source_ids` (when any)."""
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


# --- record lifecycle: outbox, conditional updates, hook runs, features ---------------


class ClaimedEvent(NamedTuple):
    """An outbox row leased to one dispatcher."""

    id: int
    srn: str
    convention: str
    version: int
    created_at: str
    attempts: int


HookRunRow = tuple[
    int | None, str, int, str, str, str, int | None, str | None, str | None, str | None, int,
    str, float,
]  # fmt: skip
HOOK_RUN_FIELDS = (
    "event_id",
    "srn",
    "version",
    "convention",
    "hook",
    "status",
    "exit_code",
    "reason",
    "stdout_tail",
    "stderr_tail",
    "features",
    "started_at",
    "duration_seconds",
)

FeatureRow = tuple[str, int, str, str, str, str]
"""(srn, version, hook, name, convention, value as JSON text) of one feature."""


class LifecycleSession(Protocol):
    """One transaction on the lifecycle tables (and the records, for updates)."""

    def append_events(self, convention: str, changes: Sequence[RecordChange], now: str) -> None: ...

    def update_record(
        self, convention: Convention, row: RecordRow, expected_version: int, now: str
    ) -> int:
        """Replace a record's content if, and only if, it is at `expected_version`
        (one conditional statement, not read-then-write): previous version into
        history, version + 1, and its outbox event. Returns the new version, or the
        current one when the content is the same. Raises ConflictError when the record
        is at another version, RecordNotFoundError when there is none."""
        ...

    def claim_events(
        self, owner: str, now: str, lease_until: str, limit: int
    ) -> list[ClaimedEvent]:
        """Lease up to `limit` due events, oldest first, at most one per record: the
        oldest pending event of its record. Events leased to a live dispatcher are
        neither claimed nor overtaken."""
        ...

    def renew_leases(self, ids: Sequence[int], owner: str, lease_until: str) -> set[int]:
        """Extend `owner`'s leases; returns the ids still leased to it."""
        ...

    def ack_events(self, ids: Sequence[int], owner: str | None = None) -> None:
        """Delivered: the events leave the outbox. With `owner`, only those still leased
        to it (one whose lease ran out and was claimed by another dispatcher is that
        one's to acknowledge: it may be delivering it, and the record's next event
        must not overtake it)."""
        ...

    def fail_event(
        self, event_id: int, error: str, now: str, retry_at: str | None, owner: str | None = None
    ) -> None:
        """Count a failed delivery: due again at `retry_at`, or dead when None. With
        `owner`, only while the event is still leased to it."""
        ...

    def release_events(self, ids: Sequence[int], owner: str) -> None:
        """Give leases back unused (the dispatcher is stopping)."""
        ...

    def retry_events(self, ids: Sequence[int] | None) -> int:
        """Dead events (all when `ids` is None) become pending with fresh attempts."""
        ...

    def record_hook_run(self, run: HookRunRow, features: Sequence[FeatureRow]) -> None:
        """A hook run and the features it produced (upserted by srn, version, hook,
        name, so a re-run updates in place), together."""
        ...


class LifecycleStorage(Protocol):
    def session(self) -> AbstractContextManager[LifecycleSession]: ...

    def event_sources(
        self, convention: Convention, events: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], str]:
        """Provenance JSON of each (srn, version) that exists."""
        ...

    def dead_events(self) -> list[DeadEvent]: ...

    def pending_events(self) -> int: ...

    def features(self, srn: str) -> list[Feature]: ...

    def hook_runs(self, failed_only: bool, limit: int | None) -> list[HookRun]: ...

    def hook_succeeded(self, srn: str, version: int, hook: str) -> bool: ...


class HookRunner(Protocol):
    """Runs one hook program on a prepared work_dir. Small on purpose: a runner that
    starts a Kubernetes Job (work_dir on a shared volume) is one new adapter."""

    def run(
        self, hook: HookSpec, work_dir: Path, env: Mapping[str, str], timeout: float
    ) -> HookResult: ...


class WorkSpace(Protocol):
    """Where hooks work: a fresh work_dir per run, the features it left, cleanup."""

    def prepare(self, base: Path, hook: str, record_json: bytes, raw: bytes | None) -> Path:
        """A new work_dir under `base` holding record.json, raw.bin (when given) and
        an empty features/."""
        ...

    def read_features(self, work_dir: Path) -> list[tuple[str, bytes]]:
        """(file name, bytes) of every `features/*.json`."""
        ...

    def remove(self, work_dir: Path) -> None: ...


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
    ) -> set[int]:
        """The indexes (first item of each key: index, source id, sha256) whose raw row
        (source, source id, sha256) is stored AND whose record (source_type, upstream,
        source id)
        was built from a payload with that sha256 by `extractor_version` for `source`."""
        ...


# --- inputs: how adapters read a source's data (see services.inputs) ----------------------


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """What an input needs to know of its source to frame it (files, stdin, bodies)."""

    format: SourceFormat = SourceFormat.JSONL
    #: CSV: columns the header must name (the id's), or the file is refused whole
    required_columns: tuple[str, ...] = ()
    #: the longest line held in memory and parsed (see `DataSource.max_line_bytes`)
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES

    @classmethod
    def of(cls, source: DataSource) -> ReadOptions:
        # a Python extractor may make the id from anything: only declared ids are checked
        ids = () if source.extractor else tuple(dict.fromkeys(p[0] for p in source.id_paths))
        required = ids if source.format is SourceFormat.CSV else ()
        return cls(source.format, required, source.max_line_bytes)


#: The bytes of a spilled payload, in order, read again from where they were received
#: (raises InputError if they changed since: a file rewritten during the ingest).
Chunks = Callable[[], Iterator[bytes]]


class Spilled(NamedTuple):
    """A payload too long to hold: quarantined with `reason`; the storage streams its
    bytes from `chunks` (length and sha256 known from the first read)."""

    line: int
    length: int
    sha256: bytes
    reason: str
    chunks: Chunks


class UnframeableError(InputError):
    """A JSON document that does not frame (ends early, is not an array or object, has
    content after it). A simple source refuses the file; a raw source keeps it whole as
    one quarantined payload (`WholeDocument.whole`)."""

    def __init__(self, source: object, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.input = source
        self.reason = reason
