"""PostgreSQL backups: `pg_dump -Fc` of the store's schema from one exported snapshot
(or, without pg_dump or with `--method copy`, our own COPY dump: `pgcopy`).

The backup opens a REPEATABLE READ, READ ONLY transaction, exports its snapshot and
hands it to `pg_dump --snapshot`, then reads the digest in that same transaction: the
dump and the manifest describe the same moment while ingests keep committing.
`verify` restores into a scratch database (created and dropped here; the role needs
CREATEDB), `restore` drops the store's schema and restores it in one transaction.
A dump restores into the schema it was taken from (pg_restore cannot rename one).
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa

from ingestry.adapters.backups import pgcopy
from ingestry.adapters.backups.digest import (
    content_digest,
    holds_data,
    node_id,
    schema_revision,
)
from ingestry.adapters.postgres.url import libpq_url, redacted, sqlalchemy_url
from ingestry.domain.backups import BackupError, ContentDigest, Manifest
from ingestry.services.ports import Snapshot

DATA_FILE = "store.pgdump"
#: `backup --method`: auto (pg_dump when installed, else copy), pg_dump, copy.
AUTO, PG_DUMP, COPY = "auto", "pg_dump", "copy"
METHODS = (AUTO, PG_DUMP, COPY)
#: zlib level of the custom format (1: fastest; the payloads are mostly JSON text).
LEVEL = "1"


class PostgresBackup:
    """`BackupEngine` for the schema a PostgreSQL URL's search_path points at."""

    dialect = "postgresql"

    def __init__(self, url: str, method: str = AUTO) -> None:
        if method not in METHODS:
            raise BackupError(f"unknown backup method '{method}': use one of {', '.join(METHODS)}")
        self.url = libpq_url(url)
        self.method = method

    def _dump_method(self) -> str:
        """`pg_dump` when installed (or asked for), else our own COPY dump."""
        if self.method != AUTO:
            return self.method
        return PG_DUMP if shutil.which("pg_dump") else COPY

    def snapshot(self, into: Path) -> Snapshot:
        method = self._dump_method()
        engine = _engine(self.url)
        try:
            with engine.connect() as conn:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                schema = str(conn.exec_driver_sql("SELECT current_schema()").scalar_one())
                if method == COPY:
                    pgcopy.dump(conn, into)
                    revision, node = schema_revision(conn), node_id(conn)
                    digest = content_digest(conn)
                    conn.rollback()
                    return Snapshot(revision, node, digest, {"schema": schema, "method": COPY})
                snapshot = str(conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one())
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
                revision, node = schema_revision(conn), node_id(conn)
                digest = content_digest(conn)
                conn.rollback()
        finally:
            engine.dispose()
        return Snapshot(revision, node, digest, {"schema": schema, "method": PG_DUMP})

    def scratch_digest(self, backup: Path, manifest: Manifest) -> ContentDigest:
        schema = manifest.details.get("schema", "public")
        with self._scratch_database() as url:
            _restore_any(backup, manifest, url, schema)
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
        _restore_any(backup, manifest, self.url, schema)
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


def _restore_any(backup: Path, manifest: Manifest, url: str, schema: str) -> None:
    """Restore either format: a COPY dump (`schema.json` + a file per table), else
    `pg_dump`'s custom format."""
    if manifest.details.get("method") == COPY or (backup / pgcopy.SCHEMA_FILE).exists():
        engine = _engine(url)
        try:
            with engine.begin() as conn:
                pgcopy.restore(conn, backup, schema, manifest.schema_revision)
        except sa.exc.DBAPIError as exc:
            raise BackupError(
                f"{backup}: restore failed, nothing was changed ({exc.orig})"
            ) from None
        finally:
            engine.dispose()
        return
    _restore(backup / DATA_FILE, url, schema)


def _restore(dump: Path, url: str, schema: str) -> None:
    """Drop `schema` and restore the dump in one transaction (all or nothing): the dump
    as SQL (`pg_restore -f -`) streamed into one psql transaction that starts with the
    DROP and commits only when pg_restore exited 0; a failure anywhere (a damaged dump,
    a killed process) rolls the DROP back with the rest."""
    restore = [_tool("pg_restore"), "--no-owner", "--file=-", str(dump)]
    psql = [_tool("psql"), "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", f"--dbname={url}"]
    with tempfile.TemporaryFile() as restore_err, tempfile.TemporaryFile() as psql_out:
        with (
            subprocess.Popen(psql, stdin=subprocess.PIPE, stdout=psql_out, stderr=psql_out) as sink,
            subprocess.Popen(restore, stdout=subprocess.PIPE, stderr=restore_err) as source,
        ):
            _pipe(source, sink, schema)
        ran = ((source, restore_err, "pg_restore"), (sink, psql_out, "psql"))
        for process, output, tool in ran:
            if process.returncode != 0:
                output.seek(0)
                error = output.read().decode(errors="replace").strip()
                error = error.replace(url, redacted(url))
                raise BackupError(
                    f"{tool} failed (exit {process.returncode}), nothing was changed: {error}"
                )


def _pipe(source: subprocess.Popen[bytes], sink: subprocess.Popen[bytes], schema: str) -> None:
    """pg_restore's SQL into psql's transaction: BEGIN, the DROP, the dump, and COMMIT
    only when pg_restore exited 0 (psql's exit without COMMIT rolls everything back)."""
    assert sink.stdin is not None and source.stdout is not None
    try:
        sink.stdin.write(f'BEGIN;\nDROP SCHEMA IF EXISTS "{schema}" CASCADE;\n'.encode())
        shutil.copyfileobj(source.stdout, sink.stdin, 1 << 20)
        if source.wait() == 0:
            sink.stdin.write(b"COMMIT;\n")
        sink.stdin.close()
    except BrokenPipeError:  # psql stopped at an error (ON_ERROR_STOP)
        source.kill()
        source.wait()
        with contextlib.suppress(BrokenPipeError):
            sink.stdin.close()


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
