"""Replay on every backend: a convention fix re-derives records, idempotently, per window."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ingestry.services.ports import RawWindow
from ingestry.services.replay import NotRawSourceError
from tests.backends import Database
from tests.integration.rawops_support import AFTER, at, ingest_at, open_store, write_config

CREATED = "2026-11-01T10:00:00Z"


def order(ident: str, **extra: Any) -> dict[str, Any]:
    return {"id": ident, "number": f"#{ident}", "created_at": CREATED, **extra}


PAYLOADS = [
    order("A", qty=2),
    order("B", qty="2.5"),  # not an integer: quarantined until the type is fixed
    order("C"),  # no qty, no note: the fix changes nothing for it
    order("D", note="gift"),  # the new column takes its note out of metadata
]


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a replay could write."""
    return {
        "records": db.rows(
            "SELECT source_type, source_id, version, extractor_version, updated_at, content_hash"
            " FROM records_order ORDER BY source_id"
        ),
        "raw": db.rows(
            "SELECT id, source_id, entity_type, processed_at, extractor_version, error"
            " FROM raw_payloads ORDER BY id"
        ),
        "quarantine": db.rows(
            "SELECT id, status, resolved_at, reason, payload FROM quarantine ORDER BY id"
        ),
        "history": db.rows("SELECT srn, version FROM record_versions ORDER BY srn, version"),
    }


@pytest.fixture
def fixed(tmp_path: Path, db: Database) -> Path:
    """A project that ingested PAYLOADS under the wrong config, then fixed its config."""
    path = write_config(tmp_path, db)
    with open_store(path) as store:
        summary = store.ingest("orders", PAYLOADS)
        assert (summary.records_created, summary.quarantined) == (3, 1)
    write_config(tmp_path, db, AFTER)
    return path


def test_convention_fix_replay_rederives_records(fixed: Path, db: Database) -> None:
    with open_store(fixed) as store:
        old = db.scalar("SELECT extractor_version FROM records_order WHERE source_id = 'A'")
        stale = {s.source: s for s in store.extractor_status()}["orders"]
        assert (stale.stale, stale.versions, stale.fix) == (3, {old: 3}, "ingestry replay orders")

        # the column changed type in place; stored values were converted
        before = {r.source.id: r for r in store.records("order")}
        assert before["A"].columns["qty"] == Decimal("2")
        assert before["A"].columns["note"] is None

        summary = store.replay("orders")

        new = summary.extractor_version
        assert new != old
        assert summary.scanned == 4
        assert (summary.records_created, summary.records_updated) == (1, 2)
        assert summary.records_unchanged == 1
        assert (summary.quarantined, summary.released_from_quarantine) == (0, 1)
        records = {r.source.id: r for r in store.records("order")}
        assert sorted(records) == ["A", "B", "C", "D"]
        for record in records.values():  # every record has the new column and extractor
            assert "note" in record.columns
            assert record.extractor_version == new
        assert records["C"].version == 1  # unchanged content keeps its version
        assert (records["A"].version, records["A"].columns["qty"]) == (2, Decimal("2"))
        assert (records["B"].version, records["B"].columns["qty"]) == (1, Decimal("2.5"))
        assert records["D"].columns["note"] == "gift"
        assert "note" not in records["D"].metadata
        assert records["B"].raw_sha256 is not None
        # the repaired payload left the quarantine, without its bytes (raw keeps them)
        assert store.quarantine("orders") == []
        (released,) = store.quarantine("orders", "released")
        assert released.payload == b""
        detail = store.quarantine_entry(released.id)
        assert detail.resolved_by == "replay" and detail.raw_payload is not None
        assert b'"2.5"' in detail.raw_payload
        # raw rows remember the extraction; the repaired one got its source id
        assert db.rows(
            "SELECT DISTINCT extractor_version, error FROM raw_payloads WHERE source = 'orders'"
        ) == [(new, None)]
        assert [p.source_id for p in store.raw("orders", "B")] == ["B"]
        assert {s.source: s.stale for s in store.extractor_status()}["orders"] == 0


def test_replay_twice_changes_nothing_the_second_time(fixed: Path, db: Database) -> None:
    with open_store(fixed) as store:
        store.replay("orders")
        before = snapshot(db)
        again = store.replay("orders")
        assert (again.records_created, again.records_updated, again.records_unchanged) == (0, 0, 4)
        assert (again.quarantined, again.released_from_quarantine) == (0, 0)
        assert snapshot(db) == before


