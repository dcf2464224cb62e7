"""The write session of raw-store operations on PostgreSQL (`PostgresRawOperations`):
replay marks and moves, receipts, quarantine decisions, synthesized rows, holds and the
retention audit, each in the session's retrying transaction. Batch writes pass arrays
(`unnest`) and join by index probes, as `rawops.py` says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from ingestry.adapters.postgres.receipts import DROP_RUN_RECEIPTS
from ingestry.adapters.postgres.session import PostgresSession
from ingestry.adapters.postgres.text import escape_text, unescape_json, unescape_text
from ingestry.adapters.sql.conventions import table_name
from ingestry.adapters.sql.spans import covers, line_of
from ingestry.domain.clock import iso
from ingestry.domain.conventions import Convention
from ingestry.domain.retention import RetentionReport
from ingestry.services.ports import (
    ExistingRecord,
    RawMark,
    RawRow,
)

Conn = psycopg.Connection[Any]

MARK = (
    "UPDATE raw_payloads p SET processed_at = %s::timestamptz, extractor_version = u.v,"
    " error = u.e FROM unnest(%s::int8[], %s::text[]::timestamptz[], %s::text[], %s::text[])"
    " AS u(id, at, v, e) WHERE p.id = u.id AND p.received_at = u.at"
)
# A new source id for a row whose bytes no other row of the source keeps under it.
MOVE = (
    "WITH u AS (SELECT DISTINCT ON (new, sha) * FROM unnest(%s::int8[],"
    " %s::text[]::timestamptz[], %s::text[], %s::bytea[], %s::text[], %s::text[])"
    " AS u(id, at, old, sha, new, ent) ORDER BY new, sha, id),"
    " k AS (UPDATE raw_keys k SET source_id = u.new FROM u WHERE k.source = %s"
    "  AND k.source_id = u.old AND k.sha256 = u.sha AND k.raw_id = u.id AND NOT EXISTS ("
    "  SELECT FROM raw_keys x WHERE x.source = %s AND x.source_id = u.new AND x.sha256 = u.sha)"
    "  RETURNING k.raw_id)"
    " UPDATE raw_payloads p SET source_id = u.new, entity_type = u.ent FROM u"
    " WHERE p.id = u.id AND p.received_at = u.at AND u.id IN (SELECT raw_id FROM k)"
)


def _t(value: str | None) -> str | None:
    return None if value is None else escape_text(value)


class PostgresRawSession(PostgresSession):
    """The write session of raw-store operations: every call runs in the session's
    retrying transaction (see `transaction`)."""

    def _run(self, call: Callable[[Conn], Any], rows: int = 0) -> Any:
        def step() -> Any:
            self.tx.begin()
            return call(self.tx.conn)

        return self.tx.run(step, rows)

    def latest_raw_ids(self, source: str, source_ids: Sequence[str]) -> dict[str, int]:
        ids = [escape_text(i) for i in source_ids]

        def call(conn: Conn) -> dict[str, int]:
            rows = conn.execute(
                # the raw row of each id's latest receipt
                # (within one span, the later raw id arrived later)
                "SELECT DISTINCT ON (k.source_id) k.source_id, k.raw_id FROM raw_keys k"
                f" JOIN raw_receipts r ON {covers('r', 'k.raw_id')} WHERE k.source = %s"
                " AND k.source_id = ANY(%s::text[]) ORDER BY k.source_id, r.id DESC,"
                " k.raw_id DESC",
                (source, ids),
            ).fetchall()
            return {unescape_text(sid): int(n) for sid, n in rows}

        result: dict[str, int] = self._run(call)
        return result

    def drop_run_receipts(self, run_srn: str) -> int:
        def call(conn: Conn) -> int:
            return conn.execute(DROP_RUN_RECEIPTS, (run_srn,)).rowcount

        dropped: int = self._run(call)
        return dropped

    def source_receipts(
        self, source: str
    ) -> set[tuple[str, bytes, str | None, str, int | None, str | None]]:
        def call(conn: Conn) -> set[tuple[str, bytes, str | None, str, int | None, str | None]]:
            rows = conn.execute(
                "SELECT k.source_id, k.sha256, b.run_srn, b.received_at,"
                f" {line_of('r', 'k.raw_id')}, b.origin FROM raw_keys k"
                f" JOIN raw_receipts r ON {covers('r', 'k.raw_id')}"
                " JOIN raw_receipt_batches b ON b.id = r.batch_id WHERE k.source = %s",
                (source,),
            )
            return {
                (unescape_text(sid), bytes(sha), run, iso(at), line,
                 None if origin is None else unescape_text(origin))
                for sid, sha, run, at, line, origin in rows
            }  # fmt: skip

        found: set[tuple[str, bytes, str | None, str, int | None, str | None]] = self._run(call)
        return found

    def existing_records(
        self, convention: Convention, source_type: str, upstream: str, source_ids: Sequence[str]
    ) -> list[ExistingRecord]:
        # one identity-index probe per id (with the type and upstream constant, a plain
        # `source_id = ANY(…)` was read as a range scan of every record of the upstream)
        sql = (
            "SELECT t.source_id, t.source, t.extractor_version, t.tombstone"
            " FROM unnest(%s::text[]) AS k(id)"
            " CROSS JOIN LATERAL (SELECT x.source_id, x.source::text AS source,"
            " x.extractor_version, length(x.content_hash) = 0 AS tombstone"
            f' FROM "{table_name(convention.name)}" x'
            " WHERE x.source_type = %s AND x.upstream = %s"
            ' AND x.source_id = k.id COLLATE "C" LIMIT 1) t'
        )
        params = ([escape_text(i) for i in source_ids], source_type, escape_text(upstream))

        def call(conn: Conn) -> list[ExistingRecord]:
            return [
                ExistingRecord(source_type, upstream, unescape_text(i), unescape_json(s), v, t)
                for i, s, v, t in conn.execute(sql, params)
            ]

        found: list[ExistingRecord] = self._run(call)
        return found

    def set_extractor_version(
        self, convention: Convention, identities: Sequence[tuple[str, str, str]], version: str
    ) -> None:
        sql = (
            f'UPDATE "{table_name(convention.name)}" r SET extractor_version = %s'
            " FROM unnest(%s::text[], %s::text[], %s::text[]) AS u(t, p, i)"
            " WHERE r.source_type = u.t AND r.upstream = u.p AND r.source_id = u.i"
        )
        params = (
            version, [t for t, _, _ in identities], [escape_text(p) for _, p, _ in identities],
            [escape_text(i) for _, _, i in identities],
        )  # fmt: skip
        self._run(lambda conn: conn.execute(sql, params), len(identities))

    def mark_raw(self, source: str, rows: Sequence[RawMark], now: str) -> None:
        if not rows:
            return
        marks = (
            now, [r[0] for r in rows], [r[1] for r in rows], [r[4] for r in rows],
            [_t(r[5]) for r in rows],
        )  # fmt: skip
        moved = [r for r in rows if r[6] is not None]

        def call(conn: Conn) -> None:
            conn.execute(MARK, marks)
            if moved:
                conn.execute(
                    MOVE,
                    (
                        [r[0] for r in moved], [r[1] for r in moved],
                        [escape_text(r[3]) for r in moved], [r[2] for r in moved],
                        [_t(r[6]) for r in moved], [_t(r[7]) for r in moved], source, source,
                    ),
                )  # fmt: skip

        self._run(call, len(rows))

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
        params = (
            status, now, escape_text(resolution), escape_text(actor), source, list(ids),
            list(sha256s),
        )  # fmt: skip

        def call(conn: Conn) -> list[int]:
            rows = conn.execute(
                "UPDATE quarantine SET status = %s, resolved_at = %s::timestamptz,"
                " resolution = %s, resolved_by = %s, payload = ''::bytea"
                " WHERE source = %s AND status = 'open'"
                " AND (id = ANY(%s::int8[]) OR sha256 = ANY(%s::bytea[])) RETURNING id",
                params,
            ).fetchall()
            return sorted(int(r[0]) for r in rows)

        closed: list[int] = self._run(call, len(ids) + len(sha256s))
        return closed

    def append_synthesized(self, rows: Sequence[RawRow]) -> int:
        """Only the rows this call stores are marked synthesized: a row already holding
        the same (source, source id, bytes) stays as it was (found by its dedupe key
        before the insert; the update goes through the keys of the fresh rows)."""
        if not rows:
            return 0

        def taken(conn: Conn) -> set[tuple[str, str, bytes]]:
            found: set[tuple[str, str, bytes]] = set()
            for source in {row[0] for row in rows}:
                mine = [row for row in rows if row[0] == source]
                found.update(
                    (source, unescape_text(sid), bytes(sha))
                    for sid, sha in conn.execute(
                        "SELECT k.source_id, k.sha256 FROM unnest(%s::text[], %s::bytea[])"
                        " AS u(sid, sha) JOIN raw_keys k ON k.source = %s"
                        " AND k.source_id = u.sid AND k.sha256 = u.sha",
                        ([escape_text(r[2]) for r in mine], [r[3] for r in mine], source),
                    )
                )
            return found

        before = self._run(taken)
        fresh = [row for row in rows if (row[0], row[2], row[3]) not in before]
        stored = self.append_raw(rows, [])
        by_time: dict[tuple[str, str], list[tuple[str, bytes]]] = {}
        for row in fresh:
            by_time.setdefault((row[0], row[6]), []).append((escape_text(row[2]), row[3]))

        def call(conn: Conn) -> None:
            for (source, at), keys in by_time.items():
                conn.execute(
                    "UPDATE raw_payloads p SET synthesized = true"
                    " FROM unnest(%s::text[], %s::bytea[]) AS u(sid, sha)"
                    " JOIN raw_keys k ON k.source = %s AND k.source_id = u.sid"
                    " AND k.sha256 = u.sha"
                    " WHERE p.id = k.raw_id AND p.received_at = %s::timestamptz",
                    ([k[0] for k in keys], [k[1] for k in keys], source, at),
                )

        self._run(call, len(rows))
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
        params = (source, _t(source_id), _t(reason), until, now, escape_text(actor))

        def call(conn: Conn) -> int:
            row = conn.execute(
                "INSERT INTO raw_holds (source, source_id, reason, held_until, created_at,"
                " created_by) VALUES (%s, %s, %s, %s::timestamptz, %s::timestamptz, %s)"
                " RETURNING id",
                params,
            ).fetchone()
            assert row is not None
            return int(row[0])

        hold_id: int = self._run(call)
        return hold_id

    def release_hold(self, hold_id: int, actor: str, now: str) -> bool:
        def call(conn: Conn) -> bool:
            cursor = conn.execute(
                "UPDATE raw_holds SET released_at = %s::timestamptz, released_by = %s"
                " WHERE id = %s AND released_at IS NULL",
                (now, escape_text(actor), hold_id),
            )
            return cursor.rowcount == 1

        released: bool = self._run(call)
        return released

    def write_audit(self, report: RetentionReport, actor: str, now: str) -> None:
        params = (
            report.source, iso(report.cutoff), report.rows_purged, report.bytes_freed,
            report.partitions_dropped, report.kept_unextracted, report.kept_quarantined,
            report.kept_held, escape_text(actor), now, report.pages_purged,
            report.page_bytes_freed,
        )  # fmt: skip
        self._run(
            lambda conn: conn.execute(
                "INSERT INTO retention_audit (source, cutoff, rows_purged, bytes_freed,"
                " partitions_dropped, kept_unextracted, kept_quarantined, kept_held, actor, at,"
                " pages_purged, page_bytes_freed) VALUES (%s, %s::timestamptz, %s, %s, %s, %s,"
                " %s, %s, %s, %s::timestamptz, %s, %s)",
                params,
            )
        )
