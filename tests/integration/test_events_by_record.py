"""Events of a record on every backend (migration 20261203_110000): SQLite keys them by
their record's rowid, PostgreSQL by srn. Whatever the write path (bulk ingest, an id
repeated in a batch, an update, a soft delete), the record's events are found, in order,
through an index, and erasure removes exactly them."""

from __future__ import annotations

import sqlite3
from typing import Any

from ingestry import record_srn
from ingestry.adapters import migrate
from ingestry.adapters.sql.browse import events_of
from ingestry.adapters.sql.names import table_name
from ingestry.adapters.sqlite.lifecycle import _CLAIM
from ingestry.migrations import HEAD
from ingestry.store import Store
from tests.backends import Database
from tests.lifecycle import order

BEFORE = "20261203_100000"


def srn(source_id: str, source: str = "orders_simple") -> str:
    return record_srn("order", "harvest", source, source_id)


def versions(store: Store, of: str) -> list[int]:
    return [e.version for e in store.control.browse.record_events(of, 50)]


def test_a_records_events_are_found_whatever_wrote_them(store: Store, db: Database) -> None:
    store.ingest("orders_simple", [order(f"E-{n}") for n in range(1, 30)])
    store.ingest("orders_simple", [order("E-2", note=str(n)) for n in range(3)])  # v2 (last)
    store.ingest("orders_simple", [order("E-3", note="x")])
    record = store.get(srn("E-3"))
    store.update(srn("E-3"), {**record.metadata, "note": "y"}, record.version)
    store.delete(srn("E-4"), reason="test")
    assert versions(store, srn("E-1")) == [1]
    assert versions(store, srn("E-2")) == [2, 1]
    assert versions(store, srn("E-3")) == [3, 2, 1]
    assert versions(store, srn("E-4")) == [2, 1]
    assert versions(store, srn("NOBODY")) == []
    assert versions(store, "not an srn") == []
    if db.kind == "sqlite":  # each event carries its record's rowid
        table = table_name("order")
        records = {
            i: srn(sid, up)
            for i, up, sid in db.rows(f'SELECT id, upstream, source_id FROM "{table}"')
        }
        store.take_in_events()  # every change taken in, as a claim does
        keyed = db.rows("SELECT srn, record_id FROM record_events")
        assert len(keyed) == 29 + 1 + 2 + 1
        assert all(records[rowid] == event_srn for event_srn, rowid in keyed)
    store.erase(srn("E-3"), reason="test", actor="dpo")
    assert versions(store, srn("E-3")) == []
    assert versions(store, srn("E-2")) == [2, 1]
    store.take_in_events()
    assert db.count("record_events") == 29 + 1 + 2 + 1 - 3


def test_sqlite_reads_events_through_the_short_index(store: Store, db: Database) -> None:
    if db.kind != "sqlite":
        return  # PostgreSQL keeps `(srn, id)`: test_schema_postgres.py
    store.ingest("orders_simple", [order("P-1")])
    assert db.sqlite_file is not None
    conn = sqlite3.connect(db.sqlite_file)
    try:
        where = {"c": "order", "t": "harvest", "u": "orders_simple", "i": "P-1"}
        plans = {
            "events of a record": _plan(
                conn, events_of("order"), {**where, "srn": srn("P-1"), "limit": 5}
            ),
            "claim": _plan(conn, _CLAIM, ("now", "now", 5)),
        }
    finally:
        conn.close()
    for name, plan in plans.items():
        assert "ix_record_events_record" in plan, f"{name}: {plan}"
        assert "SCAN record_events AS p" not in plan, f"{name}: {plan}"


def _plan(conn: sqlite3.Connection, sql: str, params: Any) -> str:
    rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
    return " | ".join(str(r[-1]) for r in rows)


def test_the_migration_keys_existing_events_and_goes_back(db: Database) -> None:
    migrate.upgrade(db.engine, BEFORE)
    if db.kind == "sqlite":
        db.execute(
            f'CREATE TABLE "{table_name("order")}" (id INTEGER PRIMARY KEY,'
            " source_type TEXT, upstream TEXT, source_id TEXT)"
        )
        db.execute(
            f'INSERT INTO "{table_name("order")}" VALUES'
            " (7, 'harvest', 'orders_simple', 'A/1'), (9, 'harvest', 'orders_simple', 'B')"
        )
    events = [
        (srn("A/1"), 1), (srn("B"), 1), (srn("A/1"), 2), (srn("GONE"), 1), ("odd", 1),
    ]  # fmt: skip
    for event_srn, version in events:
        db.execute(
            "INSERT INTO record_events (srn, convention, version, created_at)"
            " VALUES (:s, 'order', :v, '2026-12-03T00:00:00+00:00')",
            s=event_srn, v=version,
        )  # fmt: skip
    before = db.rows("SELECT id, srn, version, status FROM record_events ORDER BY id")

    migrate.upgrade(db.engine)

    assert migrate.current(db.engine) == HEAD
    assert db.rows("SELECT id, srn, version, status FROM record_events ORDER BY id") == before
    if db.kind == "sqlite":
        keyed = db.rows("SELECT record_id FROM record_events ORDER BY id")
        assert [k for (k,) in keyed] == [7, 9, 7, None, None]
        assert _indexes(db) == {"ix_record_events_record"}
    else:
        assert _indexes(db) == {"ix_record_events_srn"}

    migrate.downgrade(db.engine, BEFORE)

    assert db.rows("SELECT id, srn, version, status FROM record_events ORDER BY id") == before
    assert _indexes(db) == {"ix_record_events_srn"}
    migrate.upgrade(db.engine)
    assert migrate.current(db.engine) == HEAD


def _indexes(db: Database) -> set[str]:
    if db.kind == "sqlite":
        rows = db.rows(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'record_events'"
            " AND name NOT LIKE 'sqlite_%'"
        )
    else:
        rows = db.rows(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'record_events'"
            " AND indexname LIKE 'ix_%'"
        )
    return {name for (name,) in rows}
