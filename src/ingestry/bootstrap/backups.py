"""Backups: the backend's `BackupEngine` and the files, put together as a service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from ingestry.adapters.backups.archive import BackupDirectory
from ingestry.bootstrap.storage import database_backend
from ingestry.config import Settings
from ingestry.domain.backups import BackupError
from ingestry.migrations import HEAD
from ingestry.services.backups import BackupService
from ingestry.services.ports.backups import BackupEngine, BackupFiles


def build_backup_engine(settings: Settings) -> BackupEngine:
    """The configured database's way of backing up and restoring."""
    backend = database_backend(settings)
    url = settings.database_url
    if backend.name == "sqlite":
        from ingestry.adapters.backups.sqlite import SQLiteBackup
        from ingestry.adapters.sqlite.engine import file_path

        return SQLiteBackup(file_path(url))
    if backend.name == "postgres":
        from ingestry.adapters.backups.postgres import PostgresBackup

        return PostgresBackup(url)
    raise BackupError(f"backups are not supported on the {backend.name} backend yet")


def backup_file(directory: Path, relative: str) -> Path:
    """A backup under `directory` (no `..`, no symlink escape)."""
    from ingestry.adapters.paths import confine

    return confine(directory, relative, "the backup directory")


def cron_next_after(schedule: str) -> Callable[[datetime], datetime]:
    """The next due moment of a cron schedule (croniter, imported when used)."""
    from ingestry.adapters.backups.cron import next_after

    return next_after(schedule)


def backup_files() -> BackupFiles:
    return BackupDirectory()


def build_backup_service(settings: Settings) -> BackupService:
    return BackupService(build_backup_engine(settings), backup_files(), HEAD)
