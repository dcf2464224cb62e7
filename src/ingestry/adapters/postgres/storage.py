"""PostgresStorage: many processes and machines over one PostgreSQL database.

One psycopg 3 connection per storage does the writes (COPY + set-based SQL, see
`writer`) and the reads; SQLAlchemy (a separate, unpooled engine) runs Alembic and the
record-table DDL. Schema changes made by `prepare` happen under an advisory lock, so
processes starting at once on an empty database migrate it once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

import psycopg
import sqlalchemy as sa
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.string import BytesBinaryDumper

from ingestry.adapters import migrate
from ingestry.adapters.migrate import HEAD
from ingestry.adapters.postgres import toast
from ingestry.adapters.postgres.reads import (
    record_from_row,
    select_records,
)
from ingestry.adapters.postgres.records import _history_value
from ingestry.adapters.postgres.session import PostgresSession
from ingestry.adapters.postgres.statements import BEGIN
from ingestry.adapters.postgres.storage_reads import PostgresReads
from ingestry.adapters.postgres.text import escape_text
from ingestry.adapters.postgres.timeouts import ensure_durable, session_timeouts, statement_limit
from ingestry.adapters.postgres.transaction import Transaction, translate
from ingestry.adapters.postgres.url import libpq_url, redacted, sqlalchemy_url
from ingestry.adapters.postgres.writer import Writer
from ingestry.adapters.sql import deletion, erasure
from ingestry.adapters.sql.changefeed import SETTLED, SqlChangeFeed
from ingestry.adapters.sql.conventions import ensure_record_tables, table_name
from ingestry.adapters.sql.deletion import SqlDeletionStorage
from ingestry.adapters.sql.nodeid import read_node_id
from ingestry.adapters.sql.recordquery import Dialect
from ingestry.domain.conventions import Convention
from ingestry.domain.erasure import AuditDraft, ErasureAudit, ErasureCounts
from ingestry.domain.errors import SchemaError, StorageError
from ingestry.services.ports import WireEncode

if TYPE_CHECKING:
    from ingestry.adapters.postgres.lifecycle import PostgresLifecycle
    from ingestry.adapters.postgres.rawops import PostgresRawOperations

#: pg_advisory_lock(SCHEMA_LOCK, hashtext(current_schema())): one migrator per schema.
SCHEMA_LOCK = 0x1A6E57

WORK_MEM = "64MB"
TEMP_BUFFERS = "64MB"

#: soft delete's SQL on PostgreSQL (adapters/sql/deletion.py)
PG_DELETION = deletion.Dialect(
    "%s", "%s::timestamptz", "jsonb_build_object", _history_value, escape_text
)


@contextmanager
def _session(writer: Writer) -> Iterator[PostgresSession]:
    tx = Transaction(writer.conn, writer.on_begin, writer.on_end, BEGIN)
    try:
        yield PostgresSession(tx, writer)
    except BaseException:
        tx.rollback()
        raise
    tx.commit()


def connect(url: str) -> psycopg.Connection[tuple[Any, ...]]:
    """An autocommit connection in UTC (timestamps render as on SQLite)."""
    params = conninfo_to_dict(libpq_url(url))
    extra: dict[str, Any] = {}
    if "connect_timeout" not in params:
        extra["connect_timeout"] = 10
    if "application_name" not in params:
        extra["application_name"] = "ingestry"
    try:
        conn = psycopg.connect(libpq_url(url), autocommit=True, **extra)
    except psycopg.Error as exc:
        raise StorageError(f"cannot connect to PostgreSQL at {redacted(url)}: {exc}") from None
    # UTC: timestamps render as on SQLite. Memory for a batch's sorts and staging
    # tables (a 5,000-row batch of raw payloads is several MB; the defaults of 4 and 8
    # MB spill it to disk). temp_buffers must be set before the first temp table.
    # set_types(["bytea"]) in COPY would pick the pure-Python dumper psycopg registers
    # for `Binary`; registering the C one for bytes makes it the bytea dumper again.
    conn.adapters.register_dumper(bytes, BytesBinaryDumper)
    conn.execute("SET TIME ZONE 'UTC'")
    conn.execute(f"SET work_mem = '{WORK_MEM}'")
    conn.execute(f"SET temp_buffers = '{TEMP_BUFFERS}'")
    session_timeouts().apply(conn)  # never wait forever on a stuck session's locks
    with conn.cursor() as cur:
        toast.apply(cur)  # lz4 for large values where the server has it
    ensure_durable(conn)
    return conn


#: Whether a backend in %(pids)s waits, through any chain of lock waits, for %(holder)s.
BLOCKED_BY = """
WITH RECURSIVE chain(pid) AS (
    SELECT unnest(pg_blocking_pids(p)) FROM unnest(%(pids)s::int[]) AS p
    UNION
    SELECT unnest(pg_blocking_pids(chain.pid)) FROM chain
)
SELECT %(holder)s::int IN (SELECT pid FROM chain)
"""

#: Write lanes of an ingest by default: two connections keep the server busy on one
#: batch while the next is sent (see `services.lanes`); INGESTRY_WRITE_LANES overrides.
DEFAULT_LANES = 2


class PostgresStorage(PostgresReads):
    """Storage on a PostgreSQL database (the schema in the URL's search_path)."""

    dialect = "postgresql"
    #: its sessions are PayloadProbes: a re-ingest can skip unchanged payloads
    payload_probe = True

    def __init__(self, url: str, lanes: int = DEFAULT_LANES) -> None:
        self.url = url
        self.lanes = max(1, lanes)
        self._conn = connect(url)
        self._writer = Writer(self._conn)
        self._lane_writers: dict[int, Writer] = {}
        self._engine: sa.Engine | None = None
        self._query_dialect: Dialect | None = None

    @property
    def engine(self) -> sa.Engine:
        """SQLAlchemy engine for migrations and DDL, built on first use."""
        if self._engine is None:
            self._engine = sa.create_engine(sqlalchemy_url(self.url), poolclass=sa.pool.NullPool)
        return self._engine

    # --- schema -------------------------------------------------------------------

    def schema_revision(self) -> str | None:
        row = self._conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
        if row is None or not row[0]:
            return None
        found = self._conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return str(found[0]) if found else None

    def node_id(self) -> str:
        found = self._conn.execute("SELECT to_regclass('node_identity') IS NOT NULL").fetchone()
        row = None
        if found is not None and found[0]:
            row = self._conn.execute("SELECT node_id FROM node_identity").fetchone()
        return read_node_id(row, redacted(self.url))

    def upgrade(self, revision: str = "head") -> None:
        with self._schema_lock():
            migrate.upgrade(self.engine, revision)

    def downgrade(self, revision: str) -> None:
        with self._schema_lock():
            migrate.downgrade(self.engine, revision)

    def is_empty(self) -> bool:
        """No relation of ours in the schema; an extension's own (PostGIS's
        `spatial_ref_sys`, made by a DBA's CREATE EXTENSION first) do not count."""
        row = self._conn.execute(
            "SELECT count(*) FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace"
            " AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND NOT EXISTS (SELECT 1 FROM"
            " pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid"
            " AND d.deptype = 'e')"
        ).fetchone()
        return row is not None and row[0] == 0

    def prepare(self, conventions: Sequence[Convention], *, auto_upgrade: bool) -> None:
        """Check (or, for an empty schema, create) the schema, then the record tables."""
        revision = self.schema_revision()
        if revision != HEAD:
            with self._schema_lock():
                revision = self.schema_revision()  # another process may have migrated
                if revision is None and auto_upgrade and self.is_empty():
                    migrate.create(self._conn, self.dialect, lambda: self.engine)
                elif revision != HEAD:
                    raise SchemaError(
                        f"database {redacted(self.url)} is at schema revision "
                        f"{revision or 'none'}, this ingestry needs {HEAD}: "
                        "run `ingestry db upgrade`"
                    )
        self.ensure_conventions(conventions)

    def ensure_conventions(self, conventions: Sequence[Convention]) -> None:
        wanted = {
            c.name: [(col.name, col.type.value, col.index) for col in c.columns]
            for c in conventions
        }
        if self._up_to_date(wanted):
            return
        with self._schema_lock():
            ensure_record_tables(self.engine, conventions)

    def _up_to_date(self, wanted: dict[str, list[tuple[str, str, bool]]]) -> bool:
        known: dict[str, list[tuple[str, str, bool]]] = {}
        for convention, name, kind, indexed in self._conn.execute(
            "SELECT convention, name, type, indexed FROM convention_columns"
            " ORDER BY convention, position"
        ):
            known.setdefault(convention, []).append((name, kind, bool(indexed)))
        if any(known.get(name, []) != cols for name, cols in wanted.items()):
            return False
        return self._tables_exist(table_name(n) for n in wanted)

    @contextmanager
    def _schema_lock(self) -> Iterator[None]:
        """Session advisory lock on this connection while another connection (the
        engine's) changes the schema."""
        self._conn.execute(
            "SELECT pg_advisory_lock(%s, hashtext(current_schema()))", (SCHEMA_LOCK,)
        )
        try:
            yield
        finally:
            self._conn.execute(
                "SELECT pg_advisory_unlock(%s, hashtext(current_schema()))", (SCHEMA_LOCK,)
            )

    def statement_limit(self, seconds: float, setting: str) -> AbstractContextManager[None]:
        """`statement_timeout` for the block (see `postgres/timeouts.py`)."""
        return statement_limit(self._conn, seconds, setting)

    # --- writes ---------------------------------------------------------------------

    def session(self) -> AbstractContextManager[PostgresSession]:
        return _session(self._writer)

    def lane_session(self, lane: int) -> AbstractContextManager[PostgresSession]:
        """A session on lane `lane`'s connection: lane 0 is the storage's own, the others
        are opened on first use and share its write-path judgement (`probe.Adaptive`)."""
        if not 0 <= lane < self.lanes:
            raise ValueError(f"lane {lane} of {self.lanes}")
        if lane == 0:
            return self.session()
        writer = self._lane_writers.get(lane)
        if writer is None:
            writer = Writer(connect(self.url), self._writer.adaptive)
            self._lane_writers[lane] = writer
        return _session(writer)

    def blocked_by(self, waiters: Sequence[int], holder: int) -> bool:
        pids = [self._lane_writer(n).conn.info.backend_pid for n in waiters]
        conn = self._lane_writer(holder).conn
        row = conn.execute(BLOCKED_BY, {"pids": pids, "holder": conn.info.backend_pid}).fetchone()
        return bool(row and row[0])

    def _lane_writer(self, lane: int) -> Writer:
        return self._writer if lane == 0 else self._lane_writers[lane]

    def wire_encoder(self, convention: Convention) -> WireEncode:
        """Binary COPY rows built by the preparation worker (see `wire`)."""
        from ingestry.adapters.postgres.wire import WireEncoder

        return WireEncoder(convention)

    def change_feed(self) -> SqlChangeFeed:
        def execute(sql: str, params: Sequence[Any]) -> None:
            try:
                self._conn.execute(sql, params)
            except psycopg.Error as exc:
                raise translate(exc) from exc

        return SqlChangeFeed(self._rows, execute, "%s", select_records, record_from_row, SETTLED)

    def deletion(self) -> SqlDeletionStorage:
        """Soft delete (docs/deleting.md)."""
        return SqlDeletionStorage(
            self._conn, PG_DELETION, self._conn.transaction, select_records, record_from_row
        )

    # --- erasure (docs/erasure.md) -----------------------------------------------------

    def erasure(self) -> PostgresStorage:
        return self

    def erase_record(
        self, convention: Convention, srn: str, raw_sources: frozenset[str], audit: AuditDraft
    ) -> ErasureCounts | None:
        with self._conn.transaction():
            return erasure.erase(self._conn, erasure.POSTGRES, convention, srn, raw_sources, audit)

    def erasure_audits(self, srn_sha256: str | None, limit: int | None) -> list[ErasureAudit]:
        return erasure.audits(self._conn, erasure.POSTGRES, srn_sha256, limit)

    def raw_operations(self) -> PostgresRawOperations:
        from ingestry.adapters.postgres.rawops import PostgresRawOperations

        def transaction() -> Transaction:
            return Transaction(self._conn, self._writer.on_begin, self._writer.on_end, BEGIN)

        return PostgresRawOperations(self._conn, transaction, self._writer)

    def close(self) -> None:
        self._conn.close()
        for writer in self._lane_writers.values():
            writer.conn.close()
        self._lane_writers.clear()
        if self._engine is not None:
            self._engine.dispose()

    def lifecycle(self) -> PostgresLifecycle:
        from ingestry.adapters.postgres.lifecycle import PostgresLifecycle

        return PostgresLifecycle(self.session, self._conn)
