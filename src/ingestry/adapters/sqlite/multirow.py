"""Many rows in one INSERT: `INSERT INTO t (…) SELECT ?1, column1, … FROM (VALUES (?,?),…)`.

`executemany` runs its statement once per row: Python's sqlite3 resets, binds and
steps it row by row, and an AUTOINCREMENT table (raw payloads, records' rowids, events,
changes) reads and writes `sqlite_sequence` at every run. One statement of a few
hundred rows pays that once. The batch's shared values (`shared`) are bound once, as
the statement's first parameters, and selected for every row.

The SQL text depends only on the table, which positions are shared and the number of
rows, never on the values: a statement is prepared once and taken from sqlite3's
statement cache after that (preparing a 500-row statement costs more than running it).
So a batch is cut into statements of a power of two rows: 512, then what is left as
256, 128, … 1.

The rows are inserted in the order given (SQLite reads VALUES in order), so the new
rowids follow each other in row order as they did with `executemany`; the write path
relies on that (receipt spans and the changes of a fresh batch), and the tests
that check those ids run against this module. Measured in docs/sqlite-write-path.md.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from functools import cache
from itertools import chain
from typing import Any

#: the most rows per statement: past a few hundred a longer one saves nothing more
CHUNK_ROWS = 512


def picks(width: int, shared: tuple[int, ...], own: str, first: int = 0) -> list[str]:
    """A row's `width` values as selected: a shared one as its parameter (`?n`, bound
    once, in `shared`'s order), its own ones as the columns `own.format(first)`,
    `own.format(first + 1)`, … in order."""
    picked: list[str] = []
    k = first
    for i in range(width):
        if i in shared:
            picked.append(f"?{shared.index(i) + 1}")
        else:
            picked.append(own.format(k))
            k += 1
    return picked


@cache
def _statement(head: str, width: int, shared: tuple[int, ...], rows: int, tail: str) -> str:
    marks = "(" + ",".join("?" * (width - len(shared))) + ")"
    selected = ",".join(picks(width, shared, "column{}", first=1))  # VALUES: column1, …
    # `WHERE true` keeps the parser from reading an ON CONFLICT tail as a join's ON
    return f"{head} SELECT {selected} FROM (VALUES {','.join([marks] * rows)}) WHERE true{tail}"


def insert_rows(
    conn: sqlite3.Connection,
    head: str,
    width: int,
    shared: Mapping[int, Any],
    rows: Sequence[Sequence[Any]],
    tail: str = "",
) -> int:
    """`head` (`INSERT INTO t (cols)`) of `rows`, each holding its values not in
    `shared` (position -> the value every row has there), in order; `tail` follows
    (`ON CONFLICT …`). Returns the rows written."""
    if not rows:
        return 0
    own = width - len(shared)
    if own < 1:
        raise ValueError("a row needs at least one value of its own")
    positions = tuple(sorted(shared))
    first = [shared[i] for i in positions]
    limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) - len(first)
    step = CHUNK_ROWS
    while step > 1 and step * own > limit:
        step //= 2
    written = 0
    start = 0
    while start < len(rows):
        while step > len(rows) - start:
            step //= 2
        part = rows[start : start + step]
        sql = _statement(head, width, positions, step, tail)
        written += conn.execute(sql, [*first, *chain.from_iterable(part)]).rowcount
        start += step
    return written
