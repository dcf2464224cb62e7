"""ReplayRaw use case: re-derive a source's records from its raw store.

A window of raw rows (source, optional entity type, received_at range, extractor
version) is read in keyset batches of (received_at, id), each batch extracted again
with the source's current extractor and written in one transaction through the same
`upsert_records` as ingest: unchanged content keeps its version (and only learns the new
extractor version), changed content gets a new one. Raw rows remember the extractor
version, error and time of their last extraction; payloads that fail now are
quarantined, quarantined payloads that pass now are released.

Only the newest raw row of a source id drives its record (an older payload replayed
after a newer one would otherwise roll the record back and forth), so replaying twice
changes nothing the second time. Quarantine replay is the same step over the open
quarantine entries of a source (simple sources: over the bytes the entry holds).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from ingestry.domain.clock import Clock, iso, run_srn, utc_now
from ingestry.domain.errors import IngestryError
from ingestry.domain.sources import DataSource
from ingestry.extract.compiler import Extractor
from ingestry.services.batch import Provenance
from ingestry.services.ingest import DEFAULT_BATCH_SIZE
from ingestry.services.ports import (
    ExistingRecord,
    OnChanges,
    QuarantineItem,
    QuarantineRow,
    RawMark,
    RawOperations,
    RawSession,
    RawWindow,
    RecordRow,
    Storage,
    StoredRaw,
)
from ingestry.services.reextract import Extracted, extract_stored
from ingestry.services.writemode import gc_paused

ReplayProgressFn = Callable[[int, int], None]  # (rows scanned, rows in the window or 0)


class NotRawSourceError(IngestryError):
    """An operation that needs raw rows, asked of a simple source."""


@dataclass(slots=True)
class ReplaySummary:
    """What a replay did (or, with dry_run, would do)."""

    source: str
    scanned: int = 0
    records_created: int = 0
    records_updated: int = 0
    records_unchanged: int = 0
    quarantined: int = 0
    released_from_quarantine: int = 0
    superseded: int = 0  # extracted fine, but a newer payload of the same id drives the record
    extractor_version: str = ""
    dry_run: bool = False
    seconds: float = 0.0
    run_srn: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Rollback(Exception):
    """Raised inside a dry run's transaction so that it rolls back."""


@dataclass(slots=True)
class _Batch:
    """One batch's work: raw rows (or quarantine entries) and how to treat them."""

    rows: list[StoredRaw]
    raw: bool  # rows are raw rows (mark them, newest wins); else quarantine entries
    release_all: bool = False  # release every passing row's entry (quarantine replay)


