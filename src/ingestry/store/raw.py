"""The facade's raw-store methods: replay, quarantine, retention, holds, migration."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ingestry.domain.clock import iso
from ingestry.domain.errors import (
    RecordNotFoundError,
)
from ingestry.domain.sources import StorageStrategy
from ingestry.store.control import ControlArea

if TYPE_CHECKING:
    from ingestry.domain.payloads import QuarantineDetail
    from ingestry.domain.retention import RawHold, RetentionAuditEntry, RetentionReport
    from ingestry.services.cache import WrittenChanges
    from ingestry.services.migrate import MigrationSummary
    from ingestry.services.replay import (
        ReplayProgressFn,
        ReplayService,
        ReplaySummary,
    )
    from ingestry.services.status import ExtractorStatus


class RawArea(ControlArea):
    """The raw store: replay, quarantine, retention, holds."""

    # --- raw-store operations ----------------------------------------------------------------

    def replay(
        self,
        source: str,
        *,
        entity: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        extractor_version: str | None = None,
        dry_run: bool = False,
        progress: ReplayProgressFn | None = None,
    ) -> ReplaySummary:
        """Re-extract a raw source's window with its current extractor (see ReplayService)."""
        from ingestry.services.ports import RawWindow

        data_source = self.source(source)
        window = RawWindow(
            data_source.name,
            entity,
            iso(since) if since is not None else None,
            iso(until) if until is not None else None,
            extractor_version,
        )
        service, noted = self._replay_service()
        try:
            return service.replay(data_source, window, dry_run=dry_run, progress=progress)
        finally:
            if noted is not None:
                noted.settle()

    def quarantine_entry(self, entry_id: int) -> QuarantineDetail:
        found = self.storage.raw_operations().quarantine_entry(entry_id)
        if found is None:
            raise RecordNotFoundError(f"no quarantine entry #{entry_id}")
        return found

    def quarantine_replay(
        self, source: str, ids: Sequence[int] | None = None, *, dry_run: bool = False
    ) -> ReplaySummary:
        """Extract a source's open quarantine entries again; release those that pass."""
        data_source = self.source(source)
        service, noted = self._replay_service()
        try:
            return service.replay_quarantine(data_source, ids, dry_run=dry_run)
        finally:
            if noted is not None:
                noted.settle()

    def quarantine_discard(
        self, ids: Sequence[int], *, reason: str, actor: str = "cli"
    ) -> list[int]:
        from ingestry.services.quarantine import QuarantineService

        return QuarantineService(self.storage).discard(ids, reason=reason, actor=actor)

    def retention_run(
        self, *, dry_run: bool = False, actor: str = "cli", source: str | None = None
    ) -> list[RetentionReport]:
        """Purge expired raw rows of every raw source with `retention_days`, and expired
        pages of every pulled one (audited), or of `source` alone."""
        from ingestry.services.retention import RetentionService

        sources = (
            [self.source(source)] if source is not None else list(self.settings.sources.values())
        )
        # the control plane's ledger only when a source pulls (it opens a connection)
        pulled = any(s.pull is not None for s in sources)
        service = RetentionService(self.storage, pages=self._harvest_ledger() if pulled else None)
        return service.run(sources, dry_run=dry_run, actor=actor)

    def retention_audit(
        self, source: str | None = None, *, limit: int = 100
    ) -> list[RetentionAuditEntry]:
        if source is not None:
            self.source(source)
        return self.storage.raw_operations().audit(source, limit)

    def raw_hold(
        self,
        source: str,
        *,
        source_id: str | None = None,
        until: datetime | None = None,
        reason: str | None = None,
        actor: str = "cli",
    ) -> RawHold:
        """Keep a raw source's rows (or one source id's) from retention until released
        (or until `until`)."""
        from ingestry.services.holds import HoldService
        from ingestry.services.replay import NotRawSourceError

        return HoldService(self.storage).hold(
            self.source(source), source_id, until, reason, actor, NotRawSourceError
        )

    def raw_holds(self, source: str | None = None, *, active: bool = False) -> list[RawHold]:
        from ingestry.services.holds import HoldService

        if source is not None:
            self.source(source)
        return HoldService(self.storage).holds(source, active=active)

    def raw_release(self, hold_id: int, *, actor: str = "cli") -> RawHold:
        from ingestry.services.holds import HoldService

        return HoldService(self.storage).release(hold_id, actor)

    def migrate_source(self, source: str, to: str) -> MigrationSummary:
        """Move a simple source to raw (synthesized raw rows, then the config file)."""
        from ingestry.bootstrap import write_source_key
        from ingestry.services.migrate import StrategyMigrationService, refuse

        data_source = self.source(source)
        target = StorageStrategy(to)
        refuse(data_source, target)
        summary = StrategyMigrationService(self.storage).to_raw(
            data_source, self.extractor(data_source)
        )
        summary.config_change = f"{self.settings.path}: sources.{source}.strategy: {target.value}"
        summary.config_written = write_source_key(self.settings, source, "strategy", target.value)
        return summary

    def extractor_status(self) -> list[ExtractorStatus]:
        """Per source: records by extractor version, and how many are stale."""
        from ingestry.services.status import extractor_status

        return extractor_status(self.storage, list(self.settings.sources.values()), self.extractor)

    def _replay_service(self) -> tuple[ReplayService, WrittenChanges | None]:
        from ingestry.services.replay import ReplayService

        on_changes, noted = self._outbox()
        return ReplayService(self.storage, self.extractor, on_changes=on_changes), noted
