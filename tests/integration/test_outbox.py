"""The transactional outbox: every write path writes its events with its records."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestry import DepositionSource, StrictModeError, record_srn
from ingestry.store import Store
from tests.backends import Database
from tests.lifecycle import order


def outbox(store: Store, db: Database) -> list[tuple[str, str, int]]:
    """The outbox's events, every change taken in (as a dispatcher's claim does)."""
    store.take_in_events()
    rows = db.rows("SELECT srn, convention, version FROM record_events ORDER BY id")
    return [(srn, convention, version) for srn, convention, version in rows]


def test_file_ingest_writes_one_event_per_created_or_changed_record(
    store: Store, db: Database, project: Path
) -> None:
    sample = project / "data" / "samples" / "orders.jsonl"
    summary = store.ingest_files("customer_orders", [sample])
    created = summary.records_created
    assert created > 0
    rows = outbox(store, db)
    assert len(rows) == created
    assert {c for _, c, _ in rows} == {"order"}
    assert all(v == 1 for _, _, v in rows)
    assert rows[0][0] == record_srn("order", "harvest", "customer_orders", "ORD-1001")
    # the same file again: nothing changed, no event
    store.ingest_files("customer_orders", [sample])
    assert len(outbox(store, db)) == created
    # one changed payload: one RecordUpdated (version 2)
    store.ingest("customer_orders", [order("ORD-1001", total_price="1.00")])
    assert outbox(store, db)[-1] == (
        record_srn("order", "harvest", "customer_orders", "ORD-1001"),
        "order",
        2,
    )
    assert store.pending_events() == created + 1


def test_events_follow_the_batch_transaction(store: Store, db: Database) -> None:
    with pytest.raises(StrictModeError):
        store.ingest("customer_orders", [order("S-1"), {"id": "S-2"}], strict=True)
    assert store.take_in_events() == 0 and db.count("record_events") == 0
    store.ingest("exchange_rates", [], strict=True)
    assert store.take_in_events() == 0 and db.count("record_events") == 0


def test_an_id_repeated_in_one_batch_is_one_record_and_one_event(
    store: Store, db: Database
) -> None:
    store.ingest("orders_simple", [order("R-1", note=str(n)) for n in range(3)])
    srn = record_srn("order", "harvest", "orders_simple", "R-1")
    assert outbox(store, db) == [(srn, "order", 1)]
    store.ingest("orders_simple", [order("R-1", note=str(n)) for n in range(3, 6)])
    assert outbox(store, db) == [(srn, "order", 1), (srn, "order", 2)]


def test_publish_bulk_and_update_write_events(store: Store, db: Database) -> None:
    meta = {"created_at": "2026-11-01T10:00:00Z"}
    srn = store.publish_record("order", DepositionSource("E-1"), meta).srn
    store.bulk_publish("order", [({"type": "deposition", "id": "E-2"}, meta)])
    store.update(srn, {**meta, "x": 1}, 1)
    assert outbox(store, db) == [
        (srn, "order", 1),
        (record_srn("order", "deposition", "", "E-2"), "order", 1),
        (srn, "order", 2),
    ]


def test_replay_writes_events_for_the_versions_it_creates(tmp_path: Path, db: Database) -> None:
    """Replay (re-extraction from raw) is a write path too: its new and changed
    records get their events in the replay's transaction."""
    from tests.integration.rawops_support import AFTER, open_store, write_config

    path = write_config(tmp_path, db)
    payloads = [
        {"id": "A", "number": "#A", "created_at": "2026-11-01T10:00:00Z", "qty": 2},
        {"id": "B", "number": "#B", "created_at": "2026-11-01T10:00:00Z", "qty": "2.5"},
        {"id": "D", "number": "#D", "created_at": "2026-11-01T10:00:00Z", "note": "gift"},
    ]
    with open_store(path) as store:
        store.ingest("orders", payloads)
        before = outbox(store, db)
    write_config(tmp_path, db, AFTER)
    with open_store(path) as store:
        summary = store.replay("orders")
        new = outbox(store, db)[len(before) :]
    assert len(new) == summary.records_created + summary.records_updated > 0
    assert {(srn.rsplit(":", 1)[1], version) for srn, _, version in new} >= {("B", 1)}
