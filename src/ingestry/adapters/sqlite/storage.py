"""SQLiteStorage: the embedded default. One file, WAL mode, durable commits."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingestry.adapters import migrate
from ingestry.adapters.migrate import HEAD
from ingestry.adapters.sql import deletion, erasure
from ingestry.adapters.sql.changefeed import SqlChangeFeed
from ingestry.adapters.sql.deletion import (
    SqlDeletionStorage,
)
from ingestry.adapters.sql.names import table_name
from ingestry.adapters.sql.nodeid import read_node_id
from ingestry.adapters.sql.rows import (
    record_from_row,
    select_records,
)
from ingestry.adapters.sqlite import forksafe, images, limits
from ingestry.adapters.sqlite.checkpoint import Checkpointer
from ingestry.adapters.sqlite.engine import BUSY_TIMEOUT_MS, migration_engine
from ingestry.adapters.sqlite.query import register_functions
from ingestry.adapters.sqlite.session import RawMode, SQLiteSession
from ingestry.adapters.sqlite.statements import RecordStatements
from ingestry.adapters.sqlite.storage_reads import SQLiteReads
from ingestry.domain.conventions import Convention
from ingestry.domain.erasure import AuditDraft, ErasureAudit, ErasureCounts
from ingestry.domain.errors import SchemaError, StorageError
from ingestry.services.ports import WireEncode

if TYPE_CHECKING:
    import sqlalchemy as sa

    from ingestry.adapters.sqlite.lifecycle import SQLiteLifecycle
    from ingestry.adapters.sqlite.rawops import SQLiteRawOperations

PAGE_SIZE = 16_384

#: The file beside the database that serializes schema changes (see `_schema_lock`).
SCHEMA_LOCK_SUFFIX = "-schema.lock"


def _configure(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    # 16 KiB pages (set before the first write; ignored for an existing file): rows of
    # raw payloads and metadata are ~1 KiB, and bigger pages cut checkpoint CPU by ~20%.
    conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
    conn.execute("PRAGMA journal_mode = WAL")
    # FULL: a commit is on disk before it is acknowledged, even across power loss.
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA cache_size = -65536")
    conn.execute("PRAGMA temp_store = MEMORY")


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back if a transaction is still open (SQLite may have ended it already)."""
    if conn.in_transaction:
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


