"""Ingest end to end on every backend: routing, dedupe, versions, quarantine."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from ingestry import StrictModeError
from ingestry.domain.records import record_srn
from ingestry.store import Store
from tests.backends import Database

ORDERS = "data/samples/orders.jsonl"


def order(ident: str, **extra: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": ident,
        "type": "order",
        "order_number": f"#{ident}",
        "created_at": "2026-11-01T10:00:00Z",
        "total_price": "10.00",
        "customer": {"email": f"{ident.lower()}@example.com"},
        "line_items": [{"quantity": 2}],
    }
    base.update(extra)
    return base


def test_raw_source_stores_bytes_and_records(store: Store, project: Path, db: Database) -> None:
    summary = store.ingest_files("customer_orders", [project / ORDERS])
    lines = [ln for ln in (project / ORDERS).read_bytes().splitlines() if ln.strip()]
    assert summary.received == len(lines) == 46
    assert summary.raw_stored == 46  # bad lines are kept raw too: nothing received is lost
    assert summary.quarantined == 3
    assert summary.records_created == 43
    assert db.count("raw_payloads") == 46
    assert db.count("records_order") == 43


def test_second_ingest_is_all_duplicates_and_writes_nothing(
    store: Store, project: Path, db: Database
) -> None:
    store.ingest_files("customer_orders", [project / ORDERS])
    raw_before = db.count("raw_payloads")
    versions = db.rows("SELECT source_id, version, updated_at FROM records_order ORDER BY id")
    again = store.ingest_files("customer_orders", [project / ORDERS])
    assert again.raw_stored == 0
    assert again.raw_duplicates == again.received == 46
    assert again.records_unchanged == 43
    assert again.records_created == again.records_updated == 0
    assert db.count("raw_payloads") == raw_before
    assert (
        db.rows("SELECT source_id, version, updated_at FROM records_order ORDER BY id") == versions
    )
    assert db.count("record_versions") == 0
    assert db.count("quarantine") == 3


def test_two_sources_feeding_one_convention_never_share_a_record(
    store: Store, project: Path, db: Database
) -> None:
    """Issue 13, item 7: the same id from two data sources is two records (each
    harvest's upstream is its data source), and neither ingest touches the other's."""
    first = store.ingest("customer_orders", [order("ORD-1", total_price="1.00")])
    second = store.ingest("orders_simple", [order("ORD-1", total_price="2.00")])
    assert (first.records_created, second.records_created) == (1, 1)
    assert second.records_updated == 0
    raw = store.get(record_srn("order", "harvest", "customer_orders", "ORD-1"))
    simple = store.get(record_srn("order", "harvest", "orders_simple", "ORD-1"))
    assert (raw.version, str(raw.columns["total"])) == (1, "1.00")
    assert (simple.version, str(simple.columns["total"])) == (1, "2.00")
    assert raw.source.id == simple.source.id == "ORD-1"  # the id exactly as read
    assert (raw.data_source, simple.data_source) == ("customer_orders", "orders_simple")
    # ingesting either again changes neither
    again = store.ingest("orders_simple", [order("ORD-1", total_price="2.00")])
    assert (again.records_unchanged, again.records_updated) == (1, 0)
    assert store.get(raw.srn).version == 1
    assert db.count("records_order") == 2


def test_changed_bytes_new_raw_row_and_new_version(store: Store) -> None:
    store.ingest("customer_orders", [order("A-1")])
    summary = store.ingest("customer_orders", [order("A-1", total_price="11.00")])
    assert (summary.raw_stored, summary.records_updated) == (1, 1)
    srn = record_srn("order", "harvest", "customer_orders", "A-1")
    record = store.get(srn)
    assert record.version == 2
    assert str(record.columns["total"]) == "11.00"
    history = store.history(srn)
    assert [r.version for r in history] == [1, 2]
    assert str(history[0].columns["total"]) == "10.00"
    assert len(store.raw("customer_orders", "A-1")) == 2


def test_same_content_different_bytes_is_unchanged(store: Store) -> None:
    store.ingest("customer_orders", [orjson.dumps(order("A-2"))])
    spaced = orjson.dumps(order("A-2"), option=orjson.OPT_INDENT_2)
    summary = store.ingest("customer_orders", [spaced])
    assert summary.raw_stored == 1  # different bytes are kept
    assert summary.records_unchanged == 1  # but the record's content did not change
    assert store.get(record_srn("order", "harvest", "customer_orders", "A-2")).version == 1


def test_id_repeated_in_one_batch_is_one_record_the_last_wins(store: Store) -> None:
    payloads = [
        order("B-1", total_price="1.00"),
        order("B-1", total_price="2.00"),
        order("B-1", total_price="2.00"),
        order("B-1", total_price="3.00"),
    ]
    summary = store.ingest("customer_orders", payloads)
    assert (summary.records_created, summary.records_updated, summary.records_unchanged) == (
        1,
        0,
        0,
    )
    assert (summary.duplicate_ids, summary.raw_stored) == (1, 3)
    history = store.history(record_srn("order", "harvest", "customer_orders", "B-1"))
    assert [(r.version, str(r.columns["total"])) for r in history] == [(1, "3.00")]


def test_raw_bytes_are_byte_identical(store: Store, project: Path) -> None:
    store.ingest_files("customer_orders", [project / ORDERS])
    lines = {
        orjson.loads(ln)["id"]: ln
        for ln in (project / ORDERS).read_bytes().splitlines()
        if b'"ORD-200' in ln
    }
    assert set(lines) == {"ORD-2001", "ORD-2002", "ORD-2003"}
    for ident, line in lines.items():
        (raw,) = store.raw("customer_orders", ident)
        assert raw.payload == line
    big = store.get(record_srn("order", "harvest", "customer_orders", "ORD-2002"))
    assert big.metadata["tracking"] == 123456789012345678901234567890  # exact, not a float
    nul = store.get(record_srn("order", "harvest", "customer_orders", "ORD-2003"))
    assert nul.metadata["memo"] == "nul\x00inside"


def test_quarantine_keeps_reason_line_and_bytes(store: Store, project: Path, db: Database) -> None:
    store.ingest_files("customer_orders", [project / ORDERS])
    entries = store.quarantine("customer_orders")
    by_line = {e.line: e for e in entries}
    assert sorted(by_line) == [13, 26, 34]
    assert by_line[13].reason.startswith("invalid JSON")
    assert by_line[26].reason == "missing id at path 'id'"
    assert "created_at" in by_line[34].reason and "last tuesday" in by_line[34].reason
    source_lines = (project / ORDERS).read_bytes().splitlines()
    assert by_line[13].payload == source_lines[12]
    assert db.count("raw_payloads", "WHERE error IS NOT NULL") == 3


def test_strict_rolls_everything_back(store: Store, project: Path, db: Database) -> None:
    with pytest.raises(StrictModeError, match=r"line 13: invalid JSON"):
        store.ingest_files("customer_orders", [project / ORDERS], strict=True)
    for table in ("raw_payloads", "quarantine", "records_order", "ingest_runs"):
        assert db.count(table) == 0, table


def test_strict_with_clean_input_commits(store: Store) -> None:
    summary = store.ingest("customer_orders", [order("S-1"), order("S-2")], strict=True)
    assert summary.records_created == 2


def test_simple_source_keeps_no_raw(store: Store, project: Path, db: Database) -> None:
    summary = store.ingest_files("orders_simple", [project / ORDERS])
    assert (summary.raw_stored, summary.raw_duplicates) == (0, 0)
    assert summary.records_created == 43
    assert db.count("raw_payloads") == 0
    # but its bad rows are quarantined with their bytes
    assert len(store.quarantine("orders_simple")) == 3


def test_csv_source_coerces_cells(store: Store, project: Path) -> None:
    summary = store.ingest_files("exchange_rates", [project / "data/samples/exchange_rates.csv"])
    assert (summary.received, summary.records_created, summary.quarantined) == (31, 30, 1)
    record = store.get(
        record_srn("exchange_rate", "harvest", "exchange_rates", "2026-11-01|EUR|USD")
    )
    assert str(record.columns["day"]) == "2026-11-01"
    assert str(record.columns["rate"]) == "1.0811"
    assert record.metadata == {"provider": "ecb"}
    (bad,) = store.quarantine("exchange_rates")
    assert bad.line == 32 and "rate" in bad.reason
    assert bad.payload == b"2026-11-11,EUR,USD,not-a-number,ecb"


def test_json_array_file(store: Store, project: Path) -> None:
    path = project / "upload.json"
    body = (
        b'[\n  {"id": "J-1", "created_at": "2026-01-01T00:00:00Z", "note": "a,]}"},\n'
        b'  {"id": "J-2", "created_at": "2026-01-02"}\n]\n'
    )
    path.write_bytes(body)
    summary = store.ingest_files("orders_json", [path])
    assert summary.records_created == 2
    (raw,) = store.raw("orders_json", "J-1")
    assert raw.payload == b'{"id": "J-1", "created_at": "2026-01-01T00:00:00Z", "note": "a,]}"}'
    assert raw.line == 2


def test_harvest_provenance_one_run_per_ingest(store: Store) -> None:
    first = store.ingest("customer_orders", [order("H-1")])
    second = store.ingest("customer_orders", [order("H-2")])
    assert first.run_srn != second.run_srn
    record = store.get(record_srn("order", "harvest", "customer_orders", "H-1"))
    assert record.source.type == "harvest"
    assert record.source.harvest_run_srn == first.run_srn  # type: ignore[union-attr]
    assert record.source.upstream_source == "customer_orders"  # type: ignore[union-attr]
    assert record.data_source == "customer_orders"
    assert record.extractor_version == store.extractor(store.source("customer_orders")).version


def test_stats(store: Store, project: Path) -> None:
    store.ingest_files("customer_orders", [project / ORDERS])
    store.ingest_files("exchange_rates", [project / "data/samples/exchange_rates.csv"])
    stats = store.stats()
    assert stats["customer_orders"] == {"raw_rows": 46, "records": 43, "quarantined": 3}
    assert stats["exchange_rates"] == {"raw_rows": 0, "records": 30, "quarantined": 1}
    assert stats["orders_simple"] == {"raw_rows": 0, "records": 0, "quarantined": 0}


def test_records_listing_is_keyset_paginated(store: Store, project: Path) -> None:
    store.ingest_files("customer_orders", [project / ORDERS])
    everything = [r.srn for r in store.records("order")]
    ids = [r.source.id for r in store.records("order")]
    first = [r.srn for r in store.records("order", limit=10)]
    rest = [r.srn for r in store.records("order", after=first[-1])]
    assert ids == sorted(ids) and len(everything) == 43
    assert first + rest == everything
