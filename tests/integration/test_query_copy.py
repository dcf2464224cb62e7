"""`ingestry query --copy` (issue 17, query speed): a Parquet copy per convention
beside the store, rebuilt whenever the store changed since it was taken, never read
stale. Both backends; the PostgreSQL-only case is a transaction that commits after
the copy's mark with a smaller sequence number than rows the copy saw."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

import ingestry
from ingestry.store import Store
from tests.backends import Database
from tests.integration.test_ingest import order

COUNT = 'SELECT count(*) AS n, max(order_number) AS last FROM "order"'
BY_DAY = 'SELECT CAST(created_at AS DATE) AS day, count(*) AS n FROM "order" GROUP BY 1 ORDER BY 1'


def _copied(store: Store, sql: str) -> tuple[list[dict[str, object]], str]:
    copies = store.query_copies()
    service = store._sql()
    service.copy_file = lambda name: copies.fresh(name).file
    result = service.run(sql)
    rows = [dict(zip(result.columns, r, strict=True)) for r in result.rows]
    return rows, copies.last["order"]


def test_a_copy_answers_as_the_store_and_is_rebuilt_after_every_change(
    store: Store, project: Path
) -> None:
    store.ingest("customer_orders", [order(f"C-{i}") for i in range(5)])
    assert _copied(store, BY_DAY) == (store.query(BY_DAY), "built")
    assert _copied(store, BY_DAY) == (store.query(BY_DAY), "warm")
    assert store.query(COUNT, copy=True) == store.query(COUNT)
    files = list((project / "data" / "query_copies" / "order").glob("copy-*.parquet"))
    assert len(files) == 1
    # a new record, an update, an erasure: each makes the copy stale
    store.ingest("customer_orders", [order("C-9")])
    assert _copied(store, COUNT) == ([{"n": 6, "last": "#C-9"}], "built")
    store.ingest("customer_orders", [order("C-9", note="changed", order_number="#Z")])
    assert _copied(store, COUNT) == ([{"n": 6, "last": "#Z"}], "built")
    store.erase(source="customer_orders", source_id="C-9", reason="test")
    assert _copied(store, COUNT) == ([{"n": 5, "last": "#C-4"}], "built")
    assert _copied(store, COUNT)[1] == "warm"
    # a soft delete too: the copy leaves the deleted record out, as the store's views do
    gone = next(r.srn for r in store.records("order") if r.source.id == "C-4")
    store.delete(gone, reason="test")
    assert _copied(store, COUNT) == ([{"n": 4, "last": "#C-3"}], "built")
    assert store.query(COUNT, copy=True) == store.query(COUNT)
    # another convention's change leaves this copy fresh
    store.ingest_files("exchange_rates", [project / "data/samples/exchange_rates.csv"])
    assert _copied(store, COUNT)[1] == "warm"


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_transaction_committing_after_the_mark_makes_the_copy_stale(
    store: Store, db: Database
) -> None:
    """PostgreSQL hands out seq before commit: a transaction open while the copy's mark
    is taken can commit later with a smaller seq than rows the copy saw."""
    store.ingest("customer_orders", [order("P-1")])
    feed = store.storage.change_feed()
    with psycopg.connect(db.url) as slow:
        slow.execute(
            "INSERT INTO record_changes (xid, convention, record_id, version)"
            " VALUES (pg_current_xact_id()::text::bigint, 'order', 0, 1)"
        )  # open, uncommitted, its seq taken now
        store.ingest("customer_orders", [order("P-2")])  # a larger seq, committed
        mark = feed.copy_mark("order")
        assert not feed.changed_since("order", mark)
        slow.commit()
    assert feed.changed_since("order", mark)


def test_the_cli_flag_reads_the_copy(project: Path, store: Store) -> None:
    from tests.e2e.cli import run

    store.ingest("customer_orders", [order("K-1"), order("K-2")])
    out = run("query", COUNT, "--json", "--copy", cwd=project).stdout
    assert b'"n":2' in out
    assert (project / "data" / "query_copies" / "order" / "state.json").is_file()


def test_a_copy_taken_from_another_store_is_never_read(
    store: Store, project: Path, other_db: Database
) -> None:
    """Two stores behind one project folder (a move to another database, a restored
    backup, another backend): the copy on disk belongs to the store it was taken from.
    With the same number of changes both stores' marks were equal, and the second store
    answered with the first one's rows."""
    store.ingest("customer_orders", [order(f"C-{i}") for i in range(5)])
    assert store.query(COUNT, copy=True) == [{"n": 5, "last": "#C-4"}]
    env = {"INGESTRY_DATABASE_URL": other_db.url}
    config = ingestry.load_settings(project / "ingestry.yaml", env=env)
    with ingestry.open(config) as other:
        other.ingest("customer_orders", [order(f"D-{i}") for i in range(5)])
        assert other.query(COUNT) == [{"n": 5, "last": "#D-4"}]
        assert _copied(other, COUNT) == ([{"n": 5, "last": "#D-4"}], "built")
    # and back: the first store's copy is rebuilt from the first store
    assert _copied(store, COUNT) == ([{"n": 5, "last": "#C-4"}], "built")
