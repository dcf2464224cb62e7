"""Backups: the backend's `BackupEngine` and the files, put together as a service."""

from __future__ import annotations

from pathlib import Path

from ingestry.adapters.backups.archive import BackupDirectory
from ingestry.bootstrap.storage import database_backend
from ingestry.config import Settings
from ingestry.domain.backups import BackupError
from ingestry.migrations import HEAD
from ingestry.services.backups import BackupService
from ingestry.services.ports.backups import BackupEngine, BackupFiles


def build_backup_engine(settings: Settings, method: str = "auto") -> BackupEngine:
    """The configured database's way of backing up and restoring; `method` chooses
    PostgreSQL's dump (auto: pg_dump when installed, else our COPY dump)."""
    backend = database_backend(settings)
    url = settings.database_url
    if method != "auto" and backend.name != "postgres":
        raise BackupError(
            f"backup --method {method} is for PostgreSQL stores; this store is "
            f"{backend.name} (leave --method out)"
        )
    if backend.name == "sqlite":
        from ingestry.adapters.backups.sqlite import SQLiteBackup
        from ingestry.adapters.sqlite.engine import file_path

        return SQLiteBackup(file_path(url))
    if backend.name == "postgres":
        from ingestry.adapters.backups.postgres import PostgresBackup

        return PostgresBackup(url, method)
    raise BackupError(f"backups are not supported on the {backend.name} backend yet")


def backup_file(directory: Path, relative: str) -> Path:
    """A backup under `directory` (no `..`, no symlink escape)."""
    from ingestry.adapters.paths import confine

    return confine(directory, relative, "the backup directory")


def backup_files() -> BackupFiles:
    return BackupDirectory()


def build_backup_service(settings: Settings, method: str = "auto") -> BackupService:
    return BackupService(build_backup_engine(settings, method), backup_files(), HEAD)
