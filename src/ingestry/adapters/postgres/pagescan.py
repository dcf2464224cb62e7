"""The pages of a PostgreSQL column scan: read in the identity index's order, the next
page read while this one is decoded.

A scan of a whole convention or source (an export, a `query` view) reads keyset
pages in identity order, `LIMIT` 10,000 each. The planner prices such a page as a
scan of every row after the key plus a sort (a fresh table has no statistics, and
even with them the index's random reads look dearer than a sort), so every page
sorted the rest of the table, past `work_mem` on disk: a scan cost O(N²/page).
Measured on 30,000 records (2026-12-03): 1.2-2.1 s a page that way, 0.2-0.3 s
walking the identity index, whose pages cost one pass over it together. A scan that
neither filters by a column nor sorts by one (a data source is kept: a source's
export is most of its convention) runs each page's statement with `enable_sort` off
(`SET LOCAL`, in a transaction of its own), so the index that holds that order
serves it; a filtered or sorted scan is left to the planner (its filter's index and
a sort of the few rows it keeps may well be cheaper).

Prefetch (`prefetched_scan`): a page's key is its last row, known before the page is
decoded, so the next page's statement runs in a thread while this page's rows are
decoded (psycopg waits for the server without the GIL): the server's work and the
client's overlap instead of taking turns. The thread is joined before the page is
handed over, so the connection is idle whenever the caller runs (it may read on the
same connection between pages: earlier versions, tombstones); one page of rows is
held ahead."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

import psycopg

from ingestry.adapters.postgres.transaction import translate
from ingestry.adapters.sql import recordquery, scan
from ingestry.domain.conventions import Convention
from ingestry.domain.query import RecordQuery

Rows = Callable[[recordquery.Statement], list[tuple[Any, ...]]]


def index_order_pages(conn: psycopg.Connection[Any], query: RecordQuery, rows: Rows) -> Rows:
    """`rows` (the storage's plain read) for a filtered or sorted scan; for a whole
    convention in identity order, a read that keeps the planner off the sort."""
    if query.conditions or query.sort is not None or query.bbox is not None:
        return rows

    def ordered(statement: recordquery.Statement) -> list[tuple[Any, ...]]:
        try:
            with conn.transaction():
                conn.execute("SET LOCAL enable_sort = off")
                return conn.execute(statement.sql, statement.params).fetchall()
        except psycopg.Error as exc:
            raise translate(exc) from exc

    return ordered


def prefetched_scan(
    rows: Rows,
    convention: Convention,
    names: Sequence[str],
    query: RecordQuery,
    dialect: recordquery.Dialect,
    decoders: scan.Decoders,
    page: int,
) -> Iterator[list[list[Any]]]:
    """`scan.keyset_scan`'s pages (same statements, same order), each next page's
    statement running in a thread while this page is decoded (see the module)."""
    steps = scan.plan(convention, names, decoders)
    width = recordquery.key_width(query)

    def read(key: recordquery.Key | None) -> list[tuple[Any, ...]]:
        return rows(scan.statement(convention, query, dialect, steps, key, page))

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingestry-scan") as pool:
        got = read(None)
        while got:
            ahead: Future[list[tuple[Any, ...]]] | None = None
            if len(got) == page:
                ahead = pool.submit(read, tuple(got[-1][:width]))
            try:
                columns = scan.columns_of(convention, got, width, steps, decoders.identity)
            except BaseException:
                if ahead is not None:  # the read finishes before the error goes up
                    wait([ahead])
                raise
            following = ahead.result() if ahead is not None else []
            yield columns
            got = following
