"""Raw-store operations on PostgreSQL: replay reads and writes, quarantine decisions, holds.

Retention is in `retention.py`, the write session in `rawsession.py`. Batch writes pass
arrays (`unnest`) rather than a staging table, and join by index probes (write
transactions turn hash and merge joins off, see `statements.BEGIN`): a raw row by its
primary key (id, received_at), so only its partition is touched; a source id's newest
payload through `raw_keys`. Text is escaped for U+0000 as everywhere on this backend
(see `text`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ingestry.adapters.postgres.rawsession import Conn, PostgresRawSession
from ingestry.adapters.postgres.reads import (
    quarantine_from_row,
    record_from_row,
    select_records,
)
from ingestry.adapters.postgres.retention import PostgresRetention
from ingestry.adapters.postgres.text import escape_text, unescape_text
from ingestry.adapters.postgres.transaction import Transaction
from ingestry.adapters.sql.conventions import table_name
from ingestry.adapters.sql.rows import RECEIPTS
from ingestry.adapters.sql.window import window_where
from ingestry.domain.clock import iso
from ingestry.domain.conventions import Convention
from ingestry.domain.payloads import QuarantineDetail
from ingestry.domain.records import Record
from ingestry.services.ports import (
    QuarantineItem,
    RawWindow,
    StoredRaw,
    StoredReceipt,
)

_STORED = (
    "p.id, p.received_at, p.entity_type, p.source_id, p.sha256, p.payload, p.header_sha256,"
    " p.extractor_version, p.error, p.synthesized, p.line, p.origin"
)
_RECEIPTS = RECEIPTS.format("(SELECT DISTINCT unnest(%s::int8[]) AS id) x")


def _receipt(row: Sequence[Any]) -> StoredReceipt:
    sha = None if row[6] is None else bytes(row[6])
    return StoredReceipt(row[0], _u(row[1]), iso(row[2]), _u(row[3]), row[4], _u(row[5]), sha)


def _u(value: str | None) -> str | None:
    return None if value is None else unescape_text(value)


class PostgresRawOperations(PostgresRetention):
    """RawOperations on the storage's connection (reads in autocommit, writes in
    the storage's retrying transactions)."""

    def __init__(self, conn: Conn, new_transaction: Callable[[], Transaction], writer: Any) -> None:
        super().__init__(conn)
        self._new_transaction = new_transaction
        self._writer = writer
        self._headers: dict[bytes, bytes] = {}

    @contextmanager
    def session(self) -> Iterator[PostgresRawSession]:
        tx = self._new_transaction()
        try:
            yield PostgresRawSession(tx, self._writer)
        except BaseException:
            tx.rollback()
            raise
        tx.commit()

    def window_count(self, window: RawWindow) -> int:
        where, params = window_where(window, "%s", "%s::timestamptz", "p.")
        row = self.conn.execute(f"SELECT count(*) FROM raw_payloads p WHERE {where}", params)
        found = row.fetchone()
        return int(found[0]) if found else 0

    def receipts(self, raw_ids: Sequence[int]) -> list[StoredReceipt]:
        """Every receipt of these raw rows (one statement: the ids as an array)."""
        rows = self.conn.execute(_RECEIPTS, (list(raw_ids),)).fetchall()
        return [_receipt(row) for row in rows]

    def window_batch(
        self, window: RawWindow, after: tuple[str, int] | None, limit: int
    ) -> list[StoredRaw]:
        sql, params = self._window_sql(window, after, limit)
        return [self._stored(row) for row in self.conn.execute(sql, params)]

    def explain_window(self, window: RawWindow, after: tuple[str, int] | None = None) -> str:
        """The query plan of one replay batch (for tests and docs)."""
        sql, params = self._window_sql(window, after, 5000)
        rows = self.conn.execute(f"EXPLAIN {sql}", params).fetchall()
        return "\n".join(str(r[0]) for r in rows)

    def _window_sql(
        self, window: RawWindow, after: tuple[str, int] | None, limit: int
    ) -> tuple[str, list[object]]:
        where, params = window_where(window, "%s", "%s::timestamptz", "p.")
        if after is not None:
            where += " AND (p.received_at, p.id) > (%s::timestamptz, %s)"
            params += list(after)
        sql = (
            f"SELECT {_STORED} FROM raw_payloads p WHERE {where}"
            f" ORDER BY p.received_at, p.id LIMIT {int(limit)}"
        )
        return sql, params

    def _stored(self, row: Sequence[Any]) -> StoredRaw:
        return StoredRaw(
            row[0], iso(row[1]), unescape_text(row[2]), unescape_text(row[3]), bytes(row[4]),
            bytes(row[5]), self._header(row[6]), row[7], _u(row[8]), bool(row[9]), row[10],
            _u(row[11]),
        )  # fmt: skip

    def _header(self, sha: bytes | None) -> bytes | None:
        if sha is None:
            return None
        key = bytes(sha)
        found = self._headers.get(key)
        if found is None:
            row = self.conn.execute(
                "SELECT payload FROM raw_headers WHERE sha256 = %s", (key,)
            ).fetchone()
            if row is None:
                return None
            found = self._headers[key] = bytes(row[0])
        return found

    def quarantine_items(
        self, source: str, ids: Sequence[int] | None, after: int, limit: int
    ) -> list[QuarantineItem]:
        sql = (
            "SELECT id, sha256, payload, header_sha256, line, origin, received_at FROM quarantine"
            " WHERE source = %s AND status = 'open' AND id > %s"
        )
        params: list[object] = [source, after]
        if ids is not None:
            sql += " AND id = ANY(%s::int8[])"
            params.append(list(ids))
        sql += f" ORDER BY id LIMIT {int(limit)}"
        return [
            QuarantineItem(
                r[0], bytes(r[1]), bytes(r[2]), self._header(r[3]), r[4], _u(r[5]), iso(r[6])
            )
            for r in self.conn.execute(sql, params)
        ]

    def quarantine_raw_rows(self, source: str, items: Sequence[QuarantineItem]) -> list[StoredRaw]:
        out: dict[int, StoredRaw] = {}
        for item in items:
            # the raw row of a payload that failed on arrival: same batch time, or no id
            rows = self.conn.execute(
                f"SELECT {_STORED} FROM raw_payloads p WHERE p.source = %s"
                " AND p.received_at = %s::timestamptz AND p.sha256 = %s"
                f" UNION ALL SELECT {_STORED} FROM raw_keys k JOIN raw_payloads p"
                " ON p.id = k.raw_id AND p.received_at = k.received_at"
                " WHERE k.source = %s AND k.source_id = '' AND k.sha256 = %s",
                (source, item.received_at, item.sha256, source, item.sha256),
            ).fetchall()
            if not rows:  # one that failed later (on a replay): find it the long way
                rows = self.conn.execute(
                    f"SELECT {_STORED} FROM raw_keys k JOIN raw_payloads p"
                    " ON p.id = k.raw_id AND p.received_at = k.received_at"
                    " WHERE k.source = %s AND k.sha256 = %s",
                    (source, item.sha256),
                ).fetchall()
            for row in rows:
                out[row[0]] = self._stored(row)
        return [out[k] for k in sorted(out)]

    def quarantine_entry(self, entry_id: int) -> QuarantineDetail | None:
        row = self.conn.execute(
            "SELECT id, source, sha256, payload, line, origin, reason, received_at, status,"
            " resolved_at, resolution, resolved_by FROM quarantine WHERE id = %s",
            (entry_id,),
        ).fetchone()
        if row is None:
            return None
        raw = self.conn.execute(
            "SELECT p.payload FROM raw_keys k JOIN raw_payloads p ON p.id = k.raw_id"
            " AND p.received_at = k.received_at WHERE k.source = %s AND k.sha256 = %s"
            " ORDER BY p.id LIMIT 1",
            (row[1], row[2]),
        ).fetchone()
        return QuarantineDetail(
            quarantine_from_row(row[:9]), row[9], _u(row[10]), _u(row[11]),
            bytes(raw[0]) if raw is not None else None,
        )  # fmt: skip

    def extractor_versions(self, convention: Convention, data_source: str) -> dict[str, int]:
        sql = (
            f'SELECT extractor_version, count(*) FROM "{table_name(convention.name)}"'
            " WHERE data_source = %s GROUP BY extractor_version"
        )
        return {str(v): int(n) for v, n in self.conn.execute(sql, (data_source,))}

    def source_records(
        self,
        convention: Convention,
        data_source: str,
        after: tuple[str, str, str] | None,
        limit: int,
    ) -> list[Record]:
        where, params = "WHERE data_source = %s", [data_source]
        if after is not None:
            where += " AND (source_type, upstream, source_id) > (%s, %s, %s)"
            params += [after[0], escape_text(after[1]), escape_text(after[2])]
        order = "ORDER BY source_type, upstream, source_id"
        sql = select_records(convention, f"{where} {order} LIMIT {int(limit)}")
        return [record_from_row(convention, row) for row in self.conn.execute(sql, params)]
