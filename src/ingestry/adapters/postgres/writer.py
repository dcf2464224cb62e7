"""The set-based write statements of one PostgreSQL connection.

Each call stages its rows with one COPY and moves them with one statement (records: two
per round), so a batch costs a handful of round trips whatever its size. The writer
remembers which staging tables and partitions exist for its connection; what it
creates inside a transaction only counts once that transaction commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import psycopg

from ingestry.adapters.postgres.partitions import ensure_partitions, month_of
from ingestry.adapters.postgres.records import RecordSQL
from ingestry.adapters.postgres.rows import raw_stage_rows, record_stage_rows
from ingestry.adapters.postgres.staging import RAW, Stage, copy_rows
from ingestry.adapters.postgres.text import escape_json, escape_text, unescape_text
from ingestry.adapters.postgres.transaction import Transaction
from ingestry.domain.conventions import Convention
from ingestry.services.ports import QuarantineRow, RawRow, RecordChange, RecordRow, UpsertResult

QUARANTINE = Stage(
    "ingestry_stage_quarantine",
    (
        ("n", "int4"),
        ("source", 'text COLLATE "C"'),
        ("sha256", "bytea"),
        ("payload", "bytea"),
        ("line", "int4"),
        ("origin", "text"),
        ("reason", "text"),
        ("received_at", "text"),
    ),
)

# Ids are drawn in batch order (so `ORDER BY id` is arrival order, as on SQLite); keys
# are inserted in key order (so concurrent writers lock in the same order); the first
# of identical rows in a batch wins, as with SQLite's row-by-row ON CONFLICT.
_INSERT_RAW = (
    "WITH d AS MATERIALIZED ("
    " SELECT x.*, nextval('raw_payloads_id_seq') AS id FROM ("
    "  SELECT y.* FROM ("
    "   SELECT DISTINCT ON (source, source_id, sha256) n, source, source_id, sha256,"
    "   received_at FROM ingestry_stage_raw ORDER BY source, source_id, sha256, n) y"
    "  ORDER BY y.n) x"
    "), k AS ("
    " INSERT INTO raw_keys (source, source_id, sha256, raw_id, received_at)"
    " SELECT source, source_id, sha256, id, received_at::timestamptz FROM d"
    " ORDER BY source, source_id, sha256"
    " ON CONFLICT DO NOTHING RETURNING raw_id"
    ") INSERT INTO raw_payloads (id, source, entity_type, source_id, sha256, payload,"
    " header_sha256, received_at, processed_at, extractor_version, error, line, origin)"
    " SELECT d.id, s.source, s.entity_type, s.source_id, s.sha256, s.payload,"
    " s.header_sha256, s.received_at::timestamptz, s.processed_at::timestamptz,"
    " s.extractor_version, s.error, s.line, s.origin"
    " FROM k JOIN d ON d.id = k.raw_id JOIN ingestry_stage_raw s ON s.n = d.n"
)
_INSERT_HEADER = "INSERT INTO raw_headers (sha256, payload) VALUES (%s, %s) ON CONFLICT DO NOTHING"
# As for raw rows: ids in arrival order, locks in key order, the first duplicate wins.
_INSERT_QUARANTINE = (
    "WITH d AS MATERIALIZED ("
    " SELECT x.*, nextval('quarantine_id_seq') AS id FROM ("
    "  SELECT y.* FROM ("
    "   SELECT DISTINCT ON (source, sha256) * FROM ingestry_stage_quarantine"
    "   ORDER BY source, sha256, n) y"
    "  ORDER BY y.n) x"
    ") INSERT INTO quarantine AS q (id, source, sha256, payload, line, origin, reason,"
    " received_at, status)"
    " SELECT id, source, sha256, payload, line, origin, reason, received_at::timestamptz,"
    " 'open' FROM d ORDER BY source, sha256"
    " ON CONFLICT (source, sha256) DO UPDATE SET reason = excluded.reason,"
    " line = excluded.line, origin = excluded.origin, received_at = excluded.received_at,"
    " status = 'open', resolved_at = NULL, resolution = NULL WHERE q.status <> 'open'"
)


class Writer:
    """Implements the StorageSession calls on one connection (see PostgresSession)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self._stages: dict[str, Stage] = {}
        self._partitions: set[tuple[int, int]] = set()
        self._pending_stages: dict[str, Stage] = {}
        self._pending_partitions: set[tuple[int, int]] = set()
        self._filled: set[str] = set()
        self._sql: dict[str, RecordSQL] = {}

    # --- transaction hooks ------------------------------------------------------------

    def on_begin(self) -> None:
        self._filled.clear()

    def on_end(self, committed: bool) -> None:
        if committed:
            self._stages.update(self._pending_stages)
            self._partitions |= self._pending_partitions
        self._pending_stages.clear()
        self._pending_partitions.clear()
        self._filled.clear()

    # --- the calls --------------------------------------------------------------------

    def append_raw(
        self, tx: Transaction, rows: Sequence[RawRow], headers: Sequence[tuple[bytes, bytes]]
    ) -> int:
        if rows:
            self._ensure_partitions(tx, rows)
        tx.begin()
        if headers:
            with self.conn.cursor() as cur:
                cur.executemany(_INSERT_HEADER, sorted(headers))
        if not rows:
            return 0
        self._fill(tx, RAW, raw_stage_rows(rows))
        return self.conn.execute(_INSERT_RAW).rowcount

    def quarantine(self, tx: Transaction, rows: Sequence[QuarantineRow]) -> None:
        if not rows:
            return
        tx.begin()
        self._fill(
            tx,
            QUARANTINE,
            (
                (n, source, sha, payload, line, _text(origin), escape_text(reason), received)
                for n, (source, sha, payload, line, origin, reason, received) in enumerate(rows)
            ),
        )
        self.conn.execute(_INSERT_QUARANTINE)

    def upsert_records(
        self, tx: Transaction, convention: Convention, rows: Sequence[RecordRow], now: str
    ) -> UpsertResult:
        if not rows:
            return UpsertResult(0, 0, 0, [])
        sql = self._record_sql(convention)
        staged, sizes, full = record_stage_rows(convention, rows)
        tx.begin()
        self._fill(tx, sql.stage, staged, full)
        name = convention.name
        changes: list[RecordChange] = []
        created = updated = 0
        for round_, size in enumerate(sizes):
            params = {"now": now, "round": round_}
            inserted = self.conn.execute(sql.insert, params).fetchall()
            created += len(inserted)
            changes += [RecordChange(name, t, unescape_text(i), 1) for t, i in inserted]
            if len(inserted) < size:
                for t, i, version in self.conn.execute(sql.update, params):
                    changes.append(RecordChange(name, t, unescape_text(i), version))
                    updated += 1
        return UpsertResult(created, updated, len(rows) - created - updated, changes)

    def start_run(
        self, tx: Transaction, srn: str, source: str, origins: list[str], now: str
    ) -> None:
        tx.begin()
        self.conn.execute(
            "INSERT INTO ingest_runs (srn, source, started_at, status, origins)"
            " VALUES (%s, %s, %s::timestamptz, 'running', %s::jsonb)",
            (srn, source, now, escape_json(orjson.dumps(origins).decode())),
        )

    def finish_run(
        self, tx: Transaction, srn: str, status: str, summary: dict[str, Any], now: str
    ) -> None:
        tx.begin()
        self.conn.execute(
            "UPDATE ingest_runs SET finished_at = %s::timestamptz, status = %s,"
            " summary = %s::jsonb WHERE srn = %s",
            (now, status, escape_json(orjson.dumps(summary).decode()), srn),
        )

    # --- staging, partitions, statements ------------------------------------------------

    def _fill(self, tx: Transaction, stage: Stage, rows: Any, full: bool = True) -> None:
        known = self._stages.get(stage.name) or self._pending_stages.get(stage.name)
        if known != stage:
            for statement in stage.ddl:
                self.conn.execute(statement)
            self._pending_stages[stage.name] = stage
            self._stages.pop(stage.name, None)
        elif stage.name in self._filled:
            self.conn.execute(f'TRUNCATE "{stage.name}"')
        copy_rows(self.conn, stage, rows, full)
        self._filled.add(stage.name)

    def _ensure_partitions(self, tx: Transaction, rows: Sequence[RawRow]) -> None:
        months = {month_of(at) for at in {row[6] for row in rows}} - self._partitions
        months -= self._pending_partitions
        if not months:
            return
        if tx.begun:  # a strict run crossing a month: create inside its transaction
            ensure_partitions(self.conn, months)
            self._pending_partitions |= months
            return
        with self.conn.transaction():  # its own short transaction, before the batch's
            ensure_partitions(self.conn, months)
        self._partitions |= months

    def _record_sql(self, convention: Convention) -> RecordSQL:
        cached = self._sql.get(convention.name)
        if cached is None or cached.columns != convention.column_names:
            cached = RecordSQL.of(convention)
            self._sql[convention.name] = cached
        return cached


def _text(value: str | None) -> str | None:
    return None if value is None else escape_text(value)