class ReplayService:
    """Replays raw windows and quarantine entries of the sources of one config."""

    def __init__(
        self,
        storage: Storage,
        extractor_for: Callable[[DataSource], Extractor],
        *,
        clock: Clock = utc_now,
        batch_size: int = DEFAULT_BATCH_SIZE,
        on_changes: OnChanges | None = None,
        actor: str = "replay",
    ) -> None:
        self.storage = storage
        self.extractor_for = extractor_for
        self.clock = clock
        self.batch_size = batch_size
        self.on_changes = on_changes
        self.actor = actor
        self._ops: RawOperations | None = None

    @property
    def ops(self) -> RawOperations:
        """One per service: it caches what batches share (CSV headers)."""
        if self._ops is None:
            self._ops = self.storage.raw_operations()
        return self._ops

    # --- entry points ---------------------------------------------------------------

    def replay(
        self,
        source: DataSource,
        window: RawWindow,
        *,
        dry_run: bool = False,
        progress: ReplayProgressFn | None = None,
    ) -> ReplaySummary:
        if not source.is_raw:
            raise NotRawSourceError(
                f"{source.name} is a simple source: it keeps no raw payloads to replay "
                f"(re-ingest it, or make it raw: ingestry sources migrate {source.name} --to raw)"
            )
        total = self.ops.window_count(window) if progress is not None else 0
        batches = (_Batch(rows, True) for rows in self._window(window))
        return self._run(source, batches, dry_run, progress, total)

    def replay_quarantine(
        self, source: DataSource, ids: Sequence[int] | None = None, *, dry_run: bool = False
    ) -> ReplaySummary:
        """Extract open quarantine entries again; release (and write) those that pass."""
        return self._run(source, self._quarantine(source, ids), dry_run, None, 0)

    # --- reading ----------------------------------------------------------------------

    def _window(self, window: RawWindow) -> Iterator[list[StoredRaw]]:
        after: tuple[str, int] | None = None
        while True:
            rows = self.ops.window_batch(window, after, self.batch_size)
            if not rows:
                return
            yield rows
            if len(rows) < self.batch_size:
                return
            after = (rows[-1].received_at, rows[-1].id)

    def _quarantine(self, source: DataSource, ids: Sequence[int] | None) -> Iterator[_Batch]:
        after = 0
        while True:
            items = self.ops.quarantine_items(source.name, ids, after, self.batch_size)
            if not items:
                return
            after = items[-1].id
            held: list[QuarantineItem] = items
            if source.is_raw:
                found = self.ops.quarantine_raw_rows(source.name, items)
                if found:
                    yield _Batch(found, True, release_all=True)
                stored = {r.sha256 for r in found}
                # entries without a raw row (quarantined while the source was simple)
                held = [i for i in items if i.sha256 not in stored]
            if held:
                yield _Batch([_as_stored(i) for i in held], False)
            if len(items) < self.batch_size:
                return

    # --- writing ----------------------------------------------------------------------

    def _run(
        self,
        source: DataSource,
        batches: Iterator[_Batch],
        dry_run: bool,
        progress: ReplayProgressFn | None,
        total: int,
    ) -> ReplaySummary:
        started = time.perf_counter()
        extractor = self.extractor_for(source)
        run = run_srn("replay-run", self.clock())
        summary = ReplaySummary(
            source.name, extractor_version=extractor.version, dry_run=dry_run, run_srn=run
        )
        provenance = Provenance.of("harvest", harvest_run_srn=run, upstream_source=source.name)
        if not dry_run:
            with self.ops.session() as session:
                session.start_run(run, source.name, ["replay"], iso(self.clock()))
        status = "failed"
        try:
            with gc_paused():
                for batch in batches:
                    try:
                        with self.ops.session() as session:
                            self._apply(session, source, extractor, provenance, batch, summary)
                            if dry_run:
                                raise _Rollback
                    except _Rollback:
                        pass
                    if progress is not None:
                        progress(summary.scanned, total)
            status = "succeeded"
        finally:
            summary.seconds = round(time.perf_counter() - started, 3)
            if not dry_run:
                with self.ops.session() as session:
                    session.finish_run(run, status, summary.as_dict(), iso(self.clock()))
        return summary

    def _apply(
        self,
        session: RawSession,
        source: DataSource,
        extractor: Extractor,
        provenance: Provenance,
        batch: _Batch,
        summary: ReplaySummary,
    ) -> None:
        now = iso(self.clock())
        version = extractor.version
        passed: list[tuple[StoredRaw, Extracted]] = []
        failed: list[tuple[StoredRaw, str]] = []
        for raw in batch.rows:
            result = extract_stored(extractor, raw.payload, raw.header, synthesized=raw.synthesized)
            if isinstance(result, str):
                failed.append((raw, result))
            else:
                passed.append((raw, result))
        summary.scanned += len(batch.rows)
        applied = self._newest(session, source, passed) if batch.raw else passed
        summary.superseded += len(passed) - len(applied)
        self._write_records(session, source, extractor, provenance, applied, batch.raw, summary)
        self._requarantine(session, source, failed, batch.raw, summary, now)
        release_ids: list[int] = []
        release_shas: list[bytes] = []
        if batch.raw:
            session.mark_raw(source.name, _marks(passed, failed, version), now)
            release_shas = [r.sha256 for r, _ in passed if batch.release_all or r.error]
        else:
            release_ids = [r.id for r, _ in passed]
        if release_ids or release_shas:
            released = session.resolve_quarantine(
                source.name,
                ids=release_ids,
                sha256s=release_shas,
                status="released",
                resolution=f"extracts with {version}",
                actor=self.actor,
                now=now,
            )
            summary.released_from_quarantine += len(released)

    def _newest(
        self, session: RawSession, source: DataSource, passed: list[tuple[StoredRaw, Extracted]]
    ) -> list[tuple[StoredRaw, Extracted]]:
        """The rows that are the payload of their source id's latest receipt (the one
        received last, even when an older payload's bytes were re-sent after a newer
        one's); for an id with no stored payload yet (a failed payload that extracts
        now), the newest of the batch."""
        ids = list({e.draft.source_id for _, e in passed})
        latest = session.latest_raw_ids(source.name, ids) if ids else {}
        newest: dict[str, int] = {}
        for raw, e in passed:
            if raw.id > newest.get(e.draft.source_id, -1):
                newest[e.draft.source_id] = raw.id
        newest.update(latest)
        return [(raw, e) for raw, e in passed if newest[e.draft.source_id] == raw.id]

    def _write_records(
        self,
        session: RawSession,
        source: DataSource,
        extractor: Extractor,
        provenance: Provenance,
        applied: list[tuple[StoredRaw, Extracted]],
        raw: bool,
        summary: ReplaySummary,
    ) -> None:
        if not applied:
            return
        convention = extractor.convention
        version = extractor.version
        kind, upstream = provenance.type, source.name  # a harvest of this data source
        ids = list({e.draft.source_id for _, e in applied})
        found: dict[str, ExistingRecord] = {
            r.source_id: r for r in session.existing_records(convention, kind, upstream, ids)
        }
        rows: list[RecordRow] = []
        stale: list[tuple[str, str, str]] = []
        for stored, (draft, metadata, content) in applied:
            sid = draft.source_id
            raw_sha = stored.sha256 if raw else None
            existing = found.get(sid)
            if existing is not None and existing.deleted:
                summary.records_unchanged += 1  # soft-deleted: replay never brings it back
                continue
            # an existing record keeps its provenance (the run that last changed it)
            prov = _source_json(provenance, sid) if existing is None else existing.source
            rows.append((kind, sid, prov, source.name, metadata.decode(), content, version,
                         raw_sha, draft.columns, upstream))  # fmt: skip
            if existing is not None and existing.extractor_version != version:
                stale.append((kind, upstream, sid))
        result = session.upsert_records(convention, rows, iso(self.clock()))
        summary.records_created += result.created
        summary.records_updated += result.updated
        summary.records_unchanged += result.unchanged
        changed = {(c.source_type, c.upstream, c.source_id) for c in result.changes}
        stale = [key for key in dict.fromkeys(stale) if key not in changed]
        if stale:
            session.set_extractor_version(convention, stale, version)
        if self.on_changes is not None and result.changes:
            self.on_changes(session, convention.name, result.changes)

    def _requarantine(
        self,
        session: RawSession,
        source: DataSource,
        failed: list[tuple[StoredRaw, str]],
        raw: bool,
        summary: ReplaySummary,
        now: str,
    ) -> None:
        summary.quarantined += len(failed)
        if not raw or not failed:
            return  # quarantine entries that still fail stay open as they are
        rows: list[QuarantineRow] = [
            (source.name, r.sha256, r.payload, r.line, r.origin, reason, r.received_at)
            for r, reason in failed
        ]
        session.quarantine(rows)
        by_header: dict[bytes, list[bytes]] = {}
        for r, _ in failed:
            if r.header is not None and not r.synthesized:
                by_header.setdefault(r.header, []).append(r.sha256)
        for header, shas in by_header.items():
            session.quarantine_headers(source.name, (_sha256(header), header), shas)


