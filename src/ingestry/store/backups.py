"""The facade's backups: `backup`, `verify`, `restore`, the scheduled run (issue 19)."""

from __future__ import annotations

import os
from pathlib import Path

from ingestry.bootstrap import backup_files, build_backup_service
from ingestry.domain.backups import BackupError, BackupSummary
from ingestry.domain.clock import utc_now
from ingestry.services.backups import BackupService, latest_backup_age
from ingestry.store.core import StoreCore


class BackupArea(StoreCore):
    """Backups (CLI `backup`/`verify`/`restore`, the API's backup jobs, the worker)."""

    def _backups(self) -> BackupService:
        return build_backup_service(self.settings)

    def backup(self, out: str | os.PathLike[str]) -> BackupSummary:
        """A consistent copy of the store, taken while ingests run, written to `out`
        (a `.tar` file, or else a directory) with its manifest."""
        self.storage  # noqa: B018 - an empty database is migrated first, like any command
        return self._backups().backup(Path(out))

    def verify_backup(self, path: str | os.PathLike[str]) -> BackupSummary:
        """Restore the backup into a scratch store and compare it with its manifest."""
        return self._backups().verify(Path(path))

    def restore(self, path: str | os.PathLike[str], *, replace: bool = False) -> BackupSummary:
        """Replace the store's content with a checked backup (`replace` when it holds
        data). The store's own connections are closed first and reopen on next use."""
        if self._storage is not None:
            self._storage.close()
            self._storage = None
            self._write_mode = None
        return self._backups().restore(Path(path), replace=replace)

    def scheduled_backup(self) -> BackupSummary:
        """The `backup:` config's run: a backup into `out`, the oldest beyond `keep` pruned."""
        config = self.settings.backup
        if config is None:
            raise BackupError(f"{self.settings.path}: no `backup:` section (schedule, keep, out)")
        return self._backups().scheduled(config.out, config.keep)

    def backup_age(self) -> float | None:
        """Seconds since the newest scheduled backup (None: none configured or made)."""
        config = self.settings.backup
        if config is None:
            return None
        return latest_backup_age(backup_files(), config.out, utc_now())
