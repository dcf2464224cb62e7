"""PublishRecord, BulkPublish, UpdateRecord: records from any pathway.

A record is created the same way whether a client deposits it, a harvest run pulls
it, or another node forks or exports it: rows go through the storage's upsert (the
path file ingest takes, batch by batch) and their outbox events through the same
transaction. Updates are optimistic: the storage writes only if the record is still
at the version the caller read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ingestry.domain.clock import Clock, iso, utc_now
from ingestry.domain.conventions import Convention
from ingestry.domain.errors import (
    ExtractionError,
    IngestryError,
    InvalidSourceError,
    RecordNotFoundError,
    StrictModeError,
)
from ingestry.domain.provenance import RecordSource
from ingestry.domain.records import parse_srn, srn_of
from ingestry.services.batch import last_occurrences
from ingestry.services.ports import RecordRow, Storage, StorageSession, UpsertResult
from ingestry.services.publish_rows import PublishExtractor, as_source
from ingestry.services.writemode import gc_paused

DEFAULT_BATCH_SIZE = 5000
#: A bulk publish reports at most this many rejected items one by one (and counts all).
MAX_REPORTED = 1000

PublishItem = tuple[RecordSource | Mapping[str, Any], Mapping[str, Any]]
#: An exported record to import: provenance, data source, metadata, columns (JSON form).
ImportItem = tuple[
    RecordSource | Mapping[str, Any], str | None, Mapping[str, Any], Mapping[str, Any]
]


@dataclass(frozen=True, slots=True)
class RejectedItem:
    """An item `bulk_publish` did not write: its position in the input and why."""

    index: int
    reason: str


@dataclass(slots=True)
class PublishSummary:
    """What one `bulk_publish` did."""

    convention: str
    received: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RejectedItem] = field(default_factory=list)
    seconds: float = 0.0
    #: ids given more than once in a batch: one record each, the last one wins
    duplicate_ids: int = 0

    def reject(self, index: int, reason: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_REPORTED:
            self.errors.append(RejectedItem(index, reason))

    def as_dict(self) -> dict[str, Any]:
        return {
            "convention": self.convention,
            "received": self.received,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors": [{"index": e.index, "reason": e.reason} for e in self.errors],
            "seconds": self.seconds,
            "duplicate_ids": self.duplicate_ids,
        }


class PublishService:
    """Publishes and updates the records of one config's conventions."""

    def __init__(
        self,
        storage: Storage,
        convention: Callable[[str], Convention],
        *,
        clock: Clock = utc_now,
        batch_size: int = DEFAULT_BATCH_SIZE,
        committed: Callable[[list[tuple[str, int]]], object] | None = None,
    ) -> None:
        self.storage = storage
        self.convention = convention
        self.clock = clock
        self.batch_size = batch_size
        #: told (srn, version) of records changed (version > 1) after each commit: the
        #: record cache's read-your-writes (services/cache.py)
        self.committed = committed
        self._changed: list[tuple[str, int]] = []
        self._extractors: dict[str, PublishExtractor] = {}
        #: rows of one `import_rows` call written per transaction: what the storage
        #: asks for (a class attribute `import_rows_per_commit`), else one batch
        self.import_rows_per_commit: int = getattr(storage, "import_rows_per_commit", batch_size)

    def extractor(self, name: str) -> PublishExtractor:
        convention = self.convention(name)
        found = self._extractors.get(name)
        if found is None or found.convention != convention:
            found = self._extractors[name] = PublishExtractor(convention)
        return found

    def publish(
        self, convention: str, source: RecordSource | Mapping[str, Any], metadata: Mapping[str, Any]
    ) -> str:
        """Publish one record (idempotent); returns its srn."""
        extractor = self.extractor(convention)
        provenance = as_source(source)
        srn = srn_of(convention, provenance)
        try:
            row = extractor.row(provenance, metadata)
        except (ExtractionError, InvalidSourceError) as exc:
            raise type(exc)(f"{srn}: {exc}") from None
        with self._commit() as session:
            self._write(session, extractor, [row], PublishSummary(convention))
        return srn

    def bulk_publish(
        self, convention: str, items: Iterable[PublishItem], *, strict: bool = False
    ) -> PublishSummary:
        """Publish many records in batches (one transaction per batch, or one for all
        when `strict`, which rolls everything back at the first bad item)."""
        started = time.perf_counter()
        extractor = self.extractor(convention)
        summary = PublishSummary(convention)
        self._publish(extractor, items, summary, strict, lambda item: extractor.row(*item))
        summary.seconds = round(time.perf_counter() - started, 3)
        return summary

    def import_records(
        self,
        convention: str,
        items: Iterable[ImportItem],
        *,
        strict: bool = False,
        times: Iterable[tuple[str, str] | None] | None = None,
    ) -> PublishSummary:
        """Publish exported records (source, data_source, metadata, columns) as
        `bulk_publish` does, keeping their provenance and data source. `times`, one per
        item (ISO published_at, updated_at, or None): the version an item creates or
        changes keeps those times instead of now's (moving a store keeps its history's
        times)."""
        extractor = self.extractor(convention)
        return self._import(
            extractor, items, strict, times, lambda item: extractor.import_row(*item)
        )

    def import_rows(
        self,
        convention: str,
        rows: Iterable[RecordRow | str | None],
        *,
        times: Iterable[tuple[str, str] | None] | None = None,
    ) -> PublishSummary:
        """`import_records` of rows built already (`PublishExtractor.import_row`, where
        an import parsed its lines, maybe in a worker process): a text in place of a
        row is why its item is rejected. UnknownConventionError as `import_records`."""
        extractor = self.extractor(convention)
        rows = list(rows)
        if all(isinstance(row, tuple) for row in rows):  # none to reject: no per-row work
            return self._import_built(extractor, rows, times)  # type: ignore[arg-type]

        def built(row: RecordRow | str | None) -> RecordRow:
            if isinstance(row, tuple):
                return row
            raise ValueError(row or f"no row built for convention '{convention}'")

        return self._import(extractor, rows, False, times, built)

    def _import_built(
        self,
        extractor: PublishExtractor,
        rows: list[RecordRow],
        times: Iterable[tuple[str, str] | None] | None,
    ) -> PublishSummary:
        """`_import` of rows that are all built: in batches, as `_publish` writes them,
        `import_rows_per_commit` of them a transaction."""
        started = time.perf_counter()
        summary = PublishSummary(extractor.convention.name, received=len(rows))
        stamps: list[tuple[str, str] | None] | None = None if times is None else list(times)
        distinct = len(set(map(_stamp_key, rows))) == len(rows)
        if stamps is not None and not distinct:
            # an id twice: every row of it takes the times of its last one (`_import`)
            last = {_stamp_key(r): t for r, t in zip(rows, stamps, strict=True) if t is not None}
            stamps = [last.get(_stamp_key(r)) for r in rows]
        size, per_commit = self.batch_size, max(self.batch_size, self.import_rows_per_commit)
        with gc_paused():
            for first in range(0, len(rows), per_commit):
                with self._commit() as session:
                    for start in range(first, min(first + per_commit, len(rows)), size):
                        end = min(start + size, first + per_commit)
                        self._write_built(
                            session, extractor, rows[start:end], summary,
                            None if stamps is None else stamps[start:end], distinct,
                        )  # fmt: skip
        summary.seconds = round(time.perf_counter() - started, 3)
        return summary

    def _write_built(
        self,
        session: StorageSession,
        extractor: PublishExtractor,
        rows: list[RecordRow],
        summary: PublishSummary,
        times: list[tuple[str, str] | None] | None,
        distinct: bool,
    ) -> None:
        """`_write` of rows whose times come in order beside them (no lookup by id), and
        whose ids are known distinct or not already."""
        now = iso(self.clock())
        if not distinct and len(set(map(_stamp_key, rows))) != len(rows):
            # the last row of an id stays (in place); its times are its id's
            by_id = dict(zip(map(_stamp_key, rows), times or (), strict=False))
            summary.duplicate_ids += len(last_occurrences(rows))
            times = None if times is None else [by_id[_stamp_key(r)] for r in rows]
        result = session.upsert_records(extractor.convention, rows, now, None, times)
        self._count(session, extractor, summary, result, now)

    def _import(
        self,
        extractor: PublishExtractor,
        items: Iterable[Any],
        strict: bool,
        times: Iterable[tuple[str, str] | None] | None,
        make: Callable[[Any], RecordRow],
    ) -> PublishSummary:
        started = time.perf_counter()
        summary = PublishSummary(extractor.convention.name)
        if times is None:
            self._publish(extractor, items, summary, strict, make)
        else:
            stamps: dict[tuple[str, str, str], tuple[str, str]] = {}

            def build(pair: tuple[Any, tuple[str, str] | None]) -> RecordRow:
                row = make(pair[0])
                if pair[1] is not None:
                    stamps[_stamp_key(row)] = pair[1]
                return row

            self._publish(extractor, zip(items, times, strict=True), summary, strict, build, stamps)
        summary.seconds = round(time.perf_counter() - started, 3)
        return summary

    def _publish(
        self,
        extractor: PublishExtractor,
        items: Iterable[Any],
        summary: PublishSummary,
        strict: bool,
        build: Callable[[Any], RecordRow],
        stamps: Mapping[tuple[str, str, str], tuple[str, str]] | None = None,
    ) -> None:
        with gc_paused():
            if strict:
                with self._commit() as session:
                    for rows in self._batches(items, summary, strict, build):
                        self._write(session, extractor, rows, summary, stamps)
            else:
                for rows in self._batches(items, summary, strict, build):
                    with self._commit() as session:
                        self._write(session, extractor, rows, summary, stamps)

    @contextmanager
    def _commit(self) -> Iterator[StorageSession]:
        """A write session; after it commits, `committed` hears what changed."""
        self._changed = []
        with self.storage.session() as session:
            yield session
        changed, self._changed = self._changed, []
        if changed and self.committed is not None:
            self.committed(changed)

    def _batches(
        self,
        items: Iterable[Any],
        summary: PublishSummary,
        strict: bool,
        build: Callable[[Any], RecordRow],
    ) -> Iterable[list[RecordRow]]:
        rows: list[RecordRow] = []
        for index, item in enumerate(items):
            summary.received += 1
            try:
                rows.append(build(item))
            except (IngestryError, ValueError, TypeError) as exc:
                reason = str(exc)
                if strict:
                    raise StrictModeError(
                        f"{summary.convention}: item {index}: {reason} "
                        "(strict: nothing was written)"
                    ) from None
                summary.reject(index, reason)
                continue
            if len(rows) >= self.batch_size:
                yield rows
                rows = []
        if rows:
            yield rows

    def _write(
        self,
        session: StorageSession,
        extractor: PublishExtractor,
        rows: list[RecordRow],
        summary: PublishSummary,
        stamps: Mapping[tuple[str, str, str], tuple[str, str]] | None = None,
    ) -> None:
        now = iso(self.clock())
        if len(set(map(_stamp_key, rows))) != len(rows):
            summary.duplicate_ids += len(last_occurrences(rows))
        # an import's times go into the upsert itself (no second statement to restamp)
        times = [stamps.get(_stamp_key(r)) for r in rows] if stamps else None
        result = session.upsert_records(extractor.convention, rows, now, None, times)
        self._count(session, extractor, summary, result, now)

    def _count(
        self,
        session: StorageSession,
        extractor: PublishExtractor,
        summary: PublishSummary,
        result: UpsertResult,
        now: str,
    ) -> None:
        """What an upsert did, counted; its changes' events appended."""
        summary.created += result.created
        summary.updated += result.updated
        summary.unchanged += result.unchanged
        if result.changes:
            session.append_events(extractor.convention.name, result.changes, now)
            if self.committed is not None:
                self._changed.extend((c.srn, c.version) for c in result.changes if c.version > 1)

    def update(self, srn: str, metadata: Mapping[str, Any], expected_version: int) -> int:
        """Replace a record's metadata (and so its columns) if it is still at
        `expected_version`; returns the version it is at afterwards. ConflictError
        (nothing written) when it moved on."""
        try:
            name = parse_srn(srn)[0]
        except ValueError as exc:
            raise RecordNotFoundError(str(exc)) from None
        extractor = self.extractor(name)
        current = self.storage.get_record(extractor.convention, srn)
        if current is None:
            raise RecordNotFoundError(f"no record {srn}")
        try:
            row = extractor.update_row(current, metadata)
        except (ExtractionError, InvalidSourceError) as exc:
            raise type(exc)(f"{srn}: {exc}") from None
        with self.storage.lifecycle().session() as session:
            version = session.update_record(
                extractor.convention, row, expected_version, iso(self.clock())
            )
        if self.committed is not None:
            self.committed([(srn, version)])
        return version


def _stamp_key(row: RecordRow) -> tuple[str, str, str]:
    """A row's identity (type, upstream, id): how a batch's repeated ids are told, and how
    an imported row's kept times are found."""
    return (row[0], row[9], row[1])
