"""Retention on SQLite: holds, counts, bounded purges and the audit trail.

A row is purgeable when it was received before its source's cutoff, has been extracted
(processed_at set), has no open quarantine entry and is not held. Purges run in
transactions of at most `batch_rows` rows, walking the window by (received_at, id), so
other writers get the database between batches and a kept row is read once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from ingestry.adapters.sql.rows import as_datetime
from ingestry.adapters.sql.spans import drop_orphans
from ingestry.adapters.sqlite.session import SQLiteSession
from ingestry.domain.retention import RawHold, RetentionAuditEntry, RetentionReport
from ingestry.services.ports import PurgeResult, RetentionPolicy

_HOLD_COLUMNS = (
    "id, source, source_id, reason, held_until, created_at, created_by, released_at, released_by"
)
_AUDIT_COLUMNS = (
    "id, source, cutoff, rows_purged, bytes_freed, partitions_dropped, kept_unextracted,"
    " kept_quarantined, kept_held, actor, at, pages_purged, page_bytes_freed"
)
_QUARANTINED = (
    "EXISTS (SELECT 1 FROM quarantine q WHERE q.source = p.source AND q.sha256 = p.sha256"
    " AND q.status = 'open')"
)


def _held(policy: RetentionPolicy) -> tuple[str, list[object]]:
    if not policy.held_ids:
        return "0", []
    return f"p.source_id IN ({','.join('?' * len(policy.held_ids))})", list(policy.held_ids)


def hold_from_row(row: Sequence[Any]) -> RawHold:
    def moment(value: Any) -> Any:
        return None if value is None else as_datetime(value)

    return RawHold(
        id=row[0], source=row[1], source_id=row[2], reason=row[3], held_until=moment(row[4]),
        created_at=as_datetime(row[5]), created_by=row[6], released_at=moment(row[7]),
        released_by=row[8],
    )  # fmt: skip


def audit_from_row(row: Sequence[Any]) -> RetentionAuditEntry:
    counts = [int(v) for v in row[3:9]]
    return RetentionAuditEntry(
        id=row[0], source=row[1], cutoff=as_datetime(row[2]), rows_purged=counts[0],
        bytes_freed=counts[1], partitions_dropped=counts[2], kept_unextracted=counts[3],
        kept_quarantined=counts[4], kept_held=counts[5], actor=row[9], at=as_datetime(row[10]),
        pages_purged=int(row[11]), page_bytes_freed=int(row[12]),
    )  # fmt: skip


class SQLiteRetention:
    def __init__(
        self,
        conn: sqlite3.Connection,
        base_session: Callable[[], AbstractContextManager[SQLiteSession]],
    ) -> None:
        self.conn = conn
        self._base_session = base_session

    def holds(self, source: str | None, active_at: str | None) -> list[RawHold]:
        clauses, params = ["1"], []
        if source is not None:
            clauses.append("source = ?")
            params.append(source)
        if active_at is not None:
            clauses.append("released_at IS NULL AND (held_until IS NULL OR held_until > ?)")
            params.append(active_at)
        sql = f"SELECT {_HOLD_COLUMNS} FROM raw_holds WHERE {' AND '.join(clauses)} ORDER BY id"
        return [hold_from_row(r) for r in self.conn.execute(sql, params)]

    def retention_counts(self, policy: RetentionPolicy, report: RetentionReport) -> None:
        held, held_params = _held(policy)
        sql = (
            "SELECT count(*), coalesce(sum(u), 0), coalesce(sum(q AND NOT u), 0),"
            " coalesce(sum(h AND NOT q AND NOT u), 0),"
            " coalesce(sum(CASE WHEN u OR q OR h THEN 0 ELSE n END), 0) FROM ("
            f" SELECT p.processed_at IS NULL AS u, {_QUARANTINED} AS q, {held} AS h,"
            " length(p.payload) AS n FROM raw_payloads p"
            " WHERE p.source = ? AND p.received_at < ?)"
        )
        row = self.conn.execute(sql, [*held_params, policy.source, policy.cutoff]).fetchone()
        report.expired, report.kept_unextracted, report.kept_quarantined = row[0], row[1], row[2]
        report.kept_held, report.bytes_freed = row[3], row[4]
        report.rows_purged = row[0] - row[1] - row[2] - row[3]

    def drop_partitions(
        self, policies: Sequence[RetentionPolicy], now: str
    ) -> dict[str, PurgeResult]:
        return {}  # one table: rows are deleted in batches

    def purge(self, policy: RetentionPolicy, batch_rows: int) -> PurgeResult:
        held, held_params = _held(policy)
        base = (
            "SELECT p.id, p.received_at, length(p.payload) FROM raw_payloads p"
            " WHERE p.source = ? AND p.received_at < ? AND p.processed_at IS NOT NULL"
            f" AND NOT {_QUARANTINED} AND NOT {held}"
        )
        rows_done = bytes_done = 0
        after: tuple[str, int] | None = None
        while True:
            params: list[object] = [policy.source, policy.cutoff, *held_params]
            sql = base
            if after is not None:
                sql += " AND (p.received_at, p.id) > (?, ?)"
                params += list(after)
            sql += f" ORDER BY p.received_at, p.id LIMIT {int(batch_rows)}"
            with self._base_session() as session:
                found = session.conn.execute(sql, params).fetchall()
                ids = [(r[0],) for r in found]
                session.conn.executemany("DELETE FROM raw_payloads WHERE id = ?", ids)
                # the receipts go with their payloads (a re-send is stored anew)
                session.conn.executemany(drop_orphans("?1"), ids)
            rows_done += len(found)
            bytes_done += sum(r[2] for r in found)
            if len(found) < batch_rows:
                return PurgeResult(rows_done, bytes_done, 0)
            after = (found[-1][1], found[-1][0])

    def audit(self, source: str | None, limit: int) -> list[RetentionAuditEntry]:
        where, params = ("WHERE source = ?", [source]) if source is not None else ("", [])
        sql = f"SELECT {_AUDIT_COLUMNS} FROM retention_audit {where} ORDER BY id DESC LIMIT ?"
        return [audit_from_row(r) for r in self.conn.execute(sql, [*params, limit])]
