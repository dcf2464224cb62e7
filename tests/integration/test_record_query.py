"""Records by their declared columns (issue 17 item 1): filters, time range, sort,
count and keyset pages, checked against a reference computed in Python over every
record, on every backend (so SQLite and PostgreSQL agree with each other too).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestry.adapters.sql.recordquery import page
from ingestry.domain.errors import InvalidCursorError, QueryError
from ingestry.domain.records import Record
from ingestry.services.query import record_query
from ingestry.store import Store
from tests.backends import Database
from tests.integration.test_ingest import order

EMAILS = ["a@x.org", "b@x.org", "c@x.org", "é@x.org", "Z@x.org"]


def _orders(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """Orders whose columns take repeated, missing and ordered values."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        extra: dict[str, Any] = {
            "created_at": f"2026-11-{1 + i % 28:02}T{i % 24:02}:00:00Z",
            "total_price": rng.choice(["10.00", "9.5", "100", "-3.25", "12345678.125", "0"]),
            "customer": {"email": rng.choice(EMAILS)},
            "line_items": [{"quantity": rng.randint(0, 5)}],
        }
        if i % 7 == 0:
            extra["line_items"] = []  # item_count empty: sorts last
        if i % 3:
            extra["financial"] = {"paid": bool(i % 2)}
        docs.append(order(f"Q-{i:03}", **extra))
    return docs


@pytest.fixture
def loaded(store: Store, tmp_path: Path) -> Store:
    path = tmp_path / "orders.jsonl"
    path.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in _orders(80)))
    summary = store.ingest_files("orders_simple", [path])
    assert summary.records_created == 80
    return store


# --- the reference: the same question asked of every record in Python -------------------

OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
TYPED: dict[str, Callable[[str], Any]] = {
    "total": Decimal,
    "item_count": int,
    "email": str,
    "created_at": lambda t: datetime.fromisoformat(t).replace(tzinfo=UTC),
    "paid": lambda t: t == "true",
}
VALUES = {
    "total": ["10", "9.5", "0", "-3.25", "100.0"],
    "item_count": ["0", "2", "5"],
    "email": EMAILS,
    "created_at": ["2026-11-10T00:00:00", "2026-11-20T05:00:00"],
    "paid": ["true", "false"],
}


def _matches(record: Record, column: str, op: str, text: str) -> bool:
    value = record.columns[column]
    if value is None:  # SQL: a comparison with an empty value is never true
        return False
    if op == "in":
        return value in {TYPED[column](t) for t in text.split(",")}
    return OPS[op](value, TYPED[column](text))


def _reference(
    records: list[Record], filters: list[tuple[str, str, str]], sort: str | None, desc: bool
) -> list[str]:
    kept = [r for r in records if all(_matches(r, c, o, t) for c, o, t in filters)]
    kept.sort(key=lambda r: r.srn.encode())  # identity order is bytewise
    if sort is not None:
        if desc:
            kept.reverse()
        kept.sort(key=lambda r: r.columns[sort] is not None and r.columns[sort], reverse=desc)
        kept.sort(key=lambda r: r.columns[sort] is None)  # empty values last either way
    return [r.srn for r in kept]


filters = st.lists(
    st.sampled_from(sorted(VALUES)).flatmap(
        lambda c: st.tuples(
            st.just(c),
            st.sampled_from(["=", "in"] if c == "paid" else [*OPS, "in"]),
            st.lists(st.sampled_from(VALUES[c]), min_size=1, max_size=2).map(",".join),
        )
    ),
    max_size=2,
).map(lambda fs: [(c, o, t if o == "in" else t.split(",")[0]) for c, o, t in fs])


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    filters=filters,
    sort=st.sampled_from([None, "total", "item_count", "email", "created_at"]),
    desc=st.booleans(),
    size=st.sampled_from([None, 1, 7, 30]),
)
def test_filters_sort_and_pages_match_the_reference(
    loaded: Store, filters: list[tuple[str, str, str]], sort: str | None, desc: bool,
    size: int | None,
) -> None:  # fmt: skip
    desc = desc and sort is not None
    everything = list(loaded.records("order"))
    where = [f"{c} {o} {t}" if o == "in" else f"{c}{o}{t}" for c, o, t in filters]
    want = _reference(everything, filters, sort, desc)
    got: list[str] = []
    after = None
    for _ in range(200):
        chunk = [
            r.srn
            for r in loaded.records(
                "order", where=where, sort=sort, desc=desc, limit=size, after=after
            )
        ]
        got += chunk
        if size is None or len(chunk) < size:
            break
        after = chunk[-1]
    assert got == want, f"{where} sort={sort} desc={desc} page={size}"
    assert loaded.count("order", where=where) == len(want)


