"""IngestBatch use case: route a source's input through raw or simple, in batches.

Non-strict runs commit batch by batch (memory and WAL stay flat; a crash loses no
acknowledged batch and a re-run dedupes). Strict runs hold one transaction for the
whole run and roll it back at the first bad row; so do runs over JSON documents, which
are taken whole or not at all (see `services.spill`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

from ingestry.domain.clock import Clock, iso, run_srn, utc_now
from ingestry.domain.sources import DataSource
from ingestry.extract.compiler import Extractor
from ingestry.services.batch import Provenance
from ingestry.services.inputs import (
    Input,
    Spilled,
    UnframeableError,
    described,
    receipts_of,
)
from ingestry.services.lanes import OrderedLanes
from ingestry.services.ports import (
    Arrivals,
    BatchWork,
    OnChanges,
    PayloadProbe,
    PreparedBatch,
    Receipt,
    Storage,
    StorageSession,
)
from ingestry.services.preparation import LeanPolicy, MapFn, Preparation, ProgressFn
from ingestry.services.repeats import FarRepeats
from ingestry.services.rescan import RescanPolicy
from ingestry.services.runcontext import COUNTS, IngestSummary, ingest_run
from ingestry.services.spill import (
    DOCUMENT_FORMATS,
    spilled_batch,
    spilled_of,
    strict_refusal,
    take_whole,
)
from ingestry.services.supersede import Overlap, supersede, with_overlaps
from ingestry.services.writemode import WriteMode, gc_paused

__all__ = ["COUNTS", "DEFAULT_BATCH_SIZE", "BadRow", "IngestService", "IngestSummary", "gc_paused"]

DEFAULT_BATCH_SIZE = 5000

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class BadRow:
    origin: str
    line: int
    reason: str


class IngestService:
    """Runs ingests for the sources of one config against one storage. How batches
    reach the storage fast (`mode`) is decided once, by the composition root."""

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
        mode: WriteMode | None = None,
    ) -> None:
        self.storage = storage
        self.extractor_for = extractor_for
        self.clock = clock
        self.batch_size = batch_size
        self.on_changes = on_changes
        self.parallel = parallel
        self.parallel_threshold = parallel_threshold
        # the composition root passes the storage's mode; built here for a bare service
        self.mode = WriteMode.of(storage) if mode is None else mode

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
        # a re-ingest skips what the store holds unchanged (see services.rescan)
        policy = self.mode.rescan(source, extractor.python is not None)
        lean = self.mode.lean()
        prep = self._preparation(source, extractor, provenance)
        big = sum(i.size or 0 for i in inputs) >= self.parallel_threshold
        # worker processes pay off for files; API bodies and stdin are prepared inline
        parallel = self.parallel if big else None
        if strict or source.format in DOCUMENT_FORMATS:
            policy.enabled = False  # nothing of the run is written until it all is
        # each batch once the next is prepared: an id both hold is the next one's;
        # ids further apart: deferred when the previous run noticed them (services.repeats)
        repeats = FarRepeats(self._repeated_ids(source))
        work = prep.batches(inputs, progress, policy, lean, parallel)
        batches = with_overlaps(work, repeats)
        if strict or source.format in DOCUMENT_FORMATS:
            at_once = (supersede(b, overlap, repeats) for _, b, overlap in batches)
            return self._ingest_at_once(
                source, extractor, inputs, at_once, strict, summary, repeats
            )
        receipt = Receipt(run)
        receipt_of = receipts_of(run, inputs)

        def write(
            session: StorageSession, work: BatchWork | None, batch: PreparedBatch, overlap: Overlap
        ) -> IngestSummary:
            mine = receipt_of(batch_origin(work, batch)) if receipt_of else receipt
            return self._write_batch(
                session, prep, work, batch, policy, lean, overlap, mine, repeats
            )

        with ingest_run(summary, origins, self.clock, storage=self.storage, started=started):
            self.mode.write(self.storage, batches, write, summary.add)
            if repeats.pending:
                with self.storage.session() as session:
                    summary.add(self._write_deferred(session, source, extractor, repeats))
            for origin, spill in spilled_of(inputs):
                mine = receipt_of(origin) if receipt_of else receipt
                with self.storage.session() as session:
                    summary.add(
                        self._write_spilled(session, source, extractor, spill, origin, mine)
                    )
            summary.inputs = described(inputs)  # what reading decided, in the run's summary
        return summary

    def _ingest_at_once(
        self,
        source: DataSource,
        extractor: Extractor,
        inputs: Sequence[Input],
        batches: Iterable[PreparedBatch],
        strict: bool,
        summary: IngestSummary,
        repeats: FarRepeats,
    ) -> IngestSummary:
        """The run in one transaction: under --strict (rolled back at the first bad
        payload) and over JSON documents (one that does not frame leaves nothing)."""
        parts: list[IngestSummary] = []
        origins = [i.name for i in inputs]
        receipt = Receipt(summary.run_srn)
        receipt_of = receipts_of(summary.run_srn, inputs)
        with (
            self.storage.session() as session,
            ingest_run(summary, origins, self.clock, session=session),
        ):
            for batch in batches:
                if strict and batch.quarantine:
                    _, _, _, line, origin, reason, _ = batch.quarantine[0]
                    raise strict_refusal(source, origin, line, reason)
                mine = receipt_of(batch_origin(None, batch)) if receipt_of else receipt
                parts.append(self._write_unit(session, source, extractor, batch, mine))
            for origin, spill in spilled_of(inputs):
                if strict:
                    raise strict_refusal(source, origin, spill.line, spill.reason)
                mine = receipt_of(origin) if receipt_of else receipt
                parts.append(self._write_spilled(session, source, extractor, spill, origin, mine))
            parts.append(self._write_deferred(session, source, extractor, repeats))
            summary.count(parts)
            summary.inputs = described(inputs)
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
                    receipt = Receipt(summary.run_srn)
                    with ingest_run(summary, origins, self.clock, session=session, started=started):
                        mine = parts[summary.run_srn] = [
                            self._write_unit(session, source, extractor, batch, receipt)
                            for batch in batches
                        ]
                        summary.count(mine)
        for item in prepared:  # a replay at commit recounts its batches
            if not isinstance(item, Exception):
                item[0].count(parts[item[0].run_srn])
        return [item if isinstance(item, Exception) else item[0] for item in prepared]

    def ingest_part(self, source: DataSource, inputs: Sequence[Input], run: str) -> IngestSummary:
        """`inputs` written in one transaction as a part of run `run`, which the caller
        opens and closes (an HTTP pull commits page by page: see services.harvest)."""
        return self.write_part(source, self.prepare_part(source, inputs, run), run)

    def prepare_part(
        self, source: DataSource, inputs: Sequence[Input], run: str
    ) -> list[PreparedBatch]:
        """The batches of `inputs` for `write_part`, prepared with no storage access (a
        harvest prepares page n+1 on its fetching thread while page n is written)."""
        extractor = self.extractor_for(source)
        provenance = Provenance.of("harvest", harvest_run_srn=run, upstream_source=source.name)
        return _prepared_whole(self._preparation(source, extractor, provenance), source, inputs)

    def write_part(
        self, source: DataSource, batches: Sequence[PreparedBatch], run: str
    ) -> IngestSummary:
        """Prepared batches written in one transaction, as a part of run `run`."""
        extractor = self.extractor_for(source)
        receipt = Receipt(run)
        with gc_paused(), self.storage.session() as session:
            parts = [self._write_unit(session, source, extractor, b, receipt) for b in batches]
        total = IngestSummary(source=source.name, run_srn=run)
        total.count(parts)  # after the commit: a replay at commit recounts its batches
        return total

    def part_preparation(self, source: DataSource, run: str) -> Preparation:
        """The preparation of run `run`'s parts, a part's input in one batch (an HTTP
        pull's page: see services.pullprep)."""
        extractor = self.extractor_for(source)
        provenance = Provenance.of("harvest", harvest_run_srn=run, upstream_source=source.name)
        encoder = self.mode.encoder
        return Preparation(
            source, extractor, provenance, batch_size=1 << 62, clock=self.clock,
            encode=None if encoder is None else encoder(extractor.convention),
        )  # fmt: skip

    def write_parts(
        self,
        source: DataSource,
        parts: Iterable[tuple[Sequence[PreparedBatch], T]],
        run: str,
        done: Callable[[IngestSummary, T], None],
    ) -> None:
        """Each part's batches written in one transaction of run `run`, committed in
        order; `done(counts, tag)` hears of each part once it committed, in order, on
        this thread. On a storage with lanes (PostgreSQL) a part whose keys touch none
        of those in flight is written beside them (see `services.lanes`). Leaving by an
        exception of `parts`, the parts already given still commit (and `done` hears of
        them) before it is raised."""
        extractor = self.extractor_for(source)
        receipt = Receipt(run)

        def write(session: StorageSession, batches: Sequence[PreparedBatch]) -> IngestSummary:
            units = [self._write_unit(session, source, extractor, b, receipt) for b in batches]
            total = IngestSummary(source=source.name, run_srn=run)
            total.count(units)
            return total

        lanes = self.mode.lanes
        with gc_paused():
            if lanes is None:
                for batches, tag in parts:
                    with self.storage.session() as session:
                        part = write(session, batches)
                    done(part, tag)
                return

            def committed(result: tuple[IngestSummary, T]) -> None:
                done(*result)

            def writer(
                batches: Sequence[PreparedBatch], tag: T
            ) -> Callable[[StorageSession], tuple[IngestSummary, T]]:
                return lambda session: (write(session, batches), tag)

            with OrderedLanes(lanes.lane_session, lanes.lanes, committed, lanes.blocked_by) as ln:
                for batches, tag in parts:
                    ln.submit(_keys_of(batches), writer(batches, tag))

    def _preparation(
        self, source: DataSource, extractor: Extractor, provenance: Provenance
    ) -> Preparation:
        encoder = self.mode.encoder
        return Preparation(
            source, extractor, provenance, batch_size=self.batch_size, clock=self.clock,
            encode=None if encoder is None else encoder(extractor.convention),
        )  # fmt: skip

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
        repeats: FarRepeats,
    ) -> IngestSummary:
        """Write one batch; a scanned one is prepared first, from its `work`, without
        the payloads the storage holds unchanged (never those the next batch
        supersedes: they are left out, not counted as unchanged)."""
        if batch.scan is not None:
            assert work is not None, "a scanned batch comes with its work"
            probe = cast(PayloadProbe, session)  # the mode scans only on probing storages
            left = overlap.later | overlap.deferred  # written later: never skipped here
            source, extractor = prep.source, prep.extractor
            assert batch.scan_lines is not None
            keys, lines = [], []
            for key, line in zip(batch.scan, batch.scan_lines, strict=True):
                if key[1] not in left:
                    keys.append(key)
                    lines.append(line)
            # the probe writes the receipts of the payloads it skips (one lookup each)
            arrivals = Arrivals(receipt, work[1], work[2], lines)
            skip = probe.unchanged_payloads(
                source.name, extractor.convention, prep.provenance.type,
                prep.provenance.upstream, extractor.version, keys, arrivals,
            )  # fmt: skip
            if len(skip) == batch.received:  # nothing to prepare (or even to frame)
                batch = PreparedBatch(skipped=len(skip))
            else:
                batch = prep.rows(work, skip=skip)
                batch.skipped = len(skip)
        batch = supersede(batch, overlap, repeats)
        part = self._write_unit(session, prep.source, prep.extractor, batch, receipt, policy)
        lean.observe(
            part.raw_stored == len(batch.raw) and part.records_created == len(batch.records)
        )
        return part

    def _repeated_ids(self, source: DataSource) -> frozenset[str]:
        with self.storage.session() as session:
            return session.repeated_ids(source.name)

    def _write_deferred(
        self, session: StorageSession, source: DataSource, extractor: Extractor,
        repeats: FarRepeats,
    ) -> IngestSummary:  # fmt: skip
        """After the run's last batch: the deferred ids' records, each from its last
        occurrence (their raw rows and receipts went with their batches), and the
        far-apart ids this run noticed, for the next run to defer."""
        part = IngestSummary(source=source.name)
        if not repeats.pending:
            return part  # the common case: no statement at all
        rows = repeats.rows()

        def work() -> None:
            part.count(())
            if rows:
                now = iso(self.clock())
                result = session.upsert_records(extractor.convention, rows, now)
                part.records_created += result.created
                part.records_updated += result.updated
                part.records_unchanged += result.unchanged
                if self.on_changes is not None and result.changes:
                    self.on_changes(session, extractor.convention.name, result.changes)
            session.keep_repeated_ids(source.name, repeats.found)

        session.unit(work)
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


def _keys_of(batches: Sequence[PreparedBatch]) -> frozenset[str | bytes] | None:
    """The keys of a part's batches (None: one of them does not know its keys)."""
    keys: set[str | bytes] = set()
    for batch in batches:
        if batch.keys is None or batch.headers:
            return None
        keys.update(batch.keys)
    return frozenset(keys)


def batch_origin(work: BatchWork | None, batch: PreparedBatch) -> str | None:
    """The name of the input a batch was read from (batches never span inputs)."""
    if work is not None:
        return work[2]
    if batch.quarantine:
        return batch.quarantine[0][4]
    return batch.raw[0][11] if len(batch.raw) else None


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
