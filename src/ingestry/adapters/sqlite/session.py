"""The SQLite write path: one transaction, `executemany` per statement and batch."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from ingestry.adapters.sql.conventions import table_name
from ingestry.domain.conventions import Convention
from ingestry.services.ports import (
    QuarantineRow,
    RawRow,
    RecordChange,
    RecordRow,
    UpsertResult,
)

_INSERT_RAW = (
    "INSERT INTO raw_payloads (source, entity_type, source_id, sha256, payload, header_sha256,"
    " received_at, processed_at, extractor_version, error, line, origin)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (source, sha256) DO NOTHING"
)
_INSERT_HEADER = "INSERT INTO raw_headers (sha256, payload) VALUES (?,?) ON CONFLICT DO NOTHING"
_INSERT_QUARANTINE = (
    "INSERT INTO quarantine (source, sha256, payload, line, origin, reason, received_at, status)"
    " VALUES (?,?,?,?,?,?,?,'open') ON CONFLICT (source, sha256) DO UPDATE SET"
    " reason = excluded.reason, line = excluded.line, origin = excluded.origin,"
    " received_at = excluded.received_at, status = 'open', resolved_at = NULL, resolution = NULL"
    " WHERE quarantine.status <> 'open'"
)
#: SQLite's default limit on bound variables is 32766 since 3.32; stay well below.
_LOOKUP_CHUNK = 900


class SQLiteSession:
    """Implements StorageSession on one sqlite3 connection inside BEGIN IMMEDIATE."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._statements: dict[str, tuple[str, str, str]] = {}

    def append_raw(self, rows: Sequence[RawRow], headers: Sequence[tuple[bytes, bytes]]) -> int:
        if headers:
            self.conn.executemany(_INSERT_HEADER, headers)
        if not rows:
            return 0
        return self.conn.executemany(_INSERT_RAW, rows).rowcount

    def quarantine(self, rows: Sequence[QuarantineRow]) -> None:
        if rows:
            self.conn.executemany(_INSERT_QUARANTINE, rows)

    def upsert_records(
        self, convention: Convention, rows: Sequence[RecordRow], now: str
    ) -> UpsertResult:
        if not rows:
            return UpsertResult(0, 0, 0, [])
        insert_sql, update_sql, history_sql = self._sql(convention)
        known = self._lookup(table_name(convention.name), {r.srn for r in rows})
        inserts: list[tuple[Any, ...]] = []
        rounds: list[list[tuple[Any, ...]]] = [[]]
        round_of: dict[str, int] = {}
        changes: list[RecordChange] = []
        unchanged = 0
        for row in rows:
            state = known.get(row.srn)
            if state is None:
                known[row.srn] = (row.content_hash, 1)
                inserts.append(
                    (*row[:7], 1, row.extractor_version, row.raw_sha256, now, now, *row.columns)
                )
                changes.append(RecordChange(row.srn, 1))
            elif state[0] == row.content_hash:
                unchanged += 1
            else:
                version = state[1] + 1
                known[row.srn] = (row.content_hash, version)
                # an srn updated twice in one batch needs its own round (history, then update)
                r = round_of.get(row.srn, -1) + 1
                round_of[row.srn] = r
                if r == len(rounds):
                    rounds.append([])
                rounds[r].append(
                    (
                        row.source,
                        row.data_source,
                        row.metadata,
                        row.content_hash,
                        version,
                        row.extractor_version,
                        row.raw_sha256,
                        now,
                        *row.columns,
                        row.srn,
                    )
                )
                changes.append(RecordChange(row.srn, version))
        if inserts:
            self.conn.executemany(insert_sql, inserts)
        for updates in rounds:
            if updates:
                self.conn.executemany(history_sql, [(now, u[-1]) for u in updates])
                self.conn.executemany(update_sql, updates)
        updated = len(changes) - len(inserts)
        return UpsertResult(len(inserts), updated, unchanged, changes)

    def _lookup(self, table: str, srns: set[str]) -> dict[str, tuple[bytes, int]]:
        found: dict[str, tuple[bytes, int]] = {}
        keys = list(srns)
        for i in range(0, len(keys), _LOOKUP_CHUNK):
            chunk = keys[i : i + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            sql = f'SELECT srn, content_hash, version FROM "{table}" WHERE srn IN ({marks})'
            for srn, content_hash, version in self.conn.execute(sql, chunk):
                found[srn] = (content_hash, version)
        return found

    def _sql(self, convention: Convention) -> tuple[str, str, str]:
        cached = self._statements.get(convention.name)
        if cached is None:
            cached = record_statements(convention)
            self._statements[convention.name] = cached
        return cached

    def start_run(self, srn: str, source: str, origins: list[str], now: str) -> None:
        self.conn.execute(
            "INSERT INTO ingest_runs (srn, source, started_at, status, origins)"
            " VALUES (?,?,?,'running',?)",
            (srn, source, now, orjson.dumps(origins).decode()),
        )

    def finish_run(self, srn: str, status: str, summary: dict[str, Any], now: str) -> None:
        self.conn.execute(
            "UPDATE ingest_runs SET finished_at = ?, status = ?, summary = ? WHERE srn = ?",
            (now, status, orjson.dumps(summary).decode(), srn),
        )


def record_statements(convention: Convention) -> tuple[str, str, str]:
    """INSERT, UPDATE and copy-to-history statements of a convention's record table."""
    table = f'"{table_name(convention.name)}"'
    cols = [f'"{c}"' for c in convention.column_names]
    envelope = (
        "srn, source_type, source_id, source, data_source, metadata, content_hash, version,"
        " extractor_version, raw_sha256, published_at, updated_at"
    )
    names = ", ".join([envelope, *cols])
    marks = ",".join("?" * (12 + len(cols)))
    insert = f"INSERT INTO {table} ({names}) VALUES ({marks})"
    sets = ", ".join(
        [
            "source = ?, data_source = ?, metadata = ?, content_hash = ?, version = ?,"
            " extractor_version = ?, raw_sha256 = ?, updated_at = ?",
            *(f"{c} = ?" for c in cols),
        ]
    )
    update = f"UPDATE {table} SET {sets} WHERE srn = ?"
    pairs = ", ".join(f"'{c}', {q}" for c, q in zip(convention.column_names, cols, strict=True))
    history = (
        "INSERT INTO record_versions (srn, version, convention, source, data_source, metadata,"
        " columns, content_hash, extractor_version, raw_sha256, published_at, version_at,"
        " superseded_at)"
        f" SELECT srn, version, '{convention.name}', source, data_source, metadata,"
        f" json_object({pairs}), content_hash, extractor_version, raw_sha256, published_at,"
        " updated_at, ?"
        f" FROM {table} WHERE srn = ?"
    )
    return insert, update, history
