"""IngestBatch use case: route a source's input through raw or simple, in batches.

Non-strict runs commit batch by batch (memory and WAL stay flat; a crash loses no
acknowledged batch and a re-run dedupes). Strict runs hold one transaction for the
whole run and roll it back at the first bad row; so do runs over JSON documents, which
are taken whole or not at all (see `services.spill`).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from ingestry.domain.clock import Clock, iso, run_srn, utc_now
from ingestry.domain.sources import DataSource
from ingestry.extract.compiler import Extractor
from ingestry.services.batch import PreparedBatch, Provenance
from ingestry.services.inputs import Input, Spilled, UnframeableError, described
from ingestry.services.lanes import OrderedLanes
from ingestry.services.ports import (
    ConcurrentSessions,
    OnChanges,
    PayloadProbe,
    Receipt,
    ReceiptKey,
    Storage,
    StorageSession,
    WireEncoding,
)
from ingestry.services.preparation import (
    BatchWork,
    LeanPolicy,
    MapFn,
    Preparation,
    ProgressFn,
)
from ingestry.services.rescan import RescanPolicy
from ingestry.services.spill import (
    DOCUMENT_FORMATS,
    spilled_batch,
    spilled_of,
    strict_refusal,
    take_whole,
)
from ingestry.services.supersede import Overlap, supersede, with_overlaps

DEFAULT_BATCH_SIZE = 5000


@contextmanager
def gc_paused() -> Iterator[None]:
    """A run allocates millions of short-lived, cycle-free tuples; the cyclic collector
    would scan them over and over (about 15% of an ingest) for nothing."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(slots=True)
class IngestSummary:
    """The contract's `--json` summary of one ingest run (plus the run's srn)."""

    source: str
    received: int = 0
    raw_stored: int = 0
    raw_duplicates: int = 0
    records_created: int = 0
    records_updated: int = 0
    records_unchanged: int = 0
    quarantined: int = 0
    seconds: float = 0.0
    run_srn: str = ""
    #: ids seen more than once in the input: one record each, the last occurrence wins
    duplicate_ids: int = 0
    #: what reading each input decided (encoding used, delimiter, compressed container
    #: and its sha256); left out of `as_dict` when no input had anything to say
    inputs: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if not self.inputs:
            del out["inputs"]
        return out

    def add(self, part: IngestSummary) -> None:
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(part, name))

    def count(self, parts: Iterable[IngestSummary]) -> None:
        """Set the counts to the sum of the batches' `parts` (seconds, srn untouched)."""
        totals = dict.fromkeys(COUNTS, 0)
        for part in parts:
            for name in COUNTS:
                totals[name] += getattr(part, name)
        for name, value in totals.items():
            setattr(self, name, value)


