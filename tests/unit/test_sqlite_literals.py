"""A batch's shared values written as SQL literals (adapters/sqlite/literals.py), in
the many-row INSERT the write path uses (adapters/sqlite/multirow.py), store exactly
what binding every value row by row stores, in every column affinity; a value without
an exact literal is never written as one."""

from __future__ import annotations

import sqlite3
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from ingestry.adapters.sqlite import binding
from ingestry.adapters.sqlite.literals import literal, shared_literals
from ingestry.adapters.sqlite.multirow import insert_rows

binding.register()

#: One column per affinity SQLite has (the raw and record tables use all of them).
TABLE = "CREATE TABLE t (a TEXT, b BLOB, c DATETIME, d INTEGER, e BOOLEAN, f REAL, g)"
WIDTH = 7
#: the reference: every value bound, one row per run of the statement
BOUND = "INSERT INTO t VALUES (?,?,?,?,?,?,?)"

VALUES = st.one_of(
    st.none(),
    st.text(),
    st.binary(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.floats(allow_nan=False),
    st.sampled_from(["2026-12-03T10:00:00.000000Z", "12", " 12", "1e3", "0x10", "'", "a'b"]),
)


def _stored(
    params: list[tuple[Any, ...]], literals: dict[int, str] | None = None
) -> list[tuple[Any, ...]]:
    """What the table holds after `params` (each row's values not in `literals`) are
    written: bound row by row without literals, else by `insert_rows`."""
    conn = sqlite3.connect(":memory:")
    conn.execute(TABLE)
    if literals is None:
        conn.executemany(BOUND, params)
    else:
        insert_rows(conn, "INSERT INTO t (a, b, c, d, e, f, g)", WIDTH, literals, params)
    columns = "abcdefg"
    picks = ", ".join(f"{c}, typeof({c})" for c in columns)
    return conn.execute(f"SELECT {picks} FROM t ORDER BY rowid").fetchall()


@given(value=VALUES)
@example(value="nul\x00inside")
@example(value="lone \udc80 surrogate")
@example(value=1)
@example(value="ünïcödé 𝄞")
def test_a_literal_stores_what_binding_stores(value: object) -> None:
    text = literal(value)
    if text is None:  # no exact literal: never written as one
        assert type(value) in (int, bool, float) or (
            type(value) is str and ("\x00" in value or "\udc80" in value)
        )  # fmt: skip
        return
    bound = _stored([(value,) * WIDTH])
    # every column but the last a literal (a row needs one bound value)
    written = _stored([(value,)], dict.fromkeys(range(WIDTH - 1), text))
    assert written == bound


@given(
    shared=st.tuples(VALUES, VALUES),
    own=st.lists(st.tuples(VALUES, VALUES, VALUES, VALUES, VALUES), min_size=1, max_size=5),
)
def test_a_batch_with_shared_values_stores_what_binding_every_value_stores(
    shared: tuple[Any, Any], own: list[tuple[Any, ...]]
) -> None:
    rows = [(shared[0], *values[:3], shared[1], *values[3:]) for values in own]
    positions = (0, 4)
    literals = shared_literals(rows, positions)
    bound = _stored(rows)
    if literals is None:
        assert literal(shared[0]) is None or literal(shared[1]) is None
        return
    params = [tuple(v for i, v in enumerate(row) if i not in positions) for row in rows]
    assert _stored(params, dict(zip(positions, literals, strict=True))) == bound
    assert _stored(rows, {}) == bound  # and with no literal at all


def test_equal_numbers_of_other_types_are_never_shared() -> None:
    """1, 1.0 and True are equal but bind as INTEGER, REAL and INTEGER: no number is
    ever a shared literal (the first row's would stand for all)."""
    rows = [("a", 1), ("a", 1.0), ("a", True)]
    assert shared_literals(rows, (1,)) is None
    assert shared_literals(rows, (0,)) == ("'a'",)


def test_values_that_differ_between_rows_are_not_shared() -> None:
    rows = [("a", 1, "x"), ("a", 2, "x"), ("b", 2, "x")]
    assert shared_literals(rows, (0, 2)) is None
    assert shared_literals(rows[:2], (0, 2)) == ("'a'", "'x'")
    assert shared_literals(rows, (2,)) == ("'x'",)
    assert shared_literals([], (0,)) is None
