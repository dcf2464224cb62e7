"""Retention on PostgreSQL: whole partitions when they can go, else bounded deletes.

`raw_payloads` is partitioned by month of `received_at` (see `partitions`), and a
partition holds every source's rows of that month. A past month's partition is dropped
whole when every row in it is purgeable under its own source's policy: received before
the source's cutoff, extracted, not quarantined, not held (a source with an active
source-wide hold has no policy, so partitions holding its rows stay). The check, the
deletion of the partition's dedupe keys from `raw_keys` and the DROP run in one
transaction under the partition's lock (the parent is locked only by the DROP itself),
with a lock timeout so a busy table makes the run fall back to row deletes instead of
stalling writers. Empty partitions are left alone.

Other rows are deleted in transactions of `batch_rows`, raw rows with their keys, the
window walked by (received_at, id) so a kept row is read once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg

from ingestry.adapters.postgres.statements import BEGIN
from ingestry.adapters.postgres.text import escape_text, unescape_text
from ingestry.adapters.sql.rows import as_datetime
from ingestry.adapters.sql.spans import covers, left_in
from ingestry.domain.retention import RawHold, RetentionAuditEntry, RetentionReport
from ingestry.services.ports import PurgeResult, RetentionPolicy

Conn = psycopg.Connection[Any]

#: How long dropping a partition may wait for its lock before rows are deleted instead.
DROP_LOCK_TIMEOUT = "5s"

_PARTITION = re.compile(r"raw_payloads_y(\d{4})m(\d{2})\Z")
_QUARANTINED = (
    "EXISTS (SELECT FROM quarantine q WHERE q.source = p.source AND q.sha256 = p.sha256"
    " AND q.status = 'open')"
)
_HOLD_COLUMNS = (
    "id, source, source_id, reason, held_until, created_at, created_by, released_at, released_by"
)
_AUDIT_COLUMNS = (
    "id, source, cutoff, rows_purged, bytes_freed, partitions_dropped, kept_unextracted,"
    " kept_quarantined, kept_held, actor, at, pages_purged, page_bytes_freed"
)


def partition_end(name: str) -> datetime | None:
    """The exclusive upper bound of a monthly partition, from its name."""
    found = _PARTITION.match(name)
    if found is None:
        return None
    year, month = int(found.group(1)), int(found.group(2))
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def _held_ids(policy: RetentionPolicy) -> list[str]:
    return [escape_text(i) for i in policy.held_ids]


class PostgresRetention:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    # --- holds and audit ------------------------------------------------------------

    def holds(self, source: str | None, active_at: str | None) -> list[RawHold]:
        clauses, params = ["true"], []
        if source is not None:
            clauses.append("source = %s")
            params.append(source)
        if active_at is not None:
            clauses.append(
                "released_at IS NULL AND (held_until IS NULL OR held_until > %s::timestamptz)"
            )
            params.append(active_at)
        sql = f"SELECT {_HOLD_COLUMNS} FROM raw_holds WHERE {' AND '.join(clauses)} ORDER BY id"
        return [
            RawHold(
                id=r[0],
                source=r[1],
                source_id=_u(r[2]),
                reason=_u(r[3]),
                held_until=r[4],
                created_at=r[5],
                created_by=unescape_text(r[6]),
                released_at=r[7],
                released_by=_u(r[8]),
            )
            for r in self.conn.execute(sql, params)
        ]

    def audit(self, source: str | None, limit: int) -> list[RetentionAuditEntry]:
        where, params = ("WHERE source = %s", [source]) if source is not None else ("", [])
        sql = f"SELECT {_AUDIT_COLUMNS} FROM retention_audit {where} ORDER BY id DESC LIMIT %s"
        return [
            RetentionAuditEntry(
                id=r[0],
                source=r[1],
                cutoff=as_datetime(r[2]),
                rows_purged=int(r[3]),
                bytes_freed=int(r[4]),
                partitions_dropped=int(r[5]),
                kept_unextracted=int(r[6]),
                kept_quarantined=int(r[7]),
                kept_held=int(r[8]),
                actor=unescape_text(r[9]),
                at=as_datetime(r[10]),
                pages_purged=int(r[11]),
                page_bytes_freed=int(r[12]),
            )
            for r in self.conn.execute(sql, [*params, limit])
        ]

    # --- counts -----------------------------------------------------------------------

    def retention_counts(self, policy: RetentionPolicy, report: RetentionReport) -> None:
        sql = (
            "SELECT count(*), count(*) FILTER (WHERE u), count(*) FILTER (WHERE q AND NOT u),"
            " count(*) FILTER (WHERE h AND NOT q AND NOT u),"
            " coalesce(sum(n) FILTER (WHERE NOT (u OR q OR h)), 0) FROM ("
            f" SELECT p.processed_at IS NULL AS u, {_QUARANTINED} AS q,"
            " p.source_id = ANY(%s::text[]) AS h, octet_length(p.payload) AS n"
            " FROM raw_payloads p WHERE p.source = %s AND p.received_at < %s::timestamptz) x"
        )
        row = self.conn.execute(sql, (_held_ids(policy), policy.source, policy.cutoff)).fetchone()
        assert row is not None
        expired, unextracted, quarantined, held, size = (int(v) for v in row)
        report.expired, report.kept_unextracted = expired, unextracted
        report.kept_quarantined, report.kept_held = quarantined, held
        report.rows_purged = expired - unextracted - quarantined - held
        report.bytes_freed = size

    # --- whole partitions ---------------------------------------------------------------

    def drop_partitions(
        self, policies: Sequence[RetentionPolicy], now: str
    ) -> dict[str, PurgeResult]:
        by_source = {p.source: p for p in policies}
        moment = as_datetime(now)
        dropped: dict[str, PurgeResult] = {}
        for name in self._partitions():
            end = partition_end(name)
            if end is None or end > moment or not self._may_drop(name, by_source, end):
                continue
            gone = self._drop(name, by_source, end)
            for source, (rows, size) in (gone or {}).items():
                before = dropped.get(source, PurgeResult(0, 0, 0))
                dropped[source] = PurgeResult(
                    before.rows + rows, before.bytes + size, before.partitions + 1
                )
        return dropped

    def _partitions(self) -> list[str]:
        rows = self.conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'raw_payloads'::regclass ORDER BY c.relname"
        ).fetchall()
        return [str(r[0]) for r in rows]

    def _may_drop(self, name: str, by_source: dict[str, RetentionPolicy], end: datetime) -> bool:
        """A cheap first look: every source in the partition has a policy whose cutoff
        is past the partition's end. The sources are found by skipping through the
        window index (one probe per source), not by reading the month."""
        sources = [
            r[0]
            for r in self.conn.execute(
                f'WITH RECURSIVE s(source) AS ((SELECT source FROM "{name}" ORDER BY 1 LIMIT 1)'
                f' UNION ALL SELECT (SELECT p.source FROM "{name}" p WHERE p.source > s.source'
                " ORDER BY 1 LIMIT 1) FROM s WHERE s.source IS NOT NULL)"
                " SELECT source FROM s WHERE source IS NOT NULL"
            )
        ]
        return bool(sources) and all(
            s in by_source and end <= as_datetime(by_source[s].cutoff) for s in sources
        )

    def _drop(
        self, name: str, by_source: dict[str, RetentionPolicy], end: datetime
    ) -> dict[str, tuple[int, int]] | None:
        """Drop the partition if all its rows are purgeable; per source (rows, bytes)."""
        conn = self.conn
        conn.execute(BEGIN)
        try:
            conn.execute(f"SET LOCAL lock_timeout = '{DROP_LOCK_TIMEOUT}'")
            # no writes into the partition while it is checked; the parent is locked
            # only by the DROP at the end
            conn.execute(f'LOCK TABLE "{name}" IN SHARE MODE')
            counts: dict[str, tuple[int, int]] = {}
            for source, rows, size in conn.execute(
                f'SELECT source, count(*), sum(octet_length(payload)) FROM "{name}" GROUP BY 1'
            ).fetchall():
                policy = by_source.get(source)
                if policy is None or end > as_datetime(policy.cutoff):
                    conn.execute("ROLLBACK")
                    return None
                counts[source] = (int(rows), int(size or 0))
            kept = conn.execute(
                f'SELECT count(*) FROM "{name}" p WHERE p.processed_at IS NULL OR {_QUARANTINED}'
                " OR p.source_id = ANY(%s::text[])",
                ([i for p in by_source.values() if p.source in counts for i in _held_ids(p)],),
            ).fetchone()
            if not counts or kept is None or kept[0]:
                conn.execute("ROLLBACK")
                return None
            conn.execute(
                f'DELETE FROM raw_keys k USING "{name}" p WHERE k.source = p.source'
                " AND k.source_id = p.source_id AND k.sha256 = p.sha256 AND k.raw_id = p.id"
            )
            gone = f"q.tableoid = '\"{name}\"'::regclass"  # the partition's rows go next
            conn.execute(
                f'DELETE FROM raw_receipts r USING "{name}" p WHERE {covers("r", "p.id")}'
                f" AND NOT {left_in('r', gone)}"
            )
            conn.execute(f'DROP TABLE "{name}"')
            conn.execute("COMMIT")
        except psycopg.errors.LockNotAvailable:
            conn.execute("ROLLBACK")
            return None
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return counts

    # --- bounded deletes ----------------------------------------------------------------

    def purge(self, policy: RetentionPolicy, batch_rows: int) -> PurgeResult:
        base = (
            "SELECT p.id, p.received_at, p.source_id, p.sha256, octet_length(p.payload) AS n"
            " FROM raw_payloads p WHERE p.source = %s AND p.received_at < %s::timestamptz"
            f" AND p.processed_at IS NOT NULL AND NOT {_QUARANTINED}"
            " AND NOT p.source_id = ANY(%s::text[])"
        )
        rows_done = bytes_done = 0
        after: tuple[Any, int] | None = None
        while True:
            params: list[Any] = [policy.source, policy.cutoff, _held_ids(policy)]
            select = base
            if after is not None:
                select += " AND (p.received_at, p.id) > (%s, %s)"
                params += list(after)
            select += f" ORDER BY p.received_at, p.id LIMIT {int(batch_rows)}"
            sql = (
                f"WITH d AS MATERIALIZED ({select}),"
                " k AS (DELETE FROM raw_keys k USING d WHERE k.source = %s"
                "  AND k.source_id = d.source_id AND k.sha256 = d.sha256 AND k.raw_id = d.id),"
                f" r AS (DELETE FROM raw_receipts r USING d WHERE {covers('r', 'd.id')}"
                f" AND NOT {left_in('r', 'q.id IN (SELECT id FROM d)')})"
                " DELETE FROM raw_payloads p USING d WHERE p.id = d.id"
                " AND p.received_at = d.received_at RETURNING d.received_at, d.id, d.n"
            )
            self.conn.execute(BEGIN)
            try:
                found = self.conn.execute(sql, [*params, policy.source]).fetchall()
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            rows_done += len(found)
            bytes_done += sum(int(r[2]) for r in found)
            if len(found) < batch_rows:
                return PurgeResult(rows_done, bytes_done, 0)
            last = max(found, key=lambda r: (r[0], r[1]))
            after = (last[0], last[1])


def _u(value: str | None) -> str | None:
    return None if value is None else unescape_text(value)