def test_since_and_until_take_the_first_required_timestamp(loaded: Store) -> None:
    everything = list(loaded.records("order"))
    low, high = datetime(2026, 11, 5, tzinfo=UTC), datetime(2026, 11, 9, 12, tzinfo=UTC)
    want = [r.srn for r in everything if low <= r.columns["created_at"] < high]
    got = [r.srn for r in loaded.records("order", since="2026-11-05", until="2026-11-09T12:00")]
    assert got == want and 0 < len(want) < len(everything)
    assert loaded.count("order", since="2026-11-05T00:00:00+00:00") == len(
        [r for r in everything if r.columns["created_at"] >= low]
    )


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"where": ["note=x"]}, "'note' is not a declared column of convention 'order'"),
        ({"where": ["item_count>many"]}, "'many' does not fit column 'item_count'"),
        ({"where": ["item_count"]}, "cannot read the filter 'item_count'"),
        ({"where": ["email in  ,"]}, "lists no values after 'in'"),
        ({"sort": "nope"}, "'nope' is not a declared column"),
        ({"since": "yesterday"}, "'yesterday' does not fit column 'created_at'"),
        ({"time_column": "total", "since": "1"}, "--time-column 'total' is decimal"),
    ],
)
def test_a_query_that_cannot_run_is_refused_before_reading(
    loaded: Store, kwargs: dict[str, Any], says: str
) -> None:
    with pytest.raises(QueryError, match=says.replace("(", r"\(")):
        loaded.records("order", **kwargs)


def test_an_undeclared_column_says_how_to_make_it_filterable(loaded: Store) -> None:
    with pytest.raises(QueryError, match=r"declare it under conventions\.order\.columns.*replay"):
        loaded.records("order", where=["note=x"])


def test_a_sorted_page_after_an_unknown_record_is_refused(loaded: Store) -> None:
    ghost = next(iter(loaded.records("order"))).srn + "-gone"
    with pytest.raises(InvalidCursorError, match="no record"):
        loaded.records("order", sort="total", after=ghost)
    assert len(list(loaded.records("order", after=ghost, limit=5))) == 5  # identity order


def test_exact_decimals_compare_exactly_where_the_backend_can(
    store: Store, tmp_path: Path, backend: str
) -> None:
    """PostgreSQL compares `numeric`; SQLite stores the exact text and compares REAL, so
    digits past the 15th may tie there (documented in docs/query.md)."""
    path = tmp_path / "big.jsonl"
    docs = [order("B-1", total_price="12345678901234567890.5"), order("B-2", total_price="7")]
    path.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in docs))
    store.ingest_files("orders_simple", [path])
    big = [r.source.id for r in store.records("order", where=["total>=1e19"])]
    assert big == ["B-1"]
    (record,) = store.records("order", where=["total=12345678901234567890.5"])
    assert record.columns["total"] == Decimal("12345678901234567890.5")


def test_an_indexed_column_filter_uses_its_index(loaded: Store, db: Database, backend: str) -> None:
    conv = loaded.settings.convention("order")
    query = record_query(conv, ["email=a@x.org"])
    if backend == "sqlite":
        from ingestry.adapters.sqlite.query import SQLITE

        statement = page(conv, query, SQLITE, None, 10)
        with db.engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            plan = raw.execute("EXPLAIN QUERY PLAN " + statement.sql, statement.params).fetchall()
        assert any("USING INDEX" in str(row) and "email" in str(row) for row in plan), plan
    else:
        from ingestry.adapters.postgres.query import POSTGRES

        statement = page(conv, query, POSTGRES, None, 10)
        sql = statement.sql.replace("%s", "'a@x.org'")
        with db.engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = [r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql)]
        assert any("email" in line and "Index" in line for line in plan), plan


def test_a_sorted_page_at_depth_reads_the_sort_columns_index(
    loaded: Store, db: Database, backend: str
) -> None:
    """`--sort` on an indexed column walks its index from the cursor on, both ways: no
    page sorts the table (docs/query.md, "Keyset paging"). Fails when the order leads
    with `(col IS NULL)` (no index serves it) or when PostgreSQL's index and the sort
    differ in collation."""
    conv = loaded.settings.convention("order")
    middle = list(loaded.records("order", sort="email", limit=40))[-1]
    for desc in (False, True):
        query = record_query(conv, [], sort="email", desc=desc)
        _, source_type, upstream, source_id = middle.srn.rsplit(":", 3)
        key = (source_type, upstream, source_id, middle.columns["email"])
        if backend == "sqlite":
            from ingestry.adapters.sqlite.query import SQLITE

            statement = page(conv, query, SQLITE, key, 10)
            with db.engine.connect() as conn:
                raw = conn.connection.driver_connection
                assert raw is not None
                sql = "EXPLAIN QUERY PLAN " + statement.sql
                plan = raw.execute(sql, statement.params).fetchall()
            (head,) = [r[0] for r in plan if r[3] == "CO-ROUTINE head"]
            walk = [r[3] for r in plan if r[1] == head]  # the values' part, from the key on
            assert any("USING INDEX ix_records_order_email (email" in row for row in walk), plan
            assert not any("TEMP B-TREE FOR ORDER BY" in row for row in walk), plan
        else:
            from ingestry.adapters.postgres.query import POSTGRES

            statement = page(conv, query, POSTGRES, key, 10)
            with db.engine.begin() as conn:
                # a table of 80 rows: make the planner price what it does at 1M
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
                conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
                raw = conn.connection.driver_connection
                plan = [r[0] for r in raw.execute("EXPLAIN " + statement.sql, statement.params)]
            # the values' part: a range of the email index from the key on, read in its
            # order (its parent a LIMIT or an incremental sort, not a sort of the range)
            (at,) = [
                i
                for i, line in enumerate(plan)
                if "Index Scan" in line
                and "ix_records_order_email" in line
                and "=" in plan[i + 1]
                and ("<=" in plan[i + 1] or ">=" in plan[i + 1])
            ]
            depth = plan[at].index("->")
            parent = next(
                line for line in reversed(plan[:at]) if "->" in line and line.index("->") < depth
            )
            assert "Limit" in parent or "Incremental Sort" in parent, plan
