"""Rows crossing the ports on the hot path, and what a write answers.

Rows are storage-ready primitives: timestamps as ISO 8601 text in UTC, JSON as
canonical text, hashes as bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

from ingestry.domain.records import spell_srn

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


class Receipt(NamedTuple):
    """What the receipts of one batch share: the run that received them and, for a
    compressed input, the container file's name and sha256 (the payloads are its
    decompressed rows). Each raw row adds its own received_at, origin and line."""

    run_srn: str | None
    container: str | None = None
    container_sha256: bytes | None = None


ReceiptKey = tuple[str, str, bytes, str, int | None, str | None]
"""An arrival of a payload the store holds already, found before preparation (see
`services.rescan`): (source, source_id, sha256, received_at, line, origin)."""

QuarantineRow = tuple[str, bytes, bytes, int | None, str | None, str, str]
QUARANTINE_FIELDS = ("source", "sha256", "payload", "line", "origin", "reason", "received_at")

RecordRow = tuple[
    str, str, str, str | None, str, bytes, str | None, bytes | None, tuple[Any, ...], str
]
"""A record to upsert; its identity is (convention, source_type, upstream, source_id).
The upstream comes last so the other fields keep the positions every write path reads."""
RowTimes = tuple[str, str]
"""The times an import gives the version a row writes: (published_at, updated_at), ISO
strings (see `StorageSession.upsert_records`)."""
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

    def __eq__(self, other: object) -> bool:
        """Equal to any sequence of the same changes (a list of them, say)."""
        if isinstance(other, Sequence):
            return len(other) == len(self) and list(other) == list(self)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


class UpsertResult(NamedTuple):
    created: int
    updated: int
    unchanged: int
    changes: Sequence[RecordChange]


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
