"""The control plane's database access: one pooled SQLAlchemy engine per process.

The data path keeps its own single connection per `Storage`; requests, workers and
heartbeats need short, concurrent transactions from several threads, which a pool
gives. On SQLite the driver's implicit transactions are switched off: reads run in
autocommit, and every write transaction starts with `BEGIN IMMEDIATE` (it takes the
write lock up front, so two writers queue on the busy timeout instead of failing to
upgrade a read lock). On PostgreSQL, plain transactions; the job claim adds
`FOR UPDATE SKIP LOCKED`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa

from ingestry.domain.errors import StorageError

BUSY_TIMEOUT_MS = 60_000


def build_engine(database_url: str) -> sa.Engine:
    if database_url.startswith("sqlite:///"):
        engine = sa.create_engine(database_url, pool_size=8, max_overflow=8)

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
            dbapi_conn.isolation_level = None
            dbapi_conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

        return engine
    from ingestry.adapters.postgres.url import sqlalchemy_url

    return sa.create_engine(
        sqlalchemy_url(database_url),
        pool_size=8,
        max_overflow=8,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 10, "application_name": "ingestry-control"},
    )


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands timestamps back naive; they were written in UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class ControlDatabase:
    """Connections for the control tables."""

    def __init__(self, database_url: str) -> None:
        self.engine = build_engine(database_url)
        self.sqlite = self.engine.dialect.name == "sqlite"

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """One write transaction; commits when the block ends without error."""
        try:
            with self.engine.connect() as conn:
                if self.sqlite:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                yield conn
                conn.commit()
        except sa.exc.OperationalError as exc:
            raise StorageError(f"control tables: {exc.orig}") from exc

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
                conn.rollback()
        except sa.exc.OperationalError as exc:
            raise StorageError(f"control tables: {exc.orig}") from exc

    def ping(self) -> None:
        with self.read() as conn:
            conn.execute(sa.text("SELECT 1")).scalar()

    def quarantine_open(self) -> dict[str, int]:
        sql = "SELECT source, count(*) FROM quarantine WHERE status = 'open' GROUP BY source"
        with self.read() as conn:
            return {str(source): int(count) for source, count in conn.execute(sa.text(sql))}

    def close(self) -> None:
        self.engine.dispose()
