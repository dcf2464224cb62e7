"""The facade's harvest methods: one run of an HTTP source, its pages, its cursor."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from ingestry.domain.clock import utc_now
from ingestry.domain.errors import RecordNotFoundError
from ingestry.store.control import ControlArea
from ingestry.store.ingest import IngestArea

if TYPE_CHECKING:
    from ingestry.domain.jobs import Job
    from ingestry.domain.sources import DataSource
    from ingestry.services.harvest import HarvestProgress, HarvestSummary
    from ingestry.services.ingest import IngestSummary
    from ingestry.services.ports.harvest import PageInfo, StoredPage
    from ingestry.services.preparation import ProgressFn
    from ingestry.services.schedule import Scheduled


class HarvestArea(IngestArea, ControlArea):
    """Pull an HTTP source (`pull:` in the config)."""

    def harvest(
        self,
        source: str,
        *,
        progress: HarvestProgress | None = None,
        check: Callable[[], None] | None = None,
        owner: str | None = None,
    ) -> HarvestSummary:
        """Run one harvest of `source`: every page, committed page by page; the cursor
        advances when the run has committed (see docs/harvest.md). `owner`: the lease
        owner of the job running it, whose run lock a takeover may take over."""
        from ingestry.bootstrap import build_fetcher, yielding
        from ingestry.services.harvest import HarvestService
        from ingestry.services.ingest import IngestService

        data_source = self.source(source)
        extractor = self.extractor(data_source)
        # the outbox writer that also drops what the run changed from the record cache
        on_changes, noted = self._outbox()
        ingest = IngestService(
            self.storage, lambda _: extractor, parallel=yielding(self._parallel),
            on_changes=on_changes, mode=self.write_mode,
        )  # fmt: skip
        pull = data_source.pull
        fetcher = build_fetcher(pull.concurrency if pull is not None else 1)
        try:
            service = HarvestService(
                ingest, fetcher, self._harvest_ledger(), self._run_locks(), env=os.environ
            )
            parents = self._parents(data_source)
            return service.harvest(
                data_source, progress=progress, check=check, owner=owner, parents=parents
            )
        finally:
            fetcher.close()
            if noted is not None:
                noted.settle()

    def _parents(self, data_source: DataSource) -> list[str] | None:
        """A child resource's parent values, from the store (docs/harvest.md)."""
        from ingestry.services.harvest_parents import parent_values

        each = data_source.pull.for_each if data_source.pull is not None else None
        if each is None:
            return None
        parent = self.source(each.source)
        convention = self.settings.conventions[parent.convention]
        return parent_values(self.storage, convention, parent.name, each.field)

    def harvest_cursor(self, source: str) -> str | None:
        """The source's incremental high-water mark (None before its first run)."""
        return self._harvest_ledger().cursor(self.source(source).name)

    def harvest_pages(self, source: str, run_srn: str | None = None) -> list[StoredPage]:
        """The page responses kept for `source` (of one run), oldest first, bytes and
        all: for a few; `harvest_page_list` pages through many."""
        return self._harvest_ledger().pages(self.source(source).name, run_srn)

    def harvest_page_list(
        self, source: str, run_srn: str | None = None, *, after: int = 0, limit: int = 100
    ) -> list[PageInfo]:
        """Up to `limit` kept pages of `source` (of one run) after page id `after`,
        oldest first, without their bytes."""
        return self._harvest_ledger().page_list(self.source(source).name, run_srn, after, limit)

    def harvest_page(self, page_id: int) -> StoredPage:
        """One kept page by its id, bytes and all."""
        page = self._harvest_ledger().page(page_id)
        if page is None:
            raise RecordNotFoundError(f"no kept page #{page_id}")
        return page

    def page_of(self, source: str, source_id: str) -> StoredPage | None:
        """The kept page a pulled source's record was derived from: the page that held
        the item in the run that made its current version (a simple source keeps no
        raw payload; `raw show` gives this page). None if it is not kept (purged,
        erased) or there is no such record."""
        from ingestry.domain.records import record_srn
        from ingestry.services.harvest_kept import KeptPages

        data_source = self.source(source)
        if data_source.pull is None:
            return None
        convention = self.settings.convention(data_source.convention)
        srn = record_srn(data_source.convention, "harvest", data_source.name, source_id)
        record = self.storage.get_record(convention, srn)
        run = getattr(record.source, "harvest_run_srn", None) if record is not None else None
        if not run:
            return None
        pages = KeptPages(self._harvest_ledger(), self._run_locks(), self.extractor)
        return pages.derived_from(data_source, source_id, run)

    def ingest_source_files(
        self, source: str, *, progress: ProgressFn | None = None, owner: str | None = None
    ) -> IngestSummary:
        """Ingest the source's `files:` (a scheduled run), holding its run lock (the
        lease's of job worker `owner`, when given)."""
        data_source = self.source(source)
        with self._run_locks().hold(data_source.name, owner):
            return self.ingest_files(data_source.name, data_source.files, progress=progress)

    def schedules(self) -> list[Scheduled]:
        """Every `schedule:` of the config as a scheduler entry."""
        from ingestry.services.schedule import Scheduled

        entries = []
        for s in self.settings.sources.values():
            if s.schedule is not None:
                kind = "harvest" if s.pull is not None else "source_files"
                entries.append(Scheduled(kind, s.name, s.schedule, {"source": s.name}))
        if self.settings.backup is not None:  # `backup: {schedule}` (issue 19)
            entries.append(Scheduled("backup", "store", self.settings.backup.schedule))
        return entries

    def enqueue_due(self, now: datetime | None = None) -> list[Job]:
        """Enqueue the scheduled runs due at `now` (idempotent across workers)."""
        from ingestry.bootstrap import build_cron
        from ingestry.services.schedule import Scheduler

        entries = self.schedules()
        if not entries:
            return []
        scheduler = Scheduler(entries, build_cron(), self.jobs())
        return scheduler.enqueue_due(now or utc_now())