def test_dry_run_reports_the_same_and_writes_nothing(fixed: Path, db: Database) -> None:
    with open_store(fixed) as store:
        before = snapshot(db)
        runs = db.count("ingest_runs")
        dry = store.replay("orders", dry_run=True)
        assert snapshot(db) == before
        assert db.count("ingest_runs") == runs
        real = store.replay("orders")
        keys = ["scanned", "records_created", "records_updated", "records_unchanged"]
        keys += ["quarantined", "released_from_quarantine"]
        assert {k: dry.as_dict()[k] for k in keys} == {k: real.as_dict()[k] for k in keys}
        assert dry.dry_run and not real.dry_run


def test_only_the_newest_payload_of_an_id_drives_its_record(tmp_path: Path, db: Database) -> None:
    path = write_config(tmp_path, db)
    with open_store(path) as store:
        ingest_at(store, "orders", [order("A", qty=1)], at(1))
        ingest_at(store, "orders", [order("A", qty=2)], at(2))
    write_config(tmp_path, db, AFTER)
    with open_store(path) as store:
        first = store.replay("orders")
        assert (first.scanned, first.superseded, first.records_updated) == (2, 1, 1)
        record = next(iter(store.records("order")))
        assert (record.version, record.columns["qty"]) == (3, Decimal("2"))
        second = store.replay("orders")
        assert (second.superseded, second.records_updated, second.records_unchanged) == (1, 0, 1)
        assert next(iter(store.records("order"))).version == 3


def test_replay_window_touches_only_the_window(tmp_path: Path, db: Database) -> None:
    """A 1-day window of a 30-day table: only its rows are read and written."""
    path = write_config(tmp_path, db)
    start = at(25, month=10)  # 30 days across two months (two partitions on PostgreSQL)
    with open_store(path) as store:
        for day in range(30):
            moment = start + timedelta(days=day)
            ingest_at(store, "orders", [order(f"d{day}-{n}", qty=n) for n in range(3)], moment)
    write_config(tmp_path, db, AFTER)
    since = at(10)
    until = since + timedelta(days=1)
    with open_store(path) as store:
        old = db.scalar("SELECT extractor_version FROM raw_payloads LIMIT 1")
        window = RawWindow("orders", since=since.isoformat(), until=until.isoformat())
        plan = store.storage.raw_operations().explain_window(window)  # type: ignore[attr-defined]
        summary = store.replay("orders", since=since, until=until)
        assert summary.scanned == 3
        assert summary.records_updated == 3  # qty integer → decimal changes their content
        touched = db.rows(
            "SELECT source_id FROM raw_payloads WHERE extractor_version <> :old ORDER BY 1",
            old=old,
        )
        assert touched == [("d16-0",), ("d16-1",), ("d16-2",)]
        assert db.count("records_order", f"WHERE extractor_version <> '{old}'") == 3
        assert db.count("records_order") == 90
    if db.kind == "sqlite":
        # one range read of the (source, received_at) index, no sort, no table scan
        assert "USING INDEX ix_raw_payloads_source_received_at" in plan
        assert "TEMP B-TREE" not in plan
        assert "SCAN" not in plan
    else:
        # the window's partition only (October is pruned), read in index order
        assert "raw_payloads_y2026m11" in plan
        assert "raw_payloads_y2026m10" not in plan
        assert "Index Scan" in plan and "Seq Scan" not in plan


def test_replay_csv_rows_are_reread_with_their_header(tmp_path: Path, db: Database) -> None:
    path = write_config(tmp_path, db)
    data = tmp_path / "orders.csv"
    data.write_bytes(
        b"id,number,created_at,qty,note\r\n"
        b"X1,#1,2026-11-01T10:00:00Z,3,\r\n"
        b"X2,#2,2026-11-01T10:00:00Z,2.5,fragile\r\n"
    )
    with open_store(path) as store:
        first = store.ingest_files("orders_csv", [data])
        assert (first.records_created, first.quarantined) == (1, 1)
    write_config(tmp_path, db, AFTER)
    with open_store(path) as store:
        summary = store.replay("orders_csv")
        assert (summary.records_created, summary.records_updated) == (1, 1)
        assert summary.released_from_quarantine == 1
        records = {r.source.id: r for r in store.records("order")}
        assert records["X2"].columns["qty"] == Decimal("2.5")
        assert records["X2"].columns["note"] == "fragile"


def test_simple_source_cannot_be_replayed(tmp_path: Path, db: Database) -> None:
    with open_store(write_config(tmp_path, db)) as store:
        store.ingest("listings", [order("L1")])
        with pytest.raises(NotRawSourceError, match="listings is a simple source"):
            store.replay("listings")
