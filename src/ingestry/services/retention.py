"""PurgeExpiredRaw use case: apply each raw source's `retention_days`, with an audit.

A raw row expires `retention_days` after it was received. It is purged unless it is
unextracted (processed_at null), quarantined (an open entry for its bytes) or held
(`ingestry raw hold`). Records stay. A pulled source's pages (`harvest_pages`, raw or
simple) received before the cutoff go whole, unless the whole source is held. Every
run writes one audit entry per source with a retention policy (what was purged, what
was kept and why, by whom), even when it purged nothing; a dry run counts the same
things and writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from ingestry.domain.clock import Clock, iso, utc_now
from ingestry.domain.retention import RawHold, RetentionReport
from ingestry.domain.sources import DataSource
from ingestry.services.ports import PurgeResult, RetentionPolicy, Storage
from ingestry.services.ports.harvest import HarvestLedger

#: Rows deleted per transaction (other writers get the database in between).
PURGE_BATCH_ROWS = 10_000
#: Pages deleted per transaction (~90 KB each for 1,000 small items).
PURGE_BATCH_PAGES = 500


class RetentionService:
    def __init__(
        self,
        storage: Storage,
        *,
        clock: Clock = utc_now,
        batch_rows: int = PURGE_BATCH_ROWS,
        pages: HarvestLedger | None = None,
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.batch_rows = batch_rows
        #: the pulled sources' pages (`harvest_pages`), expired as whole rows
        self.pages = pages

    def run(
        self, sources: Sequence[DataSource], *, dry_run: bool = False, actor: str = "cli"
    ) -> list[RetentionReport]:
        ops = self.storage.raw_operations()
        now = self.clock()
        holds = ops.holds(None, iso(now))
        reports: list[RetentionReport] = []
        policies: list[tuple[RetentionPolicy, RetentionReport]] = []
        paged: list[tuple[str, str, RetentionReport]] = []
        pages = self.pages
        for source in sorted(sources, key=lambda s: s.name):
            pulled = source.pull is not None and pages is not None
            if source.retention_days is None or not (source.is_raw or pulled):
                continue
            cutoff = now - timedelta(days=source.retention_days)
            report = RetentionReport(source.name, cutoff, source.retention_days, dry_run=dry_run)
            reports.append(report)
            mine = [h for h in holds if h.source == source.name]
            whole = any(h.source_id is None for h in mine)  # the whole source is held
            if source.is_raw:
                policy = _policy(source.name, iso(cutoff), mine)
                ops.retention_counts(policy, report)
                if whole:
                    report.kept_held = report.rows_purged + report.kept_held
                    report.rows_purged = report.bytes_freed = 0
                else:
                    policies.append((policy, report))
            if pulled and not whole and pages is not None:
                report.pages_purged, report.page_bytes_freed = pages.expired_pages(
                    source.name, iso(cutoff)
                )
                paged.append((source.name, iso(cutoff), report))
        if dry_run:
            return reports
        dropped = ops.drop_partitions([p for p, _ in policies], iso(now))
        for policy, report in policies:
            whole_parts = dropped.get(policy.source, PurgeResult(0, 0, 0))
            rows = ops.purge(policy, self.batch_rows)
            report.rows_purged = whole_parts.rows + rows.rows
            report.bytes_freed = whole_parts.bytes + rows.bytes
            report.partitions_dropped = whole_parts.partitions
        for name, cutoff_text, report in paged:
            assert pages is not None  # `paged` holds sources only when it is given
            report.pages_purged, report.page_bytes_freed = pages.purge_pages(
                name, cutoff_text, PURGE_BATCH_PAGES
            )
        with ops.session() as session:
            for report in reports:
                session.write_audit(report, actor, iso(self.clock()))
        return reports


def _policy(source: str, cutoff: str, holds: list[RawHold]) -> RetentionPolicy:
    """The source's policy: rows of held source ids are kept."""
    ids = tuple(sorted({h.source_id for h in holds if h.source_id is not None}))
    return RetentionPolicy(source, cutoff, ids)
