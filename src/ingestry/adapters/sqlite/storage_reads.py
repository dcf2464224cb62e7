"""The record, raw, quarantine and run reads of `SQLiteStorage` (one of its bases): on
the storage's own connection, records as one streaming statement."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from ingestry.adapters.sql import recordquery, runs, scan
from ingestry.adapters.sql.deletion import (
    LIVE,
    live_count,
    tombstones_by_source,
)
from ingestry.adapters.sql.names import table_name
from ingestry.adapters.sql.rows import (
    QUARANTINE_COLUMNS,
    history_record,
    quarantine_entry,
    raw_payload,
    raw_with_receipts,
    record_from_row,
    select_records,
)
from ingestry.adapters.sqlite.query import SQLITE
from ingestry.adapters.sqlite.runs import SQLITE_RUNS
from ingestry.adapters.sqlite.scan import SQLITE_SCAN
from ingestry.domain.conventions import Convention
from ingestry.domain.errors import InvalidCursorError
from ingestry.domain.payloads import QuarantineEntry, RawPayload
from ingestry.domain.query import EVERYTHING, RecordQuery, missing_cursor
from ingestry.domain.records import Record, parse_srn
from ingestry.domain.runs import Every, Run, RunKind, StatsBucket
from ingestry.services.ports import SCAN_PAGE

#: SQLITE with the data source filter kept off its index (see `scan_columns`).
IDENTITY_WALK = replace(SQLITE, data_source="+data_source")

HISTORY_COLUMNS = (
    "SELECT srn, version, source, data_source, metadata, columns, extractor_version,"
    " raw_sha256, published_at, version_at FROM record_versions"
)


class SQLiteReads:
    """The reads of `SQLiteStorage` (which opens `_conn`)."""

    _conn: sqlite3.Connection

    def get_record(self, convention: Convention, srn: str) -> Record | None:
        _, source_type, upstream, source_id = parse_srn(srn)
        sql = select_records(
            convention, f"WHERE source_type = ? AND upstream = ? AND source_id = ? AND {LIVE}"
        )
        row = self._conn.execute(sql, (source_type, upstream, source_id)).fetchone()
        return record_from_row(convention, row) if row else None

    def list_records(
        self,
        convention: Convention,
        limit: int | None,
        after: str | None = None,
        query: RecordQuery = EVERYTHING,
    ) -> Iterator[Record]:
        """Records matching `query` in its order (identity order by default), starting
        after the record `after`: keyset pagination, one streaming statement."""
        key = self._key(convention, query, after) if after else None  # raises now
        statement = recordquery.page(convention, query, SQLITE, key, limit)
        width = recordquery.key_width(query)
        rows = self._conn.execute(statement.sql, statement.params)
        return (record_from_row(convention, row[width:]) for row in rows)

    def scan_columns(
        self,
        convention: Convention,
        names: Sequence[str],
        query: RecordQuery = EVERYTHING,
        page: int = SCAN_PAGE,
    ) -> Iterator[list[list[Any]]]:
        """One streaming statement read with fetchmany (see `adapters/sql/scan.py`).

        A scan that neither filters by a column nor sorts by one walks the identity
        index, also when it keeps one data source (an export of a source): with the
        data source's index the planner sorts every row it keeps in a temporary
        B-tree, held in memory (`temp_store = MEMORY`, for ingest): 1.3 GB of RSS for
        an export of 1M records (2026-12-03), where the walk holds one page."""

        def rows(statement: recordquery.Statement) -> Iterator[list[tuple[Any, ...]]]:
            cursor = self._conn.execute(statement.sql, statement.params)
            while got := cursor.fetchmany(page):
                yield got

        whole = not (query.conditions or query.sort is not None or query.bbox is not None)
        dialect = IDENTITY_WALK if whole else SQLITE
        return scan.scan(rows, convention, names, query, dialect, SQLITE_SCAN)

    def count_records(self, convention: Convention, query: RecordQuery = EVERYTHING) -> int:
        if query == EVERYTHING:  # index-only, tombstones subtracted (adapters/sql/deletion)
            sql = live_count(table_name(convention.name))
            return int(self._conn.execute(sql, (convention.name,)).fetchone()[0])
        statement = recordquery.count(convention, query, SQLITE)
        return int(self._conn.execute(statement.sql, statement.params).fetchone()[0])

    def decimal_shapes(
        self, convention: Convention, columns: Sequence[str]
    ) -> dict[str, tuple[int, int]]:
        """Decimals are kept as their canonical text (`-12.50`): count its digits."""
        out = {}
        for name in columns:
            c = f'CAST("{name}" AS TEXT)'
            dot = f"instr({c}, '.')"
            before = f"CASE WHEN {dot} > 0 THEN {dot} - 1 ELSE length({c}) END - ({c} LIKE '-%')"
            after = f"CASE WHEN {dot} > 0 THEN length({c}) - {dot} ELSE 0 END"
            sql = f'SELECT max({before}), max({after}) FROM "{table_name(convention.name)}"'
            most = self._conn.execute(sql).fetchone()
            out[name] = (max(most[0] or 1, 1), most[1] or 0)
        return out

    def _key(self, convention: Convention, query: RecordQuery, after: str) -> recordquery.Key:
        _, source_type, upstream, source_id = parse_srn(after)
        identity = (source_type, upstream, source_id)
        if query.sort is None:  # identity order: the srn alone is the key
            return identity
        statement = recordquery.key_of(convention, query, SQLITE)
        row = self._conn.execute(statement.sql, identity).fetchone()
        if row is None:
            raise InvalidCursorError(missing_cursor(after))
        return tuple(row)

    def record_history(self, convention: Convention, srn: str) -> list[Record]:
        rows = self._conn.execute(
            HISTORY_COLUMNS + " WHERE srn = ? ORDER BY version", (srn,)
        ).fetchall()
        history = [history_record(convention, row) for row in rows]
        current = self.get_record(convention, srn)
        return [*history, current] if current else history

    def earlier_versions(
        self, convention: Convention, srns: Sequence[str]
    ) -> dict[str, list[Record]]:
        """One range read over the srns' span (record_versions' key starts with srn),
        kept to the srns asked for: a page in identity order is (nearly) a span of srns."""
        out: dict[str, list[Record]] = {}
        if not srns:
            return out
        wanted = set(srns)
        sql = HISTORY_COLUMNS + " WHERE srn BETWEEN ? AND ? ORDER BY srn, version"
        for row in self._conn.execute(sql, (min(srns), max(srns))):
            if row[0] in wanted:
                out.setdefault(row[0], []).append(history_record(convention, row))
        return out

    def raw_payloads(self, source: str, source_id: str) -> list[RawPayload]:
        sql = raw_with_receipts("raw_payloads p", "p.source = ? AND p.source_id = ?")
        return [raw_payload(row) for row in self._conn.execute(sql, (source, source_id))]

    def quarantine_entries(self, source: str, status: str | None = "open") -> list[QuarantineEntry]:
        sql = f"SELECT {QUARANTINE_COLUMNS} FROM quarantine WHERE source = ?"
        params: tuple[str, ...] = (source,)
        if status is not None:
            sql += " AND status = ?"
            params = (source, status)
        order = " ORDER BY received_at, id"  # arrival order, as on PostgreSQL
        return [quarantine_entry(row) for row in self._conn.execute(sql + order, params)]

    def list_runs(
        self, sources: Sequence[str] | None, kind: RunKind | None, limit: int | None
    ) -> list[Run]:
        sql, params = runs.list_sql(SQLITE_RUNS, sources, kind, limit)
        return [runs.run_of(row) for row in self._conn.execute(sql, params)]

    def get_run(self, srn: str) -> Run | None:
        row = self._conn.execute(runs.get_sql(SQLITE_RUNS), (srn,)).fetchone()
        return runs.run_of(row) if row else None

    def run_stats(
        self, every: Every, sources: Sequence[str] | None, since: str | None
    ) -> list[StatsBucket]:
        sql, params = runs.stats_sql(SQLITE_RUNS, every, sources, since)
        return [runs.bucket_of(row) for row in self._conn.execute(sql, params)]

    def stats(self, sources: dict[str, str]) -> dict[str, dict[str, int]]:
        out = {name: {"raw_rows": 0, "records": 0, "quarantined": 0} for name in sources}
        for name, count in self._conn.execute(
            "SELECT source, count(*) FROM raw_payloads GROUP BY source"
        ):
            out.setdefault(name, {"raw_rows": 0, "records": 0, "quarantined": 0})["raw_rows"] = (
                count
            )
        for name, count in self._conn.execute(
            "SELECT source, count(*) FROM quarantine WHERE status = 'open' GROUP BY source"
        ):
            out.setdefault(name, {"raw_rows": 0, "records": 0, "quarantined": 0})["quarantined"] = (
                count
            )
        tables = {
            r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        for convention in set(sources.values()):
            if table_name(convention) not in tables:
                continue
            sql = (
                f'SELECT data_source, count(*) FROM "{table_name(convention)}" GROUP BY data_source'
            )
            for name, count in self._conn.execute(sql):
                if name in out:
                    out[name]["records"] = count
            # soft-deleted records do not count (subtracted: the counts stay index-only)
            sql = tombstones_by_source(table_name(convention))
            for name, count in self._conn.execute(sql, (convention,)):
                if name in out:
                    out[name]["records"] -= count
        return out