class SQLiteStorage(SQLiteReads):
    """Storage on one SQLite file; safe for many processes (writers take turns)."""

    dialect = "sqlite"
    #: Rows of an import written per transaction (`PublishService.import_rows_per_commit`):
    #: a commit writes every page it touched to the WAL, and a batch of 5,000 records
    #: touches most leaf pages of an index on a column in random order (an email) once
    #: the table is large; 20,000 a commit wrote 16% fewer bytes and 7% less writer CPU
    #: at 300k (bench/README.md, "SQLite import, the writer's per-row cost").
    import_rows_per_commit = 20_000

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # the write path's INSERTs come in up to ten sizes a table (`multirow`): a cache
        # larger than the default 128 keeps every one prepared
        self._conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, cached_statements=512
        )
        _configure(self._conn)
        register_functions(self._conn)
        self._engine: sa.Engine | None = None
        self._statements: dict[str, RecordStatements] = {}
        self._raw_mode = RawMode()
        self._checkpointer: Checkpointer | None = None

    @property
    def engine(self) -> sa.Engine:
        """SQLAlchemy engine for migrations and DDL, built on first use."""
        if self._engine is None:
            self._engine = migration_engine(self.path)
        return self._engine

    # --- schema -------------------------------------------------------------------

    def schema_revision(self) -> str | None:
        try:
            row = self._conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:
            return None
        return row[0] if row else None

    def node_id(self) -> str:
        try:
            row = self._conn.execute("SELECT node_id FROM node_identity").fetchone()
        except sqlite3.OperationalError:
            row = None
        return read_node_id(row, str(self.path))

    def upgrade(self, revision: str = "head") -> None:
        migrate.upgrade(self.engine, revision)

    def downgrade(self, revision: str) -> None:
        migrate.downgrade(self.engine, revision)

    def is_empty(self) -> bool:
        row = self._conn.execute(
            # sqlite_sequence (made by AUTOINCREMENT) outlives the tables that used it
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        ).fetchone()
        return bool(row[0] == 0)

    def prepare(self, conventions: Sequence[Convention], *, auto_upgrade: bool) -> None:
        """Check (or, for an empty database, create) the schema, then the record tables."""
        revision = self.schema_revision()
        if revision != HEAD:
            with self._schema_lock():
                revision = self.schema_revision()  # another process may have migrated
                if auto_upgrade and revision is None and self.is_empty():
                    migrate.create(self._conn, self.dialect, lambda: self.engine)
                elif revision != HEAD:
                    raise SchemaError(
                        f"database {self.path} is at schema revision {revision or 'none'}, "
                        f"this ingestry needs {HEAD}: run `ingestry db upgrade`"
                    )
        self.ensure_conventions(conventions)

    @contextmanager
    def _schema_lock(self) -> Iterator[None]:
        """Serialize schema changes across processes: two first ingests on a new file
        would both run the first migration (Alembic's DDL is not one SQLite write
        transaction; the loser failed with `table alembic_version already exists`). An
        exclusive `flock` on a file beside the database, released by the kernel even
        when the holder is killed; where there is no `fcntl` (Windows) nothing is held."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not Linux or macOS
            yield
            return
        lock = self.path.with_name(self.path.name + SCHEMA_LOCK_SUFFIX)
        with lock.open("a") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(held, fcntl.LOCK_UN)

    def ensure_conventions(self, conventions: Sequence[Convention]) -> None:
        known = self._catalog()
        wanted = {
            c.name: [(col.name, col.type.value, col.index) for col in c.columns]
            for c in conventions
        }
        if all(known.get(name) == cols for name, cols in wanted.items()) and self._tables_exist(
            wanted
        ):
            return  # fast path: nothing to evolve, no SQLAlchemy needed
        from ingestry.adapters.sql.conventions import ensure_record_tables

        with self._schema_lock():
            ensure_record_tables(self.engine, conventions)

    def _catalog(self) -> dict[str, list[tuple[str, str, bool]]]:
        out: dict[str, list[tuple[str, str, bool]]] = {}
        rows = self._conn.execute(
            "SELECT convention, name, type, indexed FROM convention_columns"
            " ORDER BY convention, position"
        )
        for convention, name, kind, indexed in rows:
            out.setdefault(convention, []).append((name, kind, bool(indexed)))
        return out

    def _tables_exist(self, names: Iterable[str]) -> bool:
        tables = {
            r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        return all(table_name(n) in tables for n in names)

    def statement_limit(self, seconds: float, setting: str) -> AbstractContextManager[None]:
        """Statements inside the block stop after `seconds` (see `sqlite/limits.py`)."""
        return limits.statement_limit(self._conn, seconds, setting)

    # --- writes ---------------------------------------------------------------------

    @contextmanager
    def session(self) -> Iterator[SQLiteSession]:
        conn = self._conn
        if self._checkpointer is None:
            # From the first write on, checkpoints run in the background (see checkpoint.py).
            self._checkpointer = Checkpointer(self.path, BUSY_TIMEOUT_MS)
            Checkpointer.configure_writer(conn)
            images.attach(conn)  # what a worker bound is copied from (see images.py)
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StorageError(f"cannot start a write transaction on {self.path}: {exc}") from exc
        try:
            session = SQLiteSession(conn, self._statements, self._raw_mode)
            yield session
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(conn)
            raise self._write_failed(exc) from exc
        except BaseException:
            _rollback(conn)
            raise
        self._checkpointer.after_commit(conn, BUSY_TIMEOUT_MS, session.runs)

    def offload_encoder(self, convention: Convention) -> WireEncode:
        """Rows bound by an HTTP pull's preparation workers (see `images`), which are
        forked with SQLite's mutexes held (`forksafe`); where that guard cannot be
        installed, no images: the writer binds the rows."""
        if not forksafe.install():
            return images.no_image
        return images.ImageEncoder(convention)

    def _write_failed(self, exc: sqlite3.Error) -> StorageError:
        """A failed write transaction in words (it was rolled back: nothing of it stays)."""
        text = str(exc)
        if "full" in text:  # SQLITE_FULL: the disk (or a size limit) is full
            return StorageError(
                f"SQLite could not write to {self.path}: {text}; nothing of this batch was "
                "written (earlier batches were committed): free some space and run again"
            )
        return StorageError(f"SQLite write to {self.path} failed, rolled back: {text}")

    def change_feed(self) -> SqlChangeFeed:
        def rows(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
            return self._conn.execute(sql, tuple(params)).fetchall()

        def execute(sql: str, params: Sequence[Any]) -> None:
            with self.session() as session:  # a write: BEGIN IMMEDIATE, busy-waits its turn
                session.conn.execute(sql, tuple(params))

        return SqlChangeFeed(rows, execute, "?", select_records, record_from_row)

    def deletion(self) -> SqlDeletionStorage:
        """Soft delete (docs/deleting.md)."""
        return SqlDeletionStorage(
            self._conn, deletion.SQLITE, self.session, select_records, record_from_row
        )

    # --- erasure (docs/erasure.md) -----------------------------------------------------

    def erasure(self) -> SQLiteStorage:
        return self

    def erase_record(
        self, convention: Convention, srn: str, raw_sources: frozenset[str], audit: AuditDraft
    ) -> ErasureCounts | None:
        with self.session():
            return erasure.erase(self._conn, erasure.SQLITE, convention, srn, raw_sources, audit)

    def erasure_audits(self, srn_sha256: str | None, limit: int | None) -> list[ErasureAudit]:
        return erasure.audits(self._conn, erasure.SQLITE, srn_sha256, limit)

    def raw_operations(self) -> SQLiteRawOperations:
        from ingestry.adapters.sqlite.rawops import SQLiteRawOperations

        return SQLiteRawOperations(self._conn, self.session)

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        self._conn.close()
        if self._engine is not None:
            self._engine.dispose()

    def lifecycle(self) -> SQLiteLifecycle:
        from ingestry.adapters.sqlite.lifecycle import SQLiteLifecycle

        return SQLiteLifecycle(self.session, self._conn)