#: The summary's counters (what a batch adds to its run).
COUNTS = (
    "received", "raw_stored", "raw_duplicates", "records_created", "records_updated",
    "records_unchanged", "quarantined", "duplicate_ids",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class BadRow:
    origin: str
    line: int
    reason: str


class IngestService:
    """Runs ingests for the sources of one config against one storage."""

    def __init__(
        self,
        storage: Storage,
        extractor_for: Callable[[DataSource], Extractor],
        *,
        clock: Clock = utc_now,
        batch_size: int = DEFAULT_BATCH_SIZE,
        on_changes: OnChanges | None = None,
        parallel: MapFn | None = None,
        parallel_threshold: int = 8 << 20,
    ) -> None:
        self.storage = storage
        self.extractor_for = extractor_for
        self.clock = clock
        self.batch_size = batch_size
        self.on_changes = on_changes
        self.parallel = parallel
        self.parallel_threshold = parallel_threshold

    def ingest(
        self,
        source: DataSource,
        inputs: Sequence[Input],
        *,
        strict: bool = False,
        progress: ProgressFn | None = None,
    ) -> IngestSummary:
        chosen = list(inputs)
        with gc_paused():
            while True:
                try:
                    return self._ingest(source, chosen, strict, progress)
                except UnframeableError as exc:  # nothing of this run was written
                    chosen = take_whole(source, chosen, exc, strict)

    def _ingest(
        self,
        source: DataSource,
        inputs: Sequence[Input],
        strict: bool,
        progress: ProgressFn | None,
    ) -> IngestSummary:
        started = time.perf_counter()
        extractor = self.extractor_for(source)
        run = run_srn("harvest-run", self.clock())
        summary = IngestSummary(source=source.name, run_srn=run)
        provenance = Provenance.of("harvest", harvest_run_srn=run, upstream_source=source.name)
        origins = [i.name for i in inputs]
        policy = RescanPolicy(enabled=False)
        lean = LeanPolicy(enabled=isinstance(self.storage, WireEncoding))
        prep = self._preparation(source, extractor, provenance)
        big = sum(i.size or 0 for i in inputs) >= self.parallel_threshold
        # worker processes pay off for files; API bodies and stdin are prepared inline
        parallel = self.parallel if big else None
        # each batch once the next is prepared: an id both hold is the next one's
        batches = with_overlaps(prep.batches(inputs, progress, policy, lean, parallel))
        if strict or source.format in DOCUMENT_FORMATS:
            at_once = (supersede(b, overlap) for _, b, overlap in batches)
            return self._ingest_at_once(source, extractor, inputs, at_once, strict, summary)
        receipt = Receipt(run)
        with self.storage.session() as session:
            session.start_run(run, source.name, origins, iso(self.clock()))
            # a re-ingest skips what the store holds unchanged (raw sources, declarative
            # extractors, storages that can tell: see services.rescan)
            policy.enabled = (
                source.is_raw and extractor.python is None and isinstance(session, PayloadProbe)
            )
        try:
            if isinstance(self.storage, ConcurrentSessions) and self.storage.lanes > 1:
                self._write_in_lanes(self.storage, prep, batches, policy, lean, summary)
            else:
                for work, batch, overlap in batches:
                    with self.storage.session() as session:
                        part = self._write_batch(
                            session, prep, work, batch, policy, lean, overlap, receipt
                        )
                    summary.add(part)  # committed: its counts are final
            for origin, spill in spilled_of(inputs):
                with self.storage.session() as session:
                    summary.add(
                        self._write_spilled(session, source, extractor, spill, origin, receipt)
                    )
        except BaseException:
            summary.seconds = round(time.perf_counter() - started, 3)
            with self.storage.session() as session:
                session.finish_run(run, "failed", summary.as_dict(), iso(self.clock()))
            raise
        summary.seconds = round(time.perf_counter() - started, 3)
        summary.inputs = described(inputs)
        with self.storage.session() as session:
            session.finish_run(run, "succeeded", summary.as_dict(), iso(self.clock()))
        return summary

    def _ingest_at_once(
        self,
        source: DataSource,
        extractor: Extractor,
        inputs: Sequence[Input],
        batches: Iterable[PreparedBatch],
        strict: bool,
        summary: IngestSummary,
    ) -> IngestSummary:
        """The run in one transaction: under --strict (rolled back at the first bad
        payload) and over JSON documents (one that does not frame leaves nothing)."""
        started = time.perf_counter()
        parts: list[IngestSummary] = []
        receipt = Receipt(summary.run_srn)
        with self.storage.session() as session:
            now = iso(self.clock())
            session.start_run(summary.run_srn, source.name, [i.name for i in inputs], now)
            for batch in batches:
                if strict and batch.quarantine:
                    _, _, _, line, origin, reason, _ = batch.quarantine[0]
                    raise strict_refusal(source, origin, line, reason)
                parts.append(self._write_unit(session, source, extractor, batch, receipt))
            for origin, spill in spilled_of(inputs):
                if strict:
                    raise strict_refusal(source, origin, spill.line, spill.reason)
                parts.append(
                    self._write_spilled(session, source, extractor, spill, origin, receipt)
                )
            summary.count(parts)
            summary.seconds = round(time.perf_counter() - started, 3)
            summary.inputs = described(inputs)
            session.finish_run(summary.run_srn, "succeeded", summary.as_dict(), iso(self.clock()))
        summary.count(parts)  # a replay at commit recounts its batches
        return summary

    def ingest_group(
        self, source: DataSource, requests: Sequence[Sequence[Input]]
    ) -> list[IngestSummary | Exception]:
        """Several small ingests (concurrent API requests) written in ONE transaction, so
        they share one commit (one fsync on SQLite) instead of three each; every request
        keeps its own run and summary. Each request's batches are prepared before the
        transaction opens, so a malformed body fails alone (its exception is returned in
        its place); a database failure fails the group, and nothing of it is written."""
        extractor = self.extractor_for(source)
        prepared: list[tuple[IngestSummary, list[PreparedBatch], list[str], float] | Exception]
        prepared = []
        parts: dict[str, list[IngestSummary]] = {}
        with gc_paused():
            for inputs in requests:
                started = time.perf_counter()
                run = run_srn("harvest-run", self.clock())
                provenance = Provenance.of(
                    "harvest", harvest_run_srn=run, upstream_source=source.name
                )
                try:
                    prep = self._preparation(source, extractor, provenance)
                    batches = _prepared_whole(prep, source, inputs)
                except Exception as exc:
                    prepared.append(exc)
                    continue
                summary = IngestSummary(source=source.name, run_srn=run)
                prepared.append((summary, batches, [i.name for i in inputs], started))
            with self.storage.session() as session:
                for item in prepared:
                    if isinstance(item, Exception):
                        continue
                    summary, batches, origins, started = item
                    session.start_run(summary.run_srn, source.name, origins, iso(self.clock()))
                    receipt = Receipt(summary.run_srn)
                    mine = parts[summary.run_srn] = [
                        self._write_unit(session, source, extractor, batch, receipt)
                        for batch in batches
                    ]
                    summary.count(mine)
                    summary.seconds = round(time.perf_counter() - started, 3)
                    session.finish_run(
                        summary.run_srn, "succeeded", summary.as_dict(), iso(self.clock())
                    )
        for item in prepared:  # a replay at commit recounts its batches
            if not isinstance(item, Exception):
                item[0].count(parts[item[0].run_srn])
        return [item if isinstance(item, Exception) else item[0] for item in prepared]

    def _preparation(
        self, source: DataSource, extractor: Extractor, provenance: Provenance
    ) -> Preparation:
        encode = (
            self.storage.wire_encoder(extractor.convention)
            if isinstance(self.storage, WireEncoding)
            else None
        )
        return Preparation(
            source, extractor, provenance,
            batch_size=self.batch_size, clock=self.clock, encode=encode,
        )  # fmt: skip

    def _write_in_lanes(
        self,
        storage: ConcurrentSessions,
        prep: Preparation,
        batches: Iterable[tuple[BatchWork | None, PreparedBatch, Overlap]],
        policy: RescanPolicy,
        lean: LeanPolicy,
        summary: IngestSummary,
    ) -> None:
        """`batches` written on the storage's lanes: side by side where their keys are
        disjoint, committed in order (see `services.lanes`)."""
        committed_headers: set[bytes] = set()
        receipt = Receipt(summary.run_srn)

        def done(result: tuple[IngestSummary, list[bytes]]) -> None:
            part, headers = result
            summary.add(part)  # committed: its counts are final
            committed_headers.update(headers)

        def writer(
            work: BatchWork | None, batch: PreparedBatch, overlap: Overlap
        ) -> Callable[[StorageSession], tuple[IngestSummary, list[bytes]]]:
            def write(session: StorageSession) -> tuple[IngestSummary, list[bytes]]:
                part = self._write_batch(session, prep, work, batch, policy, lean, overlap, receipt)
                return part, [sha for sha, _ in batch.headers]

            return write

        with OrderedLanes(storage.lane_session, storage.lanes, done, storage.blocked_by) as lanes:
            for work, batch, overlap in batches:
                keys = None if batch.keys is None else frozenset(batch.keys)
                # a header stored by a committed batch is only read again (no lock taken)
                fresh = [sha for sha, _ in batch.headers if sha not in committed_headers]
                if keys is not None and fresh:
                    keys = keys.union(fresh)
                lanes.submit(keys, writer(work, batch, overlap))

    def _write_batch(
        self,
        session: StorageSession,
        prep: Preparation,
        work: BatchWork | None,
        batch: PreparedBatch,
        policy: RescanPolicy,
        lean: LeanPolicy,
        overlap: Overlap,
        receipt: Receipt,
    ) -> IngestSummary:
        """Write one batch; a scanned one is prepared first, from its `work`, without
        the payloads the storage holds unchanged (never those the next batch
        supersedes: they are left out, not counted as unchanged)."""
        if batch.scan is not None:
            assert isinstance(session, PayloadProbe) and work is not None
            source, extractor = prep.source, prep.extractor
            skip = session.unchanged_payloads(
                source.name, extractor.convention, prep.provenance.type,
                prep.provenance.upstream, extractor.version,
                [k for k in batch.scan if k[1] not in overlap.later],
            )  # fmt: skip
            receipts = skipped_receipts(source.name, work, batch, skip)
            if len(skip) == batch.received:  # nothing to prepare (or even to frame)
                batch = PreparedBatch(skipped=len(skip))
            else:
                batch = prep.rows(work, skip=skip)
                batch.skipped = len(skip)
            batch.receipts = receipts
        batch = supersede(batch, overlap)
        part = self._write_unit(session, prep.source, prep.extractor, batch, receipt, policy)
        lean.observe(
            part.raw_stored == len(batch.raw) and part.records_created == len(batch.records)
        )
        return part

    def _write_spilled(
        self,
        session: StorageSession,
        source: DataSource,
        extractor: Extractor,
        spill: Spilled,
        origin: str,
        receipt: Receipt,
    ) -> IngestSummary:
        """A spilled payload's rows, then its bytes streamed in, as one unit."""
        batch = spilled_batch(spill, source, extractor, iso(self.clock()), origin)
        part = IngestSummary(source=source.name)

        def work() -> None:
            part.count(())
            self._write(session, source, extractor, batch, part, receipt)
            session.fill_payload(source.name, spill.sha256, spill.length, spill.chunks)

        session.unit(work)
        return part

    def _write_unit(
        self,
        session: StorageSession,
        source: DataSource,
        extractor: Extractor,
        batch: PreparedBatch,
        receipt: Receipt,
        policy: RescanPolicy | None = None,
    ) -> IngestSummary:
        """Write one batch as a unit of the session: its counts, returned, are those of
        the write that finally commits (a PostgreSQL replay after a deadlock runs the
        unit again, and the counts with it)."""
        part = IngestSummary(source=source.name)

        def work() -> None:
            part.count(())  # from zero: a replay counts the batch again
            self._write(session, source, extractor, batch, part, receipt, policy)

        session.unit(work)
        return part

    def _write(
        self,
        session: StorageSession,
        source: DataSource,
        extractor: Extractor,
        batch: PreparedBatch,
        summary: IngestSummary,
        receipt: Receipt,
        policy: RescanPolicy | None = None,
    ) -> None:
        skipped = batch.skipped
        summary.received += batch.received + skipped
        summary.raw_duplicates += skipped
        summary.records_unchanged += skipped
        duplicates = 0
        if source.is_raw:
            stored = session.append_raw(batch.raw, batch.headers, batch.wire, receipt)
            if batch.receipts:
                session.append_receipts(batch.receipts, receipt)
            duplicates = len(batch.raw) - stored
            summary.raw_stored += stored
            summary.raw_duplicates += duplicates
        session.quarantine(batch.quarantine)
        summary.quarantined += len(batch.quarantine)
        summary.duplicate_ids += batch.duplicate_ids
        if batch.quarantine_header is not None:
            shas = [row[1] for row in batch.quarantine]
            session.quarantine_headers(source.name, batch.quarantine_header, shas)
        now = iso(self.clock())
        result = session.upsert_records(extractor.convention, batch.records, now, batch.wire)
        summary.records_created += result.created
        summary.records_updated += result.updated
        summary.records_unchanged += result.unchanged
        if policy is not None:
            policy.observe(batch.received + skipped, skipped + min(duplicates, result.unchanged))
        if self.on_changes is not None and result.changes:
            self.on_changes(session, extractor.convention.name, result.changes)


def skipped_receipts(
    source: str, work: BatchWork, batch: PreparedBatch, skip: set[int]
) -> list[ReceiptKey]:
    """The receipts of a scanned batch's payloads that `skip` leaves out (no-ops: their
    raw rows are stored under the guessed id, which the probe proved)."""
    assert batch.scan is not None and batch.scan_lines is not None
    _, received_at, origin, _, _, _ = work
    return [
        (source, sid, sha, received_at, line, origin)
        for (n, sid, sha), line in zip(batch.scan, batch.scan_lines, strict=True)
        if n in skip
    ]


def _prepared_whole(
    prep: Preparation, source: DataSource, inputs: Sequence[Input]
) -> list[PreparedBatch]:
    """Every batch of `inputs` prepared inline (an API request), an unframeable body
    taken whole for a raw source (see `spill.take_whole`)."""
    chosen = list(inputs)
    while True:
        try:
            work = prep.batches(chosen, None, RescanPolicy(enabled=False), LeanPolicy(False), None)
            return [supersede(batch, o) for _, batch, o in with_overlaps(work)]
        except UnframeableError as exc:
            chosen = take_whole(source, chosen, exc, strict=False)
