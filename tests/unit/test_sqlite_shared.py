"""A batch's shared values bound once per statement (adapters/sqlite/shared.py), in the
many-row INSERT the write path uses (adapters/sqlite/multirow.py), store exactly what
binding every value row by row stores, in every column affinity; a value that only
compares equal to another (1, 1.0, True) is never shared."""

from __future__ import annotations

import sqlite3
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from ingestry.adapters.sqlite import binding
from ingestry.adapters.sqlite.multirow import insert_rows
from ingestry.adapters.sqlite.shared import own_record_values, shared_values

binding.register()

#: One column per affinity SQLite has (the raw and record tables use all of them).
TABLE = "CREATE TABLE t (a TEXT, b BLOB, c DATETIME, d INTEGER, e BOOLEAN, f REAL, g)"
WIDTH = 7
#: the reference: every value bound, one row per run of the statement
BOUND = "INSERT INTO t VALUES (?,?,?,?,?,?,?)"

VALUES = st.one_of(
    st.none(),
    st.text().filter(lambda t: "\udc80" not in t),
    st.binary(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.floats(allow_nan=False),
    st.sampled_from(["2026-12-03T10:00:00.000000Z", "12", " 12", "1e3", "0x10", "'", "a'b"]),
)


def _stored(
    params: list[tuple[Any, ...]], shared: dict[int, Any] | None = None
) -> list[tuple[Any, ...]]:
    """What the table holds after `params` (each row's values not in `shared`) are
    written: bound row by row without `shared`, else by `insert_rows`."""
    conn = sqlite3.connect(":memory:")
    conn.execute(TABLE)
    if shared is None:
        conn.executemany(BOUND, params)
    else:
        insert_rows(conn, "INSERT INTO t (a, b, c, d, e, f, g)", WIDTH, shared, params)
    columns = "abcdefg"
    picks = ", ".join(f"{c}, typeof({c})" for c in columns)
    return conn.execute(f"SELECT {picks} FROM t ORDER BY rowid").fetchall()


@given(
    shared=st.tuples(VALUES, VALUES),
    own=st.lists(st.tuples(VALUES, VALUES, VALUES, VALUES, VALUES), min_size=1, max_size=5),
)
@example(shared=("nul\x00inside", "ünïcödé 𝄞"), own=[(None,) * 5])
@example(shared=("x", b"\x00"), own=[(1, 1.0, True, "1", b"1")])
def test_a_batch_with_shared_values_stores_what_binding_every_value_stores(
    shared: tuple[Any, Any], own: list[tuple[Any, ...]]
) -> None:
    rows = [(shared[0], *values[:3], shared[1], *values[3:]) for values in own]
    positions = (0, 4)
    values = shared_values(rows, positions)
    bound = _stored(rows)
    assert _stored(rows, {}) == bound  # many rows to a statement, nothing shared
    if values is None:
        assert any(type(v) not in (str, bytes, type(None)) for v in shared)
        return
    params = [tuple(v for i, v in enumerate(row) if i not in positions) for row in rows]
    assert _stored(params, dict(zip(positions, values, strict=True))) == bound


def test_equal_numbers_of_other_types_are_never_shared() -> None:
    """1, 1.0 and True are equal but bind as INTEGER, REAL and INTEGER: no number is
    ever shared (the first row's would stand for all)."""
    rows = [("a", 1), ("a", 1.0), ("a", True)]
    assert shared_values(rows, (1,)) is None
    assert shared_values(rows, (0,)) == ("a",)


def test_values_that_differ_between_rows_are_not_shared() -> None:
    rows = [("a", 1, "x"), ("a", 2, "x"), ("b", 2, "x")]
    assert shared_values(rows, (0, 2)) is None
    assert shared_values(rows[:2], (0, 2)) == ("a", "x")
    assert shared_values(rows, (2,)) == ("x",)
    assert shared_values([], (0,)) is None
    assert shared_values([("a",), (b"a",)], (0,)) is None


def test_own_record_values_are_the_unshared_fields_then_the_columns() -> None:
    row = ("harvest", "F1", '{"id":"F1"}', "flights", "{}", b"c", "v1", b"s", (1, "a"), "")
    listed = (*row[:8], [1, "a"], row[9])  # columns as a list: the row-by-row way
    want = ("F1", '{"id":"F1"}', "{}", b"c", b"s", 1, "a")
    assert own_record_values([row, row]) == [want, want]
    assert own_record_values([row, listed]) == [want, want]
    assert own_record_values([]) == []
