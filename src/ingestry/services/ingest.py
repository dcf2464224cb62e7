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
from typing import cast

from ingestry.domain.clock import Clock, run_srn, utc_now
from ingestry.domain.sources import DataSource
from ingestry.extract.compiler import Extractor
from ingestry.services.batch import Provenance
from ingestry.services.ingest_parts import IngestParts
from ingestry.services.inputs import Input, UnframeableError, described, receipts_of
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
from ingestry.services.spill import DOCUMENT_FORMATS, spilled_of, strict_refusal, take_whole
from ingestry.services.supersede import Overlap, supersede, with_overlaps
from ingestry.services.writemode import WriteMode, gc_paused

__all__ = ["COUNTS", "DEFAULT_BATCH_SIZE", "BadRow", "IngestService", "IngestSummary", "gc_paused"]

DEFAULT_BATCH_SIZE = 5000


@dataclass(frozen=True, slots=True)
class BadRow:
    origin: str
    line: int
    reason: str


class IngestService(IngestParts):
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
        if policy.enabled and inputs:  # a re-sent file: scan from its first batch
            policy.scan = self._read_before(source, inputs[0].name)
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

    def _read_before(self, source: DataSource, origin: str) -> bool:
        with self.storage.session() as session:
            return cast(PayloadProbe, session).read_before(source.name, origin)

    def _repeated_ids(self, source: DataSource) -> frozenset[str]:
        with self.storage.session() as session:
            return session.repeated_ids(source.name)


def batch_origin(work: BatchWork | None, batch: PreparedBatch) -> str | None:
    """The name of the input a batch was read from (batches never span inputs)."""
    if work is not None:
        return work[2]
    if batch.quarantine:
        return batch.quarantine[0][4]
    return batch.raw[0][11] if len(batch.raw) else None
