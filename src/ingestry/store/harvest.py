"""The facade's harvest methods: one run of an HTTP source, its pages, its cursor."""

from __future__ import annotations

import os
from collections.abc import Callable

from ingestry.bootstrap import build_fetcher
from ingestry.services.harvest import HarvestProgress, HarvestService, HarvestSummary
from ingestry.services.ingest import IngestService
from ingestry.services.outbox import event_writer
from ingestry.services.ports.harvest import HarvestLedger, RunLocks, StoredPage
from ingestry.store.control import ControlArea


class HarvestArea(ControlArea):
    """Pull an HTTP source (`pull:` in the config)."""

    def harvest(
        self,
        source: str,
        *,
        progress: HarvestProgress | None = None,
        check: Callable[[], None] | None = None,
    ) -> HarvestSummary:
        """Run one harvest of `source`: every page, committed page by page; the cursor
        advances when the run has committed (see docs/harvest.md)."""
        data_source = self.source(source)
        extractor = self.extractor(data_source)
        ingest = IngestService(
            self.storage, lambda _: extractor, parallel=None, on_changes=event_writer(),
            mode=self.write_mode,
        )  # fmt: skip
        pull = data_source.pull
        fetcher = build_fetcher(pull.concurrency if pull is not None else 1)
        try:
            service = HarvestService(
                ingest, fetcher, self._harvest_ledger(), self._run_locks(), env=os.environ
            )
            return service.harvest(data_source, progress=progress, check=check)
        finally:
            fetcher.close()

    def harvest_cursor(self, source: str) -> str | None:
        """The source's incremental high-water mark (None before its first run)."""
        return self._harvest_ledger().cursor(self.source(source).name)

    def harvest_pages(self, source: str, run_srn: str | None = None) -> list[StoredPage]:
        """The page responses kept for `source` (of one run), oldest first."""
        return self._harvest_ledger().pages(self.source(source).name, run_srn)

    def _harvest_ledger(self) -> HarvestLedger:
        ledger = self.control.harvest
        assert ledger is not None, "the control plane keeps the harvest ledger"
        return ledger

    def _run_locks(self) -> RunLocks:
        locks = self.control.run_locks
        assert locks is not None, "the control plane holds the run locks"
        return locks
