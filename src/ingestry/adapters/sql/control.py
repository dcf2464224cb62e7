"""The control plane's database access: one pooled SQLAlchemy engine per process.

The data path keeps its own single connection per `Storage`; requests, workers and
heartbeats need short, concurrent transactions from several threads, which a pool
gives; each backend builds that engine (`control_engine` in its folder). On SQLite
the driver's implicit transactions are switched off: reads run in autocommit, and
every write transaction starts with `BEGIN IMMEDIATE` (it takes the write lock up
front, so two writers queue on the busy timeout instead of failing to upgrade a read
lock). On PostgreSQL, plain transactions; the job claim adds
`FOR UPDATE SKIP LOCKED`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa

from ingestry.domain.errors import StorageError


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands timestamps back naive; they were written in UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class ControlDatabase:
    """Connections for the control tables, on the engine the backend built (see its
    `control_engine`)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
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
