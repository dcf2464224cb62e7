"""Many rows per INSERT (adapters/sqlite/multirow.py) write what one `executemany` of
the same rows writes: the same rows, rowids in row order, the same count of rows
written when a conflict skips some, across statement boundaries."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingestry.adapters.sqlite.multirow import CHUNK_ROWS, _statement, insert_rows

TABLE = (
    "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT NOT NULL, src TEXT,"
    " n INTEGER, b BLOB, UNIQUE (src, k))"
)
INTO = "INSERT INTO t (k, src, n, b)"
CONFLICT = " ON CONFLICT (src, k) DO NOTHING"


def _table(limit: int | None = None) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    if limit is not None:  # a small bound-variable limit: many statements per batch
        conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)
    conn.execute(TABLE)
    conn.execute("INSERT INTO t (k, src) VALUES ('seed', 'x')")  # ids need not start at 1
    return conn


def _content(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT id, k, src, n, typeof(n), b FROM t ORDER BY id").fetchall()


ROWS = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d", "e", "f", "g"]) | st.text(max_size=3),
        st.none() | st.integers(-5, 5) | st.floats(allow_nan=False) | st.text(max_size=2),
        st.none() | st.binary(max_size=3),
    ),
    max_size=40,
)


@given(rows=ROWS, limit=st.sampled_from([None, 4, 7, 30]))
def test_many_rows_per_statement_write_what_executemany_writes(
    rows: list[tuple[Any, ...]], limit: int | None
) -> None:
    reference = _table()
    expected = reference.executemany(f"{INTO} VALUES (?, 'x', ?, ?){CONFLICT}", rows).rowcount
    conn = _table(limit)
    written = insert_rows(conn, INTO, 4, {1: "x"}, rows, CONFLICT)
    assert written == max(expected, 0)
    assert _content(conn) == _content(reference)


def test_more_rows_than_one_statement_keep_their_order() -> None:
    rows = [(f"k{i}", "s", i, None) for i in range(CHUNK_ROWS * 2 + 7)]
    conn = _table()
    assert insert_rows(conn, INTO, 4, {}, rows) == len(rows)
    got = conn.execute("SELECT id, k, n FROM t WHERE k <> 'seed' ORDER BY id").fetchall()
    assert got == [(i + 2, f"k{i}", i) for i in range(len(rows))]
    last = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
    assert last == len(rows) + 1


def test_a_conflict_without_a_tail_refuses_the_statement() -> None:
    conn = _table()
    with pytest.raises(sqlite3.IntegrityError):
        insert_rows(conn, INTO, 4, {1: "x"}, [("new", 1, None), ("seed", 2, None)])


def test_a_row_needs_a_value_of_its_own() -> None:
    with pytest.raises(ValueError, match="of its own"):
        insert_rows(_table(), INTO, 2, {0: "a", 1: "b"}, [()])


def test_a_statement_is_prepared_once_for_every_batch_of_its_size() -> None:
    """The SQL text holds no value, so batches with other shared values take the
    same statements from sqlite3's cache: one per size (here 2 rows, then 1)."""
    _statement.cache_clear()
    conn = _table()
    for src in ("p", "q", "r"):
        insert_rows(conn, INTO, 4, {1: src}, [(f"k{i}", i, None) for i in range(3)])
    assert _statement.cache_info().misses == 2
    assert conn.execute("SELECT count(*) FROM t WHERE src IN ('p', 'q', 'r')").fetchone() == (9,)
