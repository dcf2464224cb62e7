"""The facade's backups: `backup`, `verify`, `restore`, the scheduled run (issue 19)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ingestry.domain.clock import utc_now
from ingestry.store.control import ControlArea

if TYPE_CHECKING:
    from ingestry.domain.backups import BackupSummary
    from ingestry.services.backups import BackupService


class BackupArea(ControlArea):
    """Backups (CLI `backup`/`verify`/`restore`, the API's backup jobs, the worker)."""

    def _backups(self, method: str = "auto") -> BackupService:
        from ingestry.bootstrap import build_backup_service

        return build_backup_service(self.settings, method)

    def backup(self, out: str | os.PathLike[str], *, method: str = "auto") -> BackupSummary:
        """A consistent copy of the store, taken while ingests run, written to `out`
        (a `.tar` file, or else a directory) with its manifest. `method` (PostgreSQL):
        `auto` (pg_dump when installed, else COPY), `pg_dump` or `copy`."""
        self.storage  # noqa: B018 - an empty database is migrated first, like any command
        return self._backups(method).backup(Path(out))

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

    @property
    def backup_dir(self) -> Path:
        """Where scheduled backups and the API's backup jobs go: `backup.out`, else
        `data/backups/`."""
        config = self.settings.backup
        return config.out if config is not None else self.settings.data_dir / "backups"

    def backup_file(self, relative: str) -> Path:
        """A backup under `backup_dir` (no `..`, no symlink escape)."""
        from ingestry.bootstrap import backup_file

        return backup_file(self.backup_dir, relative)

    def scheduled_backup(self, due: datetime | None = None) -> BackupSummary:
        """A backup into `backup_dir`, named by its `due` moment (else now); the oldest
        beyond `backup.keep` are pruned (none without a `backup:` section)."""
        self.storage  # noqa: B018 - an empty database is migrated first
        config = self.settings.backup
        keep = config.keep if config else None
        return self._backups().scheduled(self.backup_dir, keep, due)

    def backup_age(self) -> float | None:
        """Seconds since the newest backup in `backup_dir` (None: there is none)."""
        from ingestry.bootstrap import backup_files
        from ingestry.services.backups import latest_backup_age

        return latest_backup_age(backup_files(), self.backup_dir, utc_now())
