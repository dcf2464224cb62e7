"""Storage: a database holding the raw store, the records and their history."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from ingestry.domain.conventions import Convention
from ingestry.domain.payloads import QuarantineEntry, RawPayload
from ingestry.domain.query import EVERYTHING, RecordQuery
from ingestry.domain.records import Record
from ingestry.domain.runs import Every, Run, RunKind, StatsBucket
from ingestry.services.ports.changes import ChangeFeed
from ingestry.services.ports.erasure import DeletionStorage, ErasureStorage
from ingestry.services.ports.lifecycle import LifecycleStorage
from ingestry.services.ports.rawops import RawOperations
from ingestry.services.ports.session import StorageSession

#: What a column scan can name besides the declared columns. `source` and `metadata`
#: arrive as JSON text in the export's canonical spelling (`services.export.json_text`);
#: `raw_sha256` as hex; timestamps as aware UTC datetimes.
SCAN_ENVELOPE = (
    "srn",
    "convention",
    "version",
    "published_at",
    "updated_at",
    "data_source",
    "extractor_version",
    "raw_sha256",
    "source",
    "metadata",
)
#: Records per page of a column scan.
SCAN_PAGE = 10_000


class Storage(Protocol):
    """A database holding the raw store, the records and their history."""

    dialect: str

    def session(self) -> AbstractContextManager[StorageSession]: ...

    def erasure(self) -> ErasureStorage:
        """Record erasure and its audit (docs/erasure.md)."""
        ...

    def deletion(self) -> DeletionStorage:
        """Soft delete: tombstone versions (docs/deleting.md)."""
        ...

    def statement_limit(self, seconds: float, setting: str) -> AbstractContextManager[None]:
        """Statements run inside the block are cancelled after `seconds` (0: no limit)
        and raise StatementTimeoutError naming `setting` (docs/limits.md)."""
        ...

    def schema_revision(self) -> str | None:
        """The Alembic revision the database is at (None when empty)."""
        ...

    def node_id(self) -> str:
        """This store's stable node id (`node-<hex>`, made once by the node identity
        migration): the `source_node` other stores give the records they copy from it.
        StorageError when the schema predates it (run `ingestry db upgrade`)."""
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

    def scan_columns(
        self,
        convention: Convention,
        names: Sequence[str],
        query: RecordQuery = EVERYTHING,
        page: int = SCAN_PAGE,
    ) -> Iterator[list[list[Any]]]:
        """The named columns (`SCAN_ENVELOPE` names or declared columns) of the records
        matching `query`, in its order, as pages of at most `page` records: one list
        per name, values as a Record holds them (see SCAN_ENVELOPE for the envelope).
        Built for exports and analytics: no Record object per row."""
        ...

    def count_records(self, convention: Convention, query: RecordQuery = EVERYTHING) -> int:
        """How many records match `query`."""
        ...

    def decimal_shapes(
        self, convention: Convention, columns: Sequence[str]
    ) -> dict[str, tuple[int, int]]:
        """Per decimal column, the most digits any record holds before and after the
        point (at least 1 before): the Parquet type that holds every value exactly.
        One aggregate over the table, not a read of the records."""
        ...

    def record_history(self, convention: Convention, srn: str) -> list[Record]: ...

    def earlier_versions(
        self, convention: Convention, srns: Sequence[str]
    ) -> dict[str, list[Record]]:
        """The earlier versions (not the current one) of these records, oldest first,
        for the srns that have any: what a records export writes before each record."""
        ...

    def raw_payloads(self, source: str, source_id: str) -> list[RawPayload]: ...

    def quarantine_entries(
        self, source: str, status: str | None = "open"
    ) -> list[QuarantineEntry]: ...

    def list_runs(
        self, sources: Sequence[str] | None, kind: RunKind | None, limit: int | None
    ) -> list[Run]:
        """Runs newest first, of these sources and this kind when given."""
        ...

    def get_run(self, srn: str) -> Run | None: ...

    def run_stats(
        self, every: Every, sources: Sequence[str] | None, since: str | None
    ) -> list[StatsBucket]:
        """Ingest counters per (bucket, source), oldest bucket first; `since` is a
        canonical UTC timestamp (`iso`)."""
        ...

    def stats(self, sources: dict[str, str]) -> dict[str, dict[str, int]]:
        """Per source name (mapped to its convention): raw_rows, records, quarantined."""
        ...

    def close(self) -> None: ...

    def lifecycle(self) -> LifecycleStorage:
        """The record-lifecycle side of this database (outbox, hooks, features, updates),
        on the same connection."""
        ...

    def change_feed(self) -> ChangeFeed:
        """The changes feed's reads (record changes in cursor order), same connection."""
        ...

    def raw_operations(self) -> RawOperations:
        """Replay, quarantine, retention and migration support (see RawOperations)."""
        ...
