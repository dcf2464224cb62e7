"""Many rows in one INSERT: `INSERT INTO t (…) SELECT … FROM (VALUES (?,?),(?,?),…)`.

`executemany` runs its statement once per row: Python's sqlite3 resets, binds and
steps it row by row, and an AUTOINCREMENT table (raw payloads, records' rowids, events,
changes) reads and writes `sqlite_sequence` at every run. One statement of a few
hundred rows pays that once. The batch's shared values (`literals`) stay in the SELECT
list, written once for all its rows, not in every row's tuple.

The rows are inserted in the order given (SQLite reads VALUES in order), so the new
rowids follow each other in row order as they did with `executemany`; the write path
relies on that (receipt spans, changes and events of a fresh batch). The tests that
check those ids run against this module. Measured in docs/sqlite-write-path.md.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from itertools import chain
from typing import Any

#: rows per statement: past a few hundred a longer statement saves nothing more
#: (its parse and the parameter list grow with it)
CHUNK_ROWS = 500


def select_list(width: int, literals: Mapping[int, str]) -> str:
    """`SELECT …` of `width` values: the literal at its position, else the next of the
    VALUES' columns (column1, column2, … in order)."""
    picks: list[str] = []
    own = 0
    for i in range(width):
        text = literals.get(i)
        if text is None:
            own += 1
            text = f"column{own}"
        picks.append(text)
    return "SELECT " + ",".join(picks)


def insert_rows(
    conn: sqlite3.Connection,
    head: str,
    width: int,
    literals: Mapping[int, str],
    rows: Sequence[Sequence[Any]],
    tail: str = "",
) -> int:
    """`head` (`INSERT INTO t (cols)`) of `rows`, each holding the values not in
    `literals`, in order; `tail` follows (`ON CONFLICT …`). Returns the rows written."""
    if not rows:
        return 0
    own = width - len(literals)
    if own < 1:
        raise ValueError("a row needs at least one bound value")
    limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    step = max(1, min(CHUNK_ROWS, limit // own))
    select = select_list(width, literals)
    marks = "(" + ",".join("?" * own) + ")"
    # `WHERE true` keeps the parser from reading an ON CONFLICT tail as a join's ON
    full = f"{head} {select} FROM (VALUES {','.join([marks] * step)}) WHERE true{tail}"
    written = 0
    for start in range(0, len(rows), step):
        part = rows[start : start + step]
        sql = (
            full
            if len(part) == step
            else f"{head} {select} FROM (VALUES {','.join([marks] * len(part))}) WHERE true{tail}"
        )
        written += conn.execute(sql, list(chain.from_iterable(part))).rowcount
    return written
