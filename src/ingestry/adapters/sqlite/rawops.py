"""Raw-store operations on SQLite: replay reads and writes, quarantine decisions, holds.

Retention is in `retention.py`. Everything here reaches rows through an index: the
window by (source, received_at) (the rowid = id is the index's implicit last column, so
the (received_at, id) keyset is one range read with no sort), raw rows of a source id by
the dedupe key, quarantine entries by (source, sha256) or id.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any

from ingestry.adapters.sql.conventions import table_name
from ingestry.adapters.sql.deletion import TOMBSTONE
from ingestry.adapters.sql.rows import (
    QUARANTINE_COLUMNS,
    RECEIPTS,
    as_datetime,
    quarantine_entry,
    record_from_row,
)
from ingestry.adapters.sql.rows import select_records as select_record_rows
from ingestry.adapters.sql.spans import SPAN_MAX, covers, line_of
from ingestry.adapters.sql.window import window_where
from ingestry.adapters.sqlite.receipts import drop_run_receipts
from ingestry.adapters.sqlite.retention import SQLiteRetention
from ingestry.adapters.sqlite.session import SQLiteSession
from ingestry.domain.clock import iso
from ingestry.domain.conventions import Convention
from ingestry.domain.payloads import QuarantineDetail
from ingestry.domain.records import Record
from ingestry.domain.retention import RetentionReport
from ingestry.services.ports import (
    ExistingRecord,
    QuarantineItem,
    RawMark,
    RawRow,
    RawWindow,
    Receipt,
    StoredRaw,
    StoredReceipt,
)

#: Bound variables per statement, well below SQLite's limit.
CHUNK = 900

_STORED = (
    "id, received_at, entity_type, source_id, sha256, payload, header_sha256,"
    " extractor_version, error, synthesized, line, origin"
)

_RECEIPTS = RECEIPTS.format("(SELECT id FROM raw_payloads WHERE id IN ({})) x")


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


class SQLiteRawSession(SQLiteSession):
    """The write session of raw-store operations (same transaction as the base)."""

    def latest_raw_ids(self, source: str, source_ids: Sequence[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for part in chunks(source_ids):
            marks = ",".join("?" * len(part))
            sql = (
                # the raw row of each id's latest receipt (SQLite takes the bare
                # column from the row that holds the max; within one span, the later
                # raw id arrived later)
                f"SELECT p.source_id, p.id, max(r.id * {SPAN_MAX} + p.id - r.raw_id)"
                f" FROM raw_payloads p JOIN raw_receipts r ON {covers('r', 'p.id')}"
                f" WHERE p.source = ? AND p.source_id IN ({marks}) GROUP BY p.source_id"
            )
            out.update((sid, raw_id) for sid, raw_id, _ in self.conn.execute(sql, (source, *part)))
        return out

    def existing_records(
        self, convention: Convention, source_type: str, upstream: str, source_ids: Sequence[str]
    ) -> list[ExistingRecord]:
        out: list[ExistingRecord] = []
        for part in chunks(source_ids):
            marks = ",".join("?" * len(part))
            sql = (
                "SELECT source_type, upstream, source_id, source, extractor_version,"
                f' {TOMBSTONE} FROM "{table_name(convention.name)}"'
                " WHERE source_type = ? AND upstream = ?"
                f" AND source_id IN ({marks})"
            )
            params = (source_type, upstream, *part)
            rows = self.conn.execute(sql, params)
            out += [ExistingRecord(t, u, i, s, v, bool(d)) for t, u, i, s, v, d in rows]
        return out

    def set_extractor_version(
        self, convention: Convention, identities: Sequence[tuple[str, str, str]], version: str
    ) -> None:
        sql = (
            f'UPDATE "{table_name(convention.name)}" SET extractor_version = ?'
            " WHERE source_type = ? AND upstream = ? AND source_id = ?"
        )
        self.conn.executemany(sql, [(version, *identity) for identity in identities])

    def mark_raw(self, source: str, rows: Sequence[RawMark], now: str) -> None:
        self.conn.executemany(
            "UPDATE raw_payloads SET processed_at = ?, extractor_version = ?, error = ?"
            " WHERE id = ?",
            [(now, r[4], r[5], r[0]) for r in rows],
        )
        moved = [(r[6], r[7], r[0]) for r in rows if r[6] is not None]
        # OR IGNORE: the same bytes stored under the new id already keep the old id.
        self.conn.executemany(
            "UPDATE OR IGNORE raw_payloads SET source_id = ?, entity_type = ? WHERE id = ?", moved
        )

    def drop_run_receipts(self, run_srn: str) -> int:
        return drop_run_receipts(self.conn, run_srn)

    def source_receipts(
        self, source: str
    ) -> set[tuple[str, bytes, str | None, str, int | None, str | None]]:
        sql = (
            f"SELECT p.source_id, p.sha256, b.run_srn, b.received_at, {line_of('r', 'p.id')},"
            f" b.origin FROM raw_payloads p JOIN raw_receipts r ON {covers('r', 'p.id')}"
            " JOIN raw_receipt_batches b ON b.id = r.batch_id WHERE p.source = ?"
        )
        return {
            (sid, bytes(sha), run, iso(datetime.fromisoformat(at)), line, origin)
            for sid, sha, run, at, line, origin in self.conn.execute(sql, (source,))
        }

    def resolve_quarantine(
        self,
        source: str,
        *,
        ids: Sequence[int] = (),
        sha256s: Sequence[bytes] = (),
        status: str,
        resolution: str,
        actor: str,
        now: str,
    ) -> list[int]:
        found: list[int] = []
        for column, values in (("id", ids), ("sha256", sha256s)):
            for part in chunks(values):
                marks = ",".join("?" * len(part))
                found += [
                    row[0]
                    for row in self.conn.execute(
                        "SELECT id FROM quarantine WHERE source = ? AND status = 'open'"
                        f" AND {column} IN ({marks})",
                        (source, *part),
                    )
                ]
        found = sorted(set(found))
        self.conn.executemany(
            "UPDATE quarantine SET status = ?, resolved_at = ?, resolution = ?,"
            " resolved_by = ?, payload = x'' WHERE id = ?",
            [(status, now, resolution, actor, i) for i in found],
        )
        return found

    def append_synthesized(self, rows: Sequence[RawRow]) -> int:
        sql = (
            "INSERT INTO raw_payloads (source, entity_type, source_id, sha256, payload,"
            " header_sha256, received_at, processed_at, extractor_version, error, line, origin,"
            " synthesized) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,1)"
            " ON CONFLICT (source, source_id, sha256) DO NOTHING"
        )
        if not rows:
            return 0
        stored: int = self.conn.executemany(sql, rows).rowcount
        self.append_receipts([(r[0], r[2], r[3], r[6], r[10], r[11]) for r in rows], Receipt(None))
        return stored

    def add_hold(
        self,
        source: str,
        source_id: str | None,
        until: str | None,
        reason: str | None,
        actor: str,
        now: str,
    ) -> int:
        cursor = self.conn.execute(
            "INSERT INTO raw_holds (source, source_id, reason, held_until, created_at,"
            " created_by) VALUES (?,?,?,?,?,?)",
            (source, source_id, reason, until, now, actor),
        )
        return int(cursor.lastrowid or 0)

    def release_hold(self, hold_id: int, actor: str, now: str) -> bool:
        cursor = self.conn.execute(
            "UPDATE raw_holds SET released_at = ?, released_by = ?"
            " WHERE id = ? AND released_at IS NULL",
            (now, actor, hold_id),
        )
        return cursor.rowcount == 1

    def write_audit(self, report: RetentionReport, actor: str, now: str) -> None:
        self.conn.execute(
            "INSERT INTO retention_audit (source, cutoff, rows_purged, bytes_freed,"
            " partitions_dropped, kept_unextracted, kept_quarantined, kept_held, actor, at,"
            " pages_purged, page_bytes_freed) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                report.source, report.cutoff.isoformat(timespec="microseconds"),
                report.rows_purged, report.bytes_freed, report.partitions_dropped,
                report.kept_unextracted, report.kept_quarantined, report.kept_held, actor, now,
                report.pages_purged, report.page_bytes_freed,
            ),
        )  # fmt: skip


class SQLiteRawOperations(SQLiteRetention):
    """RawOperations on one SQLite connection; writes go through the storage's sessions."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        base_session: Callable[[], AbstractContextManager[SQLiteSession]],
    ) -> None:
        super().__init__(conn, base_session)
        self._headers: dict[bytes, bytes] = {}

    @contextmanager
    def session(self) -> Iterator[SQLiteRawSession]:
        with self._base_session() as base:
            yield SQLiteRawSession(base.conn, base._statements, base._raw_mode)

    def window_count(self, window: RawWindow) -> int:
        where, params = window_where(window, "?", "?")
        row = self.conn.execute(f"SELECT count(*) FROM raw_payloads WHERE {where}", params)
        return int(row.fetchone()[0])

    def receipts(self, raw_ids: Sequence[int]) -> list[StoredReceipt]:
        """Every receipt of these raw rows (one IN list per CHUNK ids)."""
        out: list[StoredReceipt] = []
        for part in chunks(list(raw_ids)):
            sql = _RECEIPTS.format(", ".join("?" for _ in part))
            out += [StoredReceipt(*row) for row in self.conn.execute(sql, list(part))]
        return out

    def window_batch(
        self, window: RawWindow, after: tuple[str, int] | None, limit: int
    ) -> list[StoredRaw]:
        sql, params = self._window_sql(window, after, limit)
        return [self._stored(row) for row in self.conn.execute(sql, params)]

    def explain_window(self, window: RawWindow, after: tuple[str, int] | None = None) -> str:
        """The query plan of one replay batch (for tests and docs)."""
        sql, params = self._window_sql(window, after, 5000)
        rows = self.conn.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
        return "\n".join(str(r[-1]) for r in rows)

    def _window_sql(
        self, window: RawWindow, after: tuple[str, int] | None, limit: int
    ) -> tuple[str, list[object]]:
        where, params = window_where(window, "?", "?")
        if after is not None:
            where += " AND (received_at, id) > (?, ?)"
            params += list(after)
        sql = (
            f"SELECT {_STORED} FROM raw_payloads WHERE {where}"
            f" ORDER BY received_at, id LIMIT {int(limit)}"
        )
        return sql, params

    def _stored(self, row: tuple[Any, ...]) -> StoredRaw:
        header_sha = row[6]
        return StoredRaw(
            row[0], row[1], row[2], row[3], row[4], row[5],
            self._header(header_sha) if header_sha is not None else None,
            row[7], row[8], bool(row[9]), row[10], row[11],
        )  # fmt: skip

    def _header(self, sha: bytes | None) -> bytes | None:
        if sha is None:
            return None
        found = self._headers.get(sha)
        if found is None:
            row = self.conn.execute(
                "SELECT payload FROM raw_headers WHERE sha256 = ?", (sha,)
            ).fetchone()
            if row is None:
                return None
            found = self._headers[sha] = bytes(row[0])
        return found

    def quarantine_items(
        self, source: str, ids: Sequence[int] | None, after: int, limit: int
    ) -> list[QuarantineItem]:
        sql = (
            "SELECT id, sha256, payload, header_sha256, line, origin, received_at FROM quarantine"
            " WHERE source = ? AND status = 'open' AND id > ?"
        )
        params: list[object] = [source, after]
        if ids is not None:
            wanted = sorted(i for i in set(ids) if i > after)[:limit]
            if not wanted:
                return []
            sql += f" AND id IN ({','.join('?' * len(wanted))})"
            params += wanted
        sql += f" ORDER BY id LIMIT {int(limit)}"
        rows = self.conn.execute(sql, params).fetchall()
        return [QuarantineItem(r[0], r[1], r[2], self._header(r[3]), *r[4:]) for r in rows]

    def quarantine_raw_rows(self, source: str, items: Sequence[QuarantineItem]) -> list[StoredRaw]:
        out: dict[int, StoredRaw] = {}
        for item in items:
            # the raw row of a payload that failed on arrival: same batch time, or no id
            rows = self.conn.execute(
                f"SELECT {_STORED} FROM raw_payloads WHERE source = ? AND received_at = ?"
                f" AND sha256 = ? UNION SELECT {_STORED} FROM raw_payloads"
                " WHERE source = ? AND source_id = '' AND sha256 = ?",
                (source, item.received_at, item.sha256, source, item.sha256),
            ).fetchall()
            if not rows:  # one that failed later (on a replay): find it the long way
                rows = self.conn.execute(
                    f"SELECT {_STORED} FROM raw_payloads WHERE source = ? AND sha256 = ?",
                    (source, item.sha256),
                ).fetchall()
            for row in rows:
                out[row[0]] = self._stored(row)
        return [out[k] for k in sorted(out)]

    def quarantine_entry(self, entry_id: int) -> QuarantineDetail | None:
        row = self.conn.execute(
            f"SELECT {QUARANTINE_COLUMNS}, resolved_at, resolution, resolved_by"
            " FROM quarantine WHERE id = ?",
            (entry_id,),
        ).fetchone()
        if row is None:
            return None
        entry = quarantine_entry(row[:9])
        raw = self.conn.execute(
            "SELECT payload FROM raw_payloads WHERE source = ? AND sha256 = ? ORDER BY id LIMIT 1",
            (entry.source, row[2]),
        ).fetchone()
        return QuarantineDetail(
            entry,
            as_datetime(row[9]) if row[9] is not None else None,
            row[10],
            row[11],
            bytes(raw[0]) if raw is not None else None,
        )

    def extractor_versions(self, convention: Convention, data_source: str) -> dict[str, int]:
        sql = (
            f'SELECT extractor_version, count(*) FROM "{table_name(convention.name)}"'
            " WHERE data_source = ? GROUP BY extractor_version"
        )
        return {str(v): n for v, n in self.conn.execute(sql, (data_source,))}

    def source_records(
        self,
        convention: Convention,
        data_source: str,
        after: tuple[str, str, str] | None,
        limit: int,
    ) -> list[Record]:
        where, params = "WHERE data_source = ?", [data_source]
        if after is not None:
            where += " AND (source_type, upstream, source_id) > (?, ?, ?)"
            params += list(after)
        order = "ORDER BY source_type, upstream, source_id"
        sql = select_record_rows(convention, f"{where} {order} LIMIT {int(limit)}")
        return [record_from_row(convention, row) for row in self.conn.execute(sql, params)]
