"""`Store.update`: optimistic locking, history, events, on every backend."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

import pytest

import ingestry
from ingestry import ConflictError, DepositionSource, ExtractionError, RecordNotFoundError
from ingestry.domain.records import record_srn
from ingestry.store import Store
from tests.backends import Database
from tests.lifecycle import order

META = {"created_at": "2026-11-01T10:00:00Z", "total_price": "10.00", "note": "first"}


def test_update_bumps_the_version_and_keeps_history(store: Store, db: Database) -> None:
    record = store.publish_record("order", DepositionSource("U-1"), META)
    updated = store.update(record.srn, {**META, "total_price": "11.00", "note": "second"}, 1)
    assert updated.version == 2
    assert updated.columns["total"] == Decimal("11.00")
    assert updated.metadata["note"] == "second"
    assert updated.source == record.source
    assert updated.published_at == record.published_at
    history = store.history(record.srn)
    assert [(r.version, r.metadata["note"]) for r in history] == [(1, "first"), (2, "second")]
    assert history[0].columns["total"] == Decimal("10.00")
    store.take_in_events()  # every change taken in, as a claim does
    assert db.rows("SELECT version FROM record_events ORDER BY id") == [(1,), (2,)]


def test_stale_version_is_a_conflict_and_writes_nothing(store: Store, db: Database) -> None:
    record = store.publish_record("order", DepositionSource("U-2"), META)
    store.update(record.srn, {**META, "note": "v2"}, 1)
    store.take_in_events()  # every change taken in, as a claim does
    before = (db.count("record_versions"), db.count("record_events"))
    with pytest.raises(ConflictError) as caught:
        store.update(record.srn, {**META, "note": "stale"}, 1)
    assert caught.value.expected == 1
    assert caught.value.current == 2
    assert "version 2" in str(caught.value) and "expected version 1" in str(caught.value)
    assert record.srn in str(caught.value)
    current = store.get(record.srn)
    assert (current.version, current.metadata["note"]) == (2, "v2")
    store.take_in_events()  # every change taken in, as a claim does
    assert (db.count("record_versions"), db.count("record_events")) == before
    with pytest.raises(ConflictError):  # a version from the future is stale too
        store.update(record.srn, {**META, "note": "future"}, 7)


def test_same_content_is_no_new_version(store: Store, db: Database) -> None:
    record = store.publish_record("order", DepositionSource("U-3"), META)
    again = store.update(record.srn, dict(META), 1)
    assert again.version == 1
    assert db.count("record_versions") == 0
    store.take_in_events()  # every change taken in, as a claim does
    assert db.count("record_events") == 1


def test_update_of_a_missing_record_or_bad_metadata(store: Store, db: Database) -> None:
    missing = record_srn("order", "deposition", "", "nope")
    with pytest.raises(RecordNotFoundError):
        store.update(missing, META, 1)
    with pytest.raises(RecordNotFoundError):
        store.update("not-an-srn", META, 1)
    record = store.publish_record("order", DepositionSource("U-4"), META)
    with pytest.raises(ExtractionError, match="column 'total'"):
        store.update(record.srn, {**META, "total_price": "a lot"}, 1)
    assert store.get(record.srn).version == 1


def test_update_of_an_ingested_record_keeps_columns_not_in_metadata(store: Store) -> None:
    """File ingest moves top-level column keys out of the metadata; an update that sends
    the record's metadata back keeps those columns (null clears one)."""
    store.ingest("customer_orders", [order("I-1", total_price="5.00", order_number="#9")])
    srn = record_srn("order", "harvest", "customer_orders", "I-1")
    record = store.get(srn)
    assert "created_at" not in record.metadata
    updated = store.update(srn, {**record.metadata, "extra": 1}, record.version)
    assert updated.version == 2
    assert updated.columns == record.columns
    cleared = store.update(srn, {**updated.metadata, "total_price": None}, 2)
    assert cleared.columns["total"] is None
    assert cleared.columns["order_number"] == "#9"


def test_concurrent_updates_one_wins(config_path: Path, db: Database) -> None:
    """Two stores (two connections) update from the same version at once: exactly one
    succeeds, the other gets a conflict naming both versions."""
    with ingestry.open(config_path) as store:
        srn = store.publish_record("order", DepositionSource("U-5"), META).srn
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def update(note: str) -> None:
        with ingestry.open(config_path) as store:
            store.get(srn)  # open the connection before the race
            barrier.wait()
            try:
                store.update(srn, {**META, "note": note}, 1)
                outcomes.append("ok")
            except ConflictError as exc:
                assert (exc.expected, exc.current) == (1, 2)
                outcomes.append("conflict")

    threads = [threading.Thread(target=update, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    assert db.count("record_versions") == 1
    with ingestry.open(config_path) as store:
        store.take_in_events()  # every change taken in, as a claim does
    assert db.rows("SELECT version FROM record_events ORDER BY id") == [(1,), (2,)]
