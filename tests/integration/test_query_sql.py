"""`ingestry query` / `Store.query`: read-only SQL in DuckDB over the records (issue 17
item 4), on every backend."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import ingestry
from ingestry.bootstrap import build_sql_engine
from ingestry.domain.errors import QueryError
from ingestry.services.query_sql import SqlQueryService
from ingestry.store import Store
from tests.integration.test_ingest import order

#: Added to the test config: an exact fixed-point column and a results source.
EXTRA = """\
  ledger:
    columns:
      entry: {path: entry, type: text, required: true}
      amount: {path: amount, type: decimal, precision: 38, scale: 9}
      booked: {path: booked, type: date}
  daily_count:
    columns:
      day: {path: day, type: date, required: true}
      n: {path: n, type: integer}
"""

SOURCES = """\
  ledger_in:
    strategy: simple
    convention: ledger
    rationale: test ledger
    format: jsonl
    id: entry
  daily:
    strategy: simple
    convention: daily_count
    rationale: query results written back
    format: jsonl
    id: day
"""


@pytest.fixture
def qstore(config_path: Path) -> Store:
    text = config_path.read_text()
    text = text.replace("sources:\n", EXTRA + "sources:\n" + SOURCES, 1)
    config_path.write_text(text)
    with ingestry.open(config_path) as opened:
        yield opened  # type: ignore[misc]


def _orders(store: Store) -> list[dict[str, object]]:
    rows = [
        order(f"O-{n}", created_at=f"2026-11-0{1 + n % 3}T1{n % 10}:00:00Z", total_price=f"{n}.5")
        for n in range(12)
    ]
    store.ingest("customer_orders", rows)
    return rows


def test_count_by_day_over_a_convention_view(qstore: Store) -> None:
    rows = _orders(qstore)
    got = qstore.query(
        'SELECT CAST(created_at AS DATE)::VARCHAR AS day, count(*) AS n FROM "order" '
        "GROUP BY 1 ORDER BY 1"
    )
    want = Counter(str(r["created_at"])[:10] for r in rows)
    assert got == [{"day": d, "n": want[d]} for d in sorted(want)]


def test_view_columns_are_typed_and_metadata_is_json_text(qstore: Store) -> None:
    _orders(qstore)
    result = qstore.query_result(
        "SELECT srn, version, published_at, created_at, item_count, paid, email, "
        "json_extract_string(metadata, '$.customer.email') AS meta_email "
        "FROM \"order\" WHERE srn LIKE '%:O-3'"
    )
    [row] = result.rows
    srn, version, published, created, items, paid, email, meta_email = row
    assert srn == "srn:ingestry:record:order:harvest:customer_orders:O-3"
    assert version == 1 and items == 2 and paid is None
    assert created.isoformat() == "2026-11-01T13:00:00+00:00"
    assert published.utcoffset().total_seconds() == 0
    assert email == meta_email == "o-3@example.com"


def test_exact_decimals_stay_exact(qstore: Store) -> None:
    long = "12345678901234567890.123456789"
    qstore.ingest("customer_orders", [order("BIG", total_price=long)])
    qstore.ingest(
        "ledger_in",
        [
            {"entry": "a", "amount": "12345678901234567890.123456789"},
            {"entry": "b", "amount": "0.000000001"},
        ],
    )
    # a decimal without a declared scale is its exact text
    [[total]] = qstore.query_result('SELECT total FROM "order"').rows
    assert total == long
    # with precision and scale it is DECIMAL(38, 9): sums stay exact
    [[amount_sum]] = qstore.query_result("SELECT sum(amount) FROM ledger").rows
    assert amount_sum == Decimal("12345678901234567890.123456790")


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO t VALUES (1)",
        "CREATE TABLE t AS SELECT 1",
        "COPY (SELECT 1) TO 'out.csv'",
        "ATTACH 'other.duckdb'",
        "SELECT 1; SELECT 2",
        "INSTALL httpfs",
        "SET enable_external_access = true",
    ],
)
def test_statements_that_are_not_one_query_are_refused(qstore: Store, sql: str) -> None:
    with pytest.raises(QueryError, match=r"read-only|one statement"):
        qstore.query(sql)


def test_only_the_conventions_the_sql_names_are_read(qstore: Store) -> None:
    service = SqlQueryService(qstore.storage, qstore.settings.conventions, build_sql_engine())
    views = service.views('SELECT * FROM "order" o JOIN "order" p USING (srn)')
    assert [(v.name, v.reread) for v in views] == [("order", True)]
    assert [v.name for v in service.views("SELECT * FROM ledger, 'x.parquet'")] == ["ledger"]
    assert service.views("SELECT 42") == []


def test_views_are_read_in_keyset_pages(qstore: Store) -> None:
    rows = _orders(qstore)
    service = SqlQueryService(
        qstore.storage, qstore.settings.conventions, build_sql_engine(), page=5
    )
    result = service.run('SELECT count(*), count(DISTINCT srn) FROM "order"')
    assert result.rows == [(len(rows), len(rows))]
    # a self-join reads the view twice: materialized, not a one-shot reader
    joined = service.run('SELECT count(*) FROM "order" a JOIN "order" b USING (srn)')
    assert joined.rows == [(len(rows),)]


def test_parquet_files_are_queried_and_joined_with_views(qstore: Store, tmp_path: Path) -> None:
    _orders(qstore)
    folder = tmp_path / "processed"
    folder.mkdir()
    for part in range(2):
        table = pa.table({"order_number": [f"#O-{part}", f"#O-{part + 5}"], "w": [1, 2]})
        pq.write_table(table, folder / f"part{part}.parquet")
    pattern = (folder / "*.parquet").as_posix()
    got = qstore.query(
        f"SELECT p.order_number, p.w, o.item_count FROM '{pattern}' p "
        'JOIN "order" o USING (order_number) ORDER BY 1'
    )
    assert got == [
        {"order_number": "#O-0", "w": 1, "item_count": 2},
        {"order_number": "#O-1", "w": 1, "item_count": 2},
        {"order_number": "#O-5", "w": 2, "item_count": 2},
        {"order_number": "#O-6", "w": 2, "item_count": 2},
    ]


def test_results_are_written_back_into_a_simple_source(qstore: Store) -> None:
    rows = _orders(qstore)
    sql = 'SELECT CAST(created_at AS DATE) AS day, count(*) AS n FROM "order" GROUP BY 1'
    summary = qstore.query_into(sql, "daily")
    assert summary.records_created == 3
    got = {str(r.columns["day"]): r.columns["n"] for r in qstore.records("daily_count")}
    assert got == dict(Counter(str(r["created_at"])[:10] for r in rows))
    again = qstore.query_into(sql, "daily")
    assert (again.records_created, again.records_unchanged) == (0, 3)


def test_results_go_only_into_a_simple_json_source(qstore: Store) -> None:
    with pytest.raises(QueryError, match="simple json or jsonl source"):
        qstore.query_into("SELECT 1 AS id", "customer_orders")


def test_a_failing_query_names_the_views_read(qstore: Store) -> None:
    with pytest.raises(
        QueryError, match=r"(?s)query failed: .*nope.*\(convention views read: order\)"
    ):
        qstore.query('SELECT nope FROM "order"')


def test_a_result_as_an_arrow_table_keeps_types(qstore: Store) -> None:
    _orders(qstore)
    qstore.ingest("ledger_in", [{"entry": "a", "amount": "1.000000001", "booked": "2026-11-01"}])
    table = qstore.query_arrow('SELECT l.amount, l.booked, o.created_at FROM ledger l, "order" o')
    assert table.num_rows == 12
    assert str(table.schema.field("amount").type) == "decimal128(38, 9)"
    assert str(table.schema.field("booked").type) == "date32[day]"
    assert str(table.schema.field("created_at").type) == "timestamp[us, tz=UTC]"
    assert table.column("amount")[0].as_py() == Decimal("1.000000001")


@pytest.mark.parametrize(
    ("sql", "want"),
    [
        (
            'SELECT CAST(created_at AS DATE), count(*) FROM "order" GROUP BY 1',
            ["created_at"],
        ),
        ('SELECT count(*) FROM "order"', ["version"]),
        ('SELECT a.email FROM "order" a JOIN "order" b USING (total)', ["total", "email"]),
        ('SELECT * FROM "order"', None),
        ('SELECT o FROM "order" o', None),
        ('SELECT email FROM "order" NATURAL JOIN "order"', None),
        ("SELECT COLUMNS('e.*') FROM \"order\"", None),
    ],
)
def test_views_carry_only_the_columns_the_sql_names(
    qstore: Store, sql: str, want: list[str] | None
) -> None:
    """Column pruning: a column left out is never read (and never silently null: a
    statement that could use any column gets them all)."""
    service = SqlQueryService(qstore.storage, qstore.settings.conventions, build_sql_engine())
    [view] = service.views(sql)
    every = [c.name for c in view.columns]
    assert every == (want if want is not None else every)
    if want is None:
        assert every[-1] == "metadata" and len(every) == 4 + 6


def test_a_pruned_view_gives_the_same_answers(qstore: Store) -> None:
    rows = _orders(qstore)
    assert qstore.query('SELECT count(*) AS n FROM "order"') == [{"n": len(rows)}]
    [whole] = qstore.query("SELECT o FROM \"order\" o WHERE srn LIKE '%:O-1'")
    assert set(whole["o"]) >= {"srn", "metadata", "email"}
