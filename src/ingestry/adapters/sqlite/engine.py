"""SQLite connections' settings, and the SQLAlchemy engines on a SQLite file.

SQLAlchemy is imported only when an engine is built (migrations, DDL, the control
plane): the data path runs on the stdlib `sqlite3`, and a command on a current
database never needs SQLAlchemy (see `docs/architecture.md`, start-up).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlalchemy as sa

PREFIX = "sqlite:///"

#: How long a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT_MS = 60_000
#: A control-plane connection checkpoints past this many WAL pages (128 MiB of 16 KiB).
CONTROL_AUTOCHECKPOINT_PAGES = 8192


def file_path(url: str) -> Path:
    """The database file a `sqlite:///PATH` URL names."""
    return Path(url.removeprefix(PREFIX))


def migration_engine(path: Path) -> sa.Engine:
    """One connection at a time (NullPool), for migrations and DDL."""
    import sqlalchemy as sa

    engine = sa.create_engine(f"{PREFIX}{path}", poolclass=sa.pool.NullPool)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    return engine


def control_engine(url: str) -> sa.Engine:
    """Pooled; the driver's implicit transactions are off, so reads run in autocommit
    and every write transaction starts with `BEGIN IMMEDIATE` (see `sql.control`)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, pool_size=8, max_overflow=8)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.isolation_level = None
        dbapi_conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # jobs, keys and idempotency claims are acknowledged writes too (a build may
        # default WAL connections to NORMAL, which can lose the last commits on power loss)
        dbapi_conn.execute("PRAGMA synchronous = FULL")
        # The storage's checkpointer keeps the WAL short (checkpoint.py); at SQLite's
        # default (1000 pages) a control commit during a run (a harvest's page rows, a
        # job's lease) checkpointed the run's WAL itself, in line, every time. This
        # only bounds the WAL of a process that writes nothing but control rows.
        dbapi_conn.execute(f"PRAGMA wal_autocheckpoint = {CONTROL_AUTOCHECKPOINT_PAGES}")

    return engine
