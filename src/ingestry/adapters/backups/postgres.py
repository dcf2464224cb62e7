"""PostgreSQL backups: `pg_dump -Fc` of the store's schema from one exported snapshot.

The backup opens a REPEATABLE READ, READ ONLY transaction, exports its snapshot and
hands it to `pg_dump --snapshot`, then reads the digest in that same transaction: the
dump and the manifest describe the same moment while ingests keep committing.
`verify` restores into a scratch database (created and dropped here; the role needs
CREATEDB), `restore` drops the store's schema and restores it in one transaction.
A dump restores into the schema it was taken from (pg_restore cannot rename one).
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa

from ingestry.adapters.backups.digest import content_digest, holds_data, schema_revision
from ingestry.adapters.postgres.url import libpq_url, redacted, sqlalchemy_url
from ingestry.domain.backups import BackupError, ContentDigest, Manifest
from ingestry.services.ports import Snapshot

DATA_FILE = "store.pgdump"
#: zlib level of the custom format (1: fastest; the payloads are mostly JSON text).
LEVEL = "1"


class PostgresBackup:
    """`BackupEngine` for the schema a PostgreSQL URL's search_path points at."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = libpq_url(url)

    def snapshot(self, into: Path) -> Snapshot:
        engine = _engine(self.url)
        try:
            with engine.connect() as conn:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                snapshot = str(conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one())
                schema = str(conn.exec_driver_sql("SELECT current_schema()").scalar_one())
                _run(
                    [
                        _tool("pg_dump"),
                        "--format=custom",
                        f"--compress={LEVEL}",
                        f"--snapshot={snapshot}",
                        f"--schema={schema}",
                        "--no-owner",
                        f"--file={into / DATA_FILE}",
                        f"--dbname={self.url}",
                    ],
                    self.url,
                )
                revision = schema_revision(conn)
                digest = content_digest(conn)
                conn.rollback()
        finally:
            engine.dispose()
        # TODO(node id): put the store's node id here once the fork branch's
        # `Storage.node_id()` (migration 20261202_170000) is merged into main.
        return Snapshot(revision, None, digest, {"schema": schema})

    def scratch_digest(self, backup: Path, manifest: Manifest) -> ContentDigest:
        schema = manifest.details.get("schema", "public")
        with self._scratch_database() as url:
            _restore(backup / DATA_FILE, url, schema)
            return _digest(url, schema)

    def holds_data(self) -> bool:
        engine = _engine(self.url)
        try:
            with engine.connect() as conn:
                return holds_data(conn)
        finally:
            engine.dispose()

    def restore(self, backup: Path, manifest: Manifest) -> ContentDigest:
        schema = manifest.details.get("schema", "public")
        live = _digest_schema(self.url)
        if live != schema:
            raise BackupError(
                f"{backup}: refused, the backup holds schema '{schema}' but the store is "
                f"schema '{live}' ({redacted(self.url)}); point the database URL's "
                f"search_path at '{schema}' to restore it"
            )
        _restore(backup / DATA_FILE, self.url, schema)
        return _digest(self.url, schema)

    @contextmanager
    def _scratch_database(self) -> Iterator[str]:
        name = f"ingestry_scratch_{secrets.token_hex(6)}"
        admin = _engine(self.url, autocommit=True)
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            try:
                parts = urlsplit(self.url)
                yield urlunsplit(parts._replace(path=f"/{name}"))
            finally:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except sa.exc.DBAPIError as exc:
            raise BackupError(
                f"verify: cannot create a scratch database on {redacted(self.url)} "
                f"({exc.orig}); grant the role CREATEDB"
            ) from None
        finally:
            admin.dispose()


def _restore(dump: Path, url: str, schema: str) -> None:
    """Drop `schema` and restore the dump in one transaction (all or nothing)."""
    engine = _engine(url, autocommit=True)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        engine.dispose()
    _run(
        [
            _tool("pg_restore"),
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={url}",
            str(dump),
        ],
        url,
    )


def _digest(url: str, schema: str) -> ContentDigest:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'SET search_path TO "{schema}"')
            return content_digest(conn)
    finally:
        engine.dispose()


def _digest_schema(url: str) -> str:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.exec_driver_sql("SELECT current_schema()").scalar_one())
    finally:
        engine.dispose()


def _engine(url: str, *, autocommit: bool = False) -> sa.Engine:
    options = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    return sa.create_engine(sqlalchemy_url(url), poolclass=sa.pool.NullPool, **options)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed; install the PostgreSQL client tools of the "
            "server's major version (Debian: apt-get install postgresql-client)"
        )
    return path


def _run(command: list[str], url: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tool = Path(command[0]).name
        error = done.stderr.strip().replace(url, redacted(url))
        raise BackupError(f"{tool} failed (exit {done.returncode}): {error}")
