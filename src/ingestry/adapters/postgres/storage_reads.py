"""The record, raw, quarantine and run reads of `PostgresStorage` (one of its bases):
on the storage's own connection, records in keyset pages so memory stays flat."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg

from ingestry.adapters.postgres.pagescan import index_order_pages, prefetched_scan
from ingestry.adapters.postgres.query import POSTGIS, POSTGRES, exact_box, exact_filter
from ingestry.adapters.postgres.reads import (
    HISTORY_OF_MANY,
    HISTORY_SELECT,
    QUARANTINE_SELECT,
    RAW_SELECT,
    history_record,
    quarantine_from_row,
    raw_from_row,
    record_from_row,
    select_records,
)
from ingestry.adapters.postgres.runs import POSTGRES_RUNS
from ingestry.adapters.postgres.scan import POSTGRES_SCAN
from ingestry.adapters.postgres.text import escape_text
from ingestry.adapters.postgres.transaction import translate
from ingestry.adapters.sql import recordquery, runs
from ingestry.adapters.sql.conventions import table_name
from ingestry.adapters.sql.deletion import LIVE
from ingestry.adapters.sql.recordquery import Dialect
from ingestry.adapters.sql.spatialnames import POSTGIS_PROBE, bounds
from ingestry.domain.conventions import Convention
from ingestry.domain.errors import InvalidCursorError
from ingestry.domain.payloads import QuarantineEntry, RawPayload
from ingestry.domain.query import EVERYTHING, RecordQuery, missing_cursor
from ingestry.domain.records import Record, parse_srn
from ingestry.domain.runs import Every, Run, RunKind, StatsBucket
from ingestry.services.ports import SCAN_PAGE

#: list_records reads this many rows per query (keyset pages: flat memory, no cursor).
PAGE = 1000


class PostgresReads:
    """The reads of `PostgresStorage` (which opens `_conn`)."""

    _conn: psycopg.Connection[tuple[Any, ...]]
    _query_dialect: Dialect | None

    @property
    def query_dialect(self) -> Dialect:
        """POSTGIS when the extension is on the search path (asked once), else POSTGRES."""
        if self._query_dialect is None:
            found = self._rows(POSTGIS_PROBE, ())[0][0]
            self._query_dialect = POSTGIS if found else POSTGRES
        return self._query_dialect

    def _tables_exist(self, names: Iterable[str]) -> bool:
        wanted = list(names)
        row = self._conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
            " AND tablename = ANY(%s)",
            (wanted,),
        ).fetchone()
        return row is not None and row[0] == len(wanted)

    def _rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except psycopg.Error as exc:
            raise translate(exc) from exc

    def get_record(self, convention: Convention, srn: str) -> Record | None:
        _, source_type, upstream, source_id = parse_srn(srn)
        sql = select_records(
            convention, f"WHERE source_type = %s AND upstream = %s AND source_id = %s AND {LIVE}"
        )
        rows = self._rows(sql, (source_type, escape_text(upstream), escape_text(source_id)))
        return record_from_row(convention, rows[0]) if rows else None

    def list_records(
        self,
        convention: Convention,
        limit: int | None,
        after: str | None = None,
        query: RecordQuery = EVERYTHING,
    ) -> Iterator[Record]:
        """Records matching `query` in its order (identity order by default: bytewise,
        as on SQLite), read in keyset pages so memory stays flat."""
        key = self._key(convention, query, after) if after else None  # raises now
        return self._pages(convention, query, key, limit)

    def _pages(
        self,
        convention: Convention,
        query: RecordQuery,
        key: recordquery.Key | None,
        limit: int | None,
    ) -> Iterator[Record]:
        width = recordquery.key_width(query)
        dialect = self.query_dialect
        exact = exact_filter(query) if dialect is POSTGRES else None
        left = limit
        while left is None or left > 0:
            size = PAGE if left is None else min(PAGE, left)
            statement = recordquery.page(convention, query, dialect, key, size)
            rows = self._rows(statement.sql, statement.params)
            for row in rows:
                record = record_from_row(convention, row[width:])
                if exact is not None and not exact(record):
                    continue
                yield record
                if left is not None:
                    left -= 1
            if len(rows) < size:
                return
            key = tuple(rows[-1][:width])

    def scan_columns(
        self,
        convention: Convention,
        names: Sequence[str],
        query: RecordQuery = EVERYTHING,
        page: int = SCAN_PAGE,
    ) -> Iterator[list[list[Any]]]:
        """Keyset pages, one statement each (see `adapters/sql/scan.py`), the next one
        read while this one is decoded (`pagescan`)."""

        def rows(statement: recordquery.Statement) -> list[tuple[Any, ...]]:
            return self._rows(statement.sql, statement.params)

        pages = index_order_pages(self._conn, query, rows)  # see pagescan
        return prefetched_scan(pages, convention, names, query, POSTGRES, POSTGRES_SCAN, page)

    def count_records(self, convention: Convention, query: RecordQuery = EVERYTHING) -> int:
        if query.bbox is not None and self.query_dialect is POSTGRES:  # exact: rows are read
            keep = exact_box(query.bbox)
            columns = ", ".join(f'"{c}"' for c in bounds(query.bbox.column))
            statement = recordquery.matching(
                convention, query, POSTGRES, f'"{query.bbox.column}"::text, {columns}'
            )
            return sum(1 for row in self._rows(statement.sql, statement.params) if keep(*row))
        statement = recordquery.count(convention, query, self.query_dialect)
        return int(self._rows(statement.sql, statement.params)[0][0])

    def decimal_shapes(
        self, convention: Convention, columns: Sequence[str]
    ) -> dict[str, tuple[int, int]]:
        """`numeric` knows its scale; the integer part's digits are its text's length."""
        out = {}
        for name in columns:
            sql = (
                f'SELECT max(length(trunc(abs("{name}"))::text)), max(scale("{name}"))'
                f' FROM "{table_name(convention.name)}"'
            )
            most = self._rows(sql, ())[0]
            out[name] = (max(most[0] or 1, 1), most[1] or 0)
        return out

    def _key(self, convention: Convention, query: RecordQuery, after: str) -> recordquery.Key:
        _, source_type, upstream, source_id = parse_srn(after)
        identity = (source_type, escape_text(upstream), escape_text(source_id))
        if query.sort is None:  # identity order: the srn alone is the key
            return identity
        statement = recordquery.key_of(convention, query, self.query_dialect)
        rows = self._rows(statement.sql, identity)
        if not rows:
            raise InvalidCursorError(missing_cursor(after))
        return tuple(rows[0])

    def record_history(self, convention: Convention, srn: str) -> list[Record]:
        history = [history_record(convention, r) for r in self._rows(HISTORY_SELECT, (srn,))]
        current = self.get_record(convention, srn)
        return [*history, current] if current else history

    def earlier_versions(
        self, convention: Convention, srns: Sequence[str]
    ) -> dict[str, list[Record]]:
        """One read by the key (`srn = ANY(array)`: equality, whatever the collation)."""
        out: dict[str, list[Record]] = {}
        if srns:
            for row in self._rows(HISTORY_OF_MANY, (list(srns),)):
                out.setdefault(row[0], []).append(history_record(convention, row))
        return out

    def raw_payloads(self, source: str, source_id: str) -> list[RawPayload]:
        return [raw_from_row(r) for r in self._rows(RAW_SELECT, (source, escape_text(source_id)))]

    def quarantine_entries(self, source: str, status: str | None = "open") -> list[QuarantineEntry]:
        sql, params = QUARANTINE_SELECT, [source]
        if status is not None:
            sql += " AND status = %s"
            params.append(status)
        # arrival order: batches written side by side (lanes) draw ids interleaved
        order = " ORDER BY received_at, id"
        return [quarantine_from_row(r) for r in self._rows(sql + order, params)]

    def list_runs(
        self, sources: Sequence[str] | None, kind: RunKind | None, limit: int | None
    ) -> list[Run]:
        sql, params = runs.list_sql(POSTGRES_RUNS, sources, kind, limit)
        return [runs.run_of(row) for row in self._rows(sql, params)]

    def get_run(self, srn: str) -> Run | None:
        rows = self._rows(runs.get_sql(POSTGRES_RUNS), (srn,))
        return runs.run_of(rows[0]) if rows else None

    def run_stats(
        self, every: Every, sources: Sequence[str] | None, since: str | None
    ) -> list[StatsBucket]:
        sql, params = runs.stats_sql(POSTGRES_RUNS, every, sources, since)
        return [runs.bucket_of(row) for row in self._rows(sql, params)]

    def stats(self, sources: dict[str, str]) -> dict[str, dict[str, int]]:
        def entry(name: str) -> dict[str, int]:
            return out.setdefault(name, {"raw_rows": 0, "records": 0, "quarantined": 0})

        out = {name: {"raw_rows": 0, "records": 0, "quarantined": 0} for name in sources}
        for name, count in self._rows(
            "SELECT source, count(*) FROM raw_payloads GROUP BY source", ()
        ):
            entry(name)["raw_rows"] = count
        for name, count in self._rows(
            "SELECT source, count(*) FROM quarantine WHERE status = 'open' GROUP BY source", ()
        ):
            entry(name)["quarantined"] = count
        for convention in sorted(set(sources.values())):
            if not self._tables_exist([table_name(convention)]):
                continue
            sql = (
                f'SELECT data_source, count(*) FROM "{table_name(convention)}" WHERE {LIVE}'
                " GROUP BY data_source"
            )
            for name, count in self._rows(sql, ()):
                if name in out:
                    out[name]["records"] = count
        return out