def _marks(
    passed: list[tuple[StoredRaw, Extracted]], failed: list[tuple[StoredRaw, str]], version: str
) -> list[RawMark]:
    """Raw rows whose extraction state changes; rows already extracted by this version
    with the same outcome are left alone, so a second replay writes nothing."""
    marks: list[RawMark] = []
    for r, e in passed:
        sid, entity = e.draft.source_id, e.draft.entity_type
        moved = sid != r.source_id or entity != r.entity_type
        if r.extractor_version != version or r.error is not None or moved:
            marks.append((r.id, r.received_at, r.sha256, r.source_id, version, None,
                          sid if moved else None, entity if moved else None))  # fmt: skip
    for r, reason in failed:
        if r.extractor_version != version or r.error != reason:
            marks.append((r.id, r.received_at, r.sha256, r.source_id, version, reason, None, None))
    return marks


def _source_json(provenance: Provenance, source_id: str) -> str:
    head = b'{"type":"' + provenance.type.encode() + b'","id":'
    return (head + orjson.dumps(source_id) + provenance.fields + b"}").decode()


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _as_stored(item: QuarantineItem) -> StoredRaw:
    """A quarantine entry in the shape of a raw row (its id is the entry's id)."""
    return StoredRaw(
        item.id, item.received_at, "", "", item.sha256, item.payload, item.header,
        None, "quarantined", False, item.line, item.origin,
    )  # fmt: skip
