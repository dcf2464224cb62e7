"""Writing prepared batches as units of a storage session: the raw rows, receipts,
quarantine and records of one batch, a spilled payload, the deferred repeated ids.

A unit's counts are those of the write that finally commits (a PostgreSQL replay
after a deadlock runs the unit again). `IngestService` builds on this (its bases).
"""

from __future__ import annotations

from collections.abc import Callable

from ingestry.domain.clock import Clock, iso
from ingestry.domain.sources import DataSource
from ingestry.extract.compiler import Extractor
from ingestry.services.batch import Provenance
from ingestry.services.inputs import Spilled
from ingestry.services.ports import OnChanges, PreparedBatch, Receipt, Storage, StorageSession
from ingestry.services.preparation import Preparation
from ingestry.services.repeats import FarRepeats
from ingestry.services.rescan import RescanPolicy
from ingestry.services.runcontext import IngestSummary
from ingestry.services.spill import spilled_batch
from ingestry.services.writemode import WriteMode


class UnitWriter:
    """The unit writes of `IngestService` (which sets these attributes)."""

    storage: Storage
    extractor_for: Callable[[DataSource], Extractor]
    clock: Clock
    batch_size: int
    on_changes: OnChanges | None
    mode: WriteMode

    def _preparation(
        self, source: DataSource, extractor: Extractor, provenance: Provenance
    ) -> Preparation:
        encoder = self.mode.encoder
        return Preparation(
            source, extractor, provenance, batch_size=self.batch_size, clock=self.clock,
            encode=None if encoder is None else encoder(extractor.convention),
        )  # fmt: skip

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
