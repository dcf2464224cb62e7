"""SQLite backups: `VACUUM INTO` a consistent copy while ingests run, gzip it.

`VACUUM INTO` reads the database in one read transaction (WAL mode: writers go on)
and writes a compact copy, so the copy holds exactly the commits made before it
started. The digest is read from that copy, and a restore is checked on a
decompressed copy before it replaces anything; the live file is then overwritten
through SQLite's online backup API, so open connections see the restored content and
the WAL stays consistent.
"""

from __future__ import annotations

import gzip
import shutil
import sqlite3
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from ingestry.adapters.backups.digest import content_digest, holds_data, schema_revision
from ingestry.adapters.sqlite.engine import BUSY_TIMEOUT_MS, migration_engine
from ingestry.domain.backups import BackupError, ContentDigest, Manifest
from ingestry.services.ports import Snapshot

DATA_FILE = "store.sqlite.gz"
#: gzip level 1: about 3x faster than the default 6 for ~10% larger files here
#: (measured in bench/backup_bench.py; see bench/README.md).
LEVEL = 1
CHUNK = 1 << 20


class SQLiteBackup:
    """`BackupEngine` for one SQLite file."""

    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path

    def snapshot(self, into: Path) -> Snapshot:
        copy = into / "store.sqlite"
        with closing(sqlite3.connect(self.path, isolation_level=None)) as conn:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("VACUUM INTO ?", (str(copy),))
        revision, digest = _read(copy)
        with copy.open("rb") as source, gzip.open(into / DATA_FILE, "wb", LEVEL) as target:
            shutil.copyfileobj(source, target, CHUNK)
        copy.unlink()
        # TODO(node id): put the store's node id here once the fork branch's
        # `Storage.node_id()` (migration 20261202_170000) is merged into main.
        return Snapshot(revision, None, digest)

    def scratch_digest(self, backup: Path, manifest: Manifest) -> ContentDigest:
        with self._decompressed(backup) as copy:
            return _read(copy)[1]

    def holds_data(self) -> bool:
        if not self.path.exists():
            return False
        engine = migration_engine(self.path)
        try:
            with engine.connect() as conn:
                return holds_data(conn)
        finally:
            engine.dispose()

    def restore(self, backup: Path, manifest: Manifest) -> ContentDigest:
        with self._decompressed(backup) as copy:
            digest = _read(copy)[1]
            problems = manifest.content.mismatches(digest)
            if problems:
                raise BackupError(
                    f"{backup}: refused, the restored copy does not match the manifest: "
                    f"{'; '.join(problems)}. Nothing was restored; use another backup"
                )
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with (
                closing(sqlite3.connect(copy)) as source,
                closing(sqlite3.connect(self.path)) as target,
            ):
                target.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                source.backup(target)
        return digest

    @contextmanager
    def _decompressed(self, backup: Path) -> Iterator[Path]:
        """The backup's database decompressed into a scratch file beside the store."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".ingestry-scratch-", dir=self.path.parent))
        copy = scratch / "store.sqlite"
        try:
            try:
                with gzip.open(backup / DATA_FILE, "rb") as source, copy.open("wb") as target:
                    shutil.copyfileobj(source, target, CHUNK)
            except (OSError, EOFError, zlib.error) as exc:
                raise BackupError(
                    f"{backup / DATA_FILE}: cannot be decompressed ({exc}); the backup is "
                    "damaged: use another one"
                ) from None
            _check(copy, backup / DATA_FILE)
            yield copy
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _check(copy: Path, label: Path) -> None:
    try:
        with closing(sqlite3.connect(copy)) as conn:
            result = conn.execute("PRAGMA quick_check").fetchone()
    except sqlite3.DatabaseError as exc:
        result = (str(exc),)
    if result is None or result[0] != "ok":
        raise BackupError(f"{label}: not a sound SQLite database ({result}); use another backup")


def _read(copy: Path) -> tuple[str | None, ContentDigest]:
    engine = migration_engine(copy)
    try:
        with engine.connect() as conn:
            return schema_revision(conn), content_digest(conn)
    finally:
        engine.dispose()
