"""Ports: the small interfaces services need from storage. Adapters implement them.

Rows crossing the port on the hot path are NamedTuples of storage-ready primitives:
timestamps as ISO 8601 text in UTC, JSON as canonical text, hashes as bytes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, NamedTuple, Protocol, runtime_checkable

from ingestry.domain.conventions import Convention
from ingestry.domain.payloads import QuarantineEntry, RawPayload
from ingestry.domain.records import Record, record_srn

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

RecordRow = tuple[str, str, str, str | None, str, bytes, str | None, bytes | None, tuple[Any, ...]]
"""A record to upsert; its identity is (convention, source_type, source_id)."""
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
)


class RecordChange(NamedTuple):
    """One record that a write created (version 1) or changed (version n > 1).

    Carries the identity, not the srn, so a bulk write pays for srns only when a
    consumer (events) asks for them."""

    convention: str
    source_type: str
    source_id: str
    version: int

    @property
    def srn(self) -> str:
        return record_srn(self.convention, self.source_type, self.source_id)


class UpsertResult(NamedTuple):
    created: int
    updated: int
    unchanged: int
    changes: list[RecordChange]


class StorageSession(Protocol):
    """One transaction. Everything written through it commits or rolls back together."""

    def append_raw(self, rows: Sequence[RawRow], headers: Sequence[tuple[bytes, bytes]]) -> int:
        """Store raw rows; a row whose (source, sha256) exists is a duplicate.

        Returns how many rows were new. `headers` are (sha256, bytes) of CSV headers.
        """
        ...

    def quarantine(self, rows: Sequence[QuarantineRow]) -> None:
        """Keep failed payloads; the same bytes quarantined twice stay one entry."""
        ...

    def upsert_records(
        self, convention: Convention, rows: Sequence[RecordRow], now: str
    ) -> UpsertResult:
        """Insert new records; for existing ones, a changed `content_hash` bumps the
        version (keeping the previous version in history), an equal one changes nothing.
        Rows are applied in order, so an id repeated within `rows` versions correctly."""
        ...

    def start_run(self, srn: str, source: str, origins: list[str], now: str) -> None: ...

    def finish_run(self, srn: str, status: str, summary: dict[str, Any], now: str) -> None: ...


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
        self, convention: Convention, limit: int | None, after: str | None = None
    ) -> Iterator[Record]: ...

    def record_history(self, convention: Convention, srn: str) -> list[Record]: ...

    def raw_payloads(self, source: str, source_id: str) -> list[RawPayload]: ...

    def quarantine_entries(
        self, source: str, status: str | None = "open"
    ) -> list[QuarantineEntry]: ...

    def stats(self, sources: dict[str, str]) -> dict[str, dict[str, int]]:
        """Per source name (mapped to its convention): raw_rows, records, quarantined."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class PayloadProbe(Protocol):
    """A StorageSession that can tell which payloads of a raw source would change
    nothing, before they are prepared (see `services.rescan`)."""

    def unchanged_payloads(
        self,
        source: str,
        convention: Convention,
        source_type: str,
        extractor_version: str,
        keys: Sequence[tuple[int, str, bytes]],
    ) -> set[int]:
        """The indexes (first item of each key: index, source id, sha256) whose raw row
        (source, source id, sha256) is stored AND whose record (source_type, source id)
        was built from a payload with that sha256 by `extractor_version` for `source`."""
        ...
