"""Ids never come back (issue 13 item 4): after the rows holding the highest ids are
gone (retention, acknowledged events), new rows get strictly greater ids, on every
backend. SQLite hands out max(id) + 1 for a plain INTEGER PRIMARY KEY; the receipts
migration rebuilds the id tables with AUTOINCREMENT. PostgreSQL sequences never go back.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ingestry.adapters import migrate
from ingestry.domain.clock import utc_now
from ingestry.store import Store
from tests.backends import Database
from tests.integration.rawops_support import ingest_at, open_store, write_config
from tests.integration.receipts_support import RECEIPTS

PREVIOUS = "20261202_130000"


def order(ident: str) -> bytes:
    return (
        b'{"id": "' + ident.encode() + b'", "number": "#' + ident.encode() + b'",'
        b' "created_at": "2026-11-01T10:00:00Z", "qty": 1}'
    )


@pytest.fixture
def orders(tmp_path: Path, db: Database) -> Any:
    with open_store(write_config(tmp_path, db)) as opened:
        yield opened


def ids(db: Database, table: str) -> list[int]:
    return [int(i) for (i,) in db.rows(f"SELECT id FROM {table} ORDER BY id")]


def test_raw_and_receipt_ids_are_never_reused_after_a_purge(orders: Store, db: Database) -> None:
    """Failed on main (SQLite): the purged rows' ids were handed out again."""
    store = orders
    ingest_at(store, "orders", [order("R1")], utc_now() - timedelta(days=1))
    # received long ago but stored last: they hold the highest ids, and expire
    ingest_at(store, "orders", [order(f"O{n}") for n in range(5)], utc_now() - timedelta(days=200))
    seen = {t: max(ids(db, t)) for t in ("raw_payloads", "raw_receipts")}
    (report,) = store.retention_run(actor="test")
    assert report.rows_purged == 5
    assert max(ids(db, "raw_payloads")) < seen["raw_payloads"]

    ingest_at(store, "orders", [order("N1"), order("N2")], utc_now())

    assert min(ids(db, "raw_payloads")[1:]) > seen["raw_payloads"]
    assert min(ids(db, "raw_receipts")[1:]) > seen["raw_receipts"]


def test_event_ids_are_never_reused_once_acknowledged(store: Store, db: Database) -> None:
    """The outbox deletes acknowledged events; a consumer that de-duplicates by id must
    never see an id again (failed on main, SQLite)."""
    store.ingest("customer_orders", [_order(f"E-{n}") for n in range(3)])
    store.take_in_events()  # every change taken in, as a claim does
    highest = max(ids(db, "record_events"))
    db.execute("DELETE FROM record_events")  # what acknowledging them does
    store.ingest("customer_orders", [_order("E-9")])
    store.take_in_events()
    assert min(ids(db, "record_events")) > highest


def _order(ident: str) -> dict[str, str]:
    return {"id": ident, "created_at": "2026-11-01T10:00:00Z", "total_price": "1.00"}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_migration_rebuilds_sqlite_id_tables_with_autoincrement_keeping_rows(
    db: Database,
) -> None:
    migrate.upgrade(db.engine, PREVIOUS)
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO raw_payloads (id, source, entity_type, source_id, sha256, payload,"
                " received_at, line, origin) VALUES (7, 's', 'e', 'A', x'00', x'61',"
                " '2026-11-01T00:00:00+00:00', 3, 'a.jsonl')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO record_events (id, srn, convention, version, created_at)"
                " VALUES (40, 'srn:x', 'order', 1, '2026-11-01T00:00:00+00:00')"
            )
        )
    indexes = db.indexes("raw_payloads")

    migrate.upgrade(db.engine)

    tables = ("raw_payloads", "record_events", "quarantine", "raw_receipts", "raw_receipt_batches")
    for table in tables:
        sql = db.scalar(f"SELECT sql FROM sqlite_master WHERE name = '{table}'")
        assert "AUTOINCREMENT" in sql.upper(), sql
    assert db.indexes("raw_payloads") == indexes
    assert db.rows("SELECT id, source_id, line, origin FROM raw_payloads") == [
        (7, "A", 3, "a.jsonl")
    ]
    assert db.rows(f"SELECT raw_id, line, origin FROM {RECEIPTS} r") == [(7, 3, "a.jsonl")]
    with db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM record_events"))
        conn.execute(
            sa.text(
                "INSERT INTO record_events (srn, convention, version, created_at)"
                " VALUES ('srn:y', 'order', 1, '2026-11-02T00:00:00+00:00')"
            )
        )
    assert ids(db, "record_events") == [41]
