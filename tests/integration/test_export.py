"""`Store.export` / `export_raw` on every backend (issue 17 item 2): exact numbers in
every format, Parquet types, filters, names, atomic files, raw bundles byte-exact."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestry.bootstrap import export_files
from ingestry.domain.records import Record, record_srn
from ingestry.services.export import record_line
from ingestry.services.export_run import RecordExport, export_records, stamp
from ingestry.store import Store
from tests.integration.test_ingest import order

LONG = "12345678901234567890.123456789"
BIG = 123456789012345678901234567890
NAME = "Zoë ✓ 東京"


def _ingest(store: Store) -> None:
    rows: list[object] = [
        order("X-1", total_price=LONG, note=BIG, nested={"n": -BIG}, order_number=NAME),
        order("X-2", total_price="-0", financial={"paid": True}, zero=-0.0),
        order("X-3", total_price="0.5", created_at="2026-11-03T00:00:00Z"),
    ]
    rows[0] = json.dumps(rows[0], ensure_ascii=False).replace(f'"{LONG}"', LONG).encode()
    summary = store.ingest("customer_orders", rows)
    assert summary.records_created == 3, summary


def _records(store: Store, **filters: object) -> list[Record]:
    return list(store.records("order", **filters))  # type: ignore[arg-type]


def test_jsonl_is_the_records_list_shape_byte_for_byte(store: Store, tmp_path: Path) -> None:
    _ingest(store)
    summary = store.export("customer_orders", format="jsonl", out=tmp_path)
    [path] = summary.files
    assert summary.records == 3 and Path(path).parent == tmp_path
    expected = b"".join(record_line(r) for r in _records(store))
    assert Path(path).read_bytes() == expected
    assert str(BIG).encode() in expected and NAME.encode() in expected


def test_csv_keeps_exact_decimals_big_integers_and_non_ascii(store: Store, tmp_path: Path) -> None:
    _ingest(store)
    summary = store.export("customer_orders", format="csv", out=tmp_path)
    rows = list(csv.DictReader(io.StringIO(Path(summary.files[0]).read_text("utf-8"))))
    by_id = {json.loads(r["source"])["id"]: r for r in rows}
    assert by_id["X-1"]["total"] == LONG and by_id["X-1"]["order_number"] == NAME
    assert json.loads(by_id["X-1"]["metadata"])["note"] == BIG  # json reads ints exactly
    assert json.loads(by_id["X-1"]["metadata"])["nested"] == {"n": -BIG}
    assert by_id["X-2"]["total"] == "0" and by_id["X-2"]["paid"] == "true"
    assert by_id["X-3"]["paid"] == ""  # null
    assert list(rows[0])[:3] == ["srn", "convention", "version"]


def test_parquet_has_typed_columns_and_exact_values(store: Store, tmp_path: Path) -> None:
    _ingest(store)
    summary = store.export("customer_orders", format="parquet", out=tmp_path)
    table = pq.read_table(summary.files[0])
    schema = table.schema
    assert schema.field("total").type == pa.decimal128(29, 9)  # the largest value seen
    assert schema.field("created_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("published_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("item_count").type == pa.int64()
    assert schema.field("paid").type == pa.bool_()
    assert schema.field("metadata").type == pa.string()
    rows = {json.loads(r["source"])["id"]: r for r in table.to_pylist()}
    assert rows["X-1"]["total"] == Decimal(LONG)
    assert format(rows["X-1"]["total"], "f") == LONG
    assert rows["X-1"]["order_number"] == NAME
    metadata = json.loads(rows["X-1"]["metadata"])
    assert metadata["note"] == BIG and metadata["nested"]["n"] == -BIG
    assert rows["X-2"]["total"] == Decimal(0) and rows["X-2"]["paid"] is True
    assert [r["srn"] for r in table.to_pylist()] == [r.srn for r in _records(store)]


def test_a_date_column_is_date32(store: Store, project: Path, tmp_path: Path) -> None:
    store.ingest_files("exchange_rates", [project / "data" / "samples" / "exchange_rates.csv"])
    summary = store.export("exchange_rates", format="parquet", out=tmp_path)
    table = pq.read_table(summary.files[0])
    assert table.schema.field("day").type == pa.date32()
    assert table.num_rows == summary.records > 0


def test_filters_apply_like_records_list(store: Store, tmp_path: Path) -> None:
    _ingest(store)
    assert store.ingest("orders_simple", [order("J-1")]).records_created == 1
    every = store.export(convention="order", format="parquet", out=tmp_path / "all")
    assert every.records == 4  # the convention: both sources
    mine = store.export("customer_orders", format="parquet", out=tmp_path / "mine")
    assert mine.records == 3  # the source alone
    since = "2026-11-02"
    got = store.export("customer_orders", format="jsonl", out=tmp_path / "f", since=since)
    wanted = [r.srn for r in _records(store, since=since)]
    lines = Path(got.files[0]).read_bytes().splitlines()
    assert [orjson.loads(ln)["srn"] for ln in lines] == wanted
    assert wanted == [record_srn("order", "harvest", "customer_orders", "X-3")]
    where = store.export(
        "customer_orders", format="csv", out=tmp_path / "w", where=["email=x-1@example.com"]
    )
    assert where.records == 1


def test_the_file_is_named_by_source_entity_and_time_range(store: Store, tmp_path: Path) -> None:
    _ingest(store)
    records = _records(store)
    start = stamp(min(r.published_at for r in records))
    end = stamp(max(r.published_at for r in records))
    summary = store.export("customer_orders", format="parquet", out=tmp_path)
    assert Path(summary.files[0]).name == f"customer_orders_order_{start}_{end}.parquet"
    empty = store.export(convention="order", format="csv", out=tmp_path, where=["email=none"])
    assert Path(empty.files[0]).name == "order_order_empty_empty.csv"
    assert empty.records == 0 and Path(empty.files[0]).read_text().startswith("srn,")


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_an_export_that_fails_midway_leaves_no_file(store: Store, tmp_path: Path, fmt: str) -> None:
    _ingest(store)
    conv = store.settings.convention("order")

    reads: list[int] = []

    def failing(names: Sequence[str]) -> Iterator[list[list[Any]]]:
        reads.append(1)
        pages = store.storage.scan_columns(conv, names, page=2)
        yield next(iter(pages))  # one page written, then the error
        if fmt != "parquet" or len(reads) > 1:  # Parquet reads decimals' shape first
            raise RuntimeError("connection lost")
        yield from pages

    out = tmp_path / "out"
    job = RecordExport(conv, "customer_orders", "customer_orders", fmt, out, failing)
    with pytest.raises(RuntimeError, match="connection lost"):
        export_records(job, export_files())
    assert list(out.iterdir()) == []  # no file, no temporary file


def test_a_raw_bundle_keeps_every_byte_and_every_receipt(
    store: Store, project: Path, tmp_path: Path
) -> None:
    sample = project / "data" / "samples" / "orders.jsonl"
    first = store.ingest_files("customer_orders", [sample])
    store.ingest_files("customer_orders", [sample])  # every payload: a second receipt
    tmp_path = tmp_path / "bundle"
    summary = store.export_raw("customer_orders", out=tmp_path)
    assert summary.payloads == first.raw_stored and summary.receipts == 2 * first.received
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["customer_orders_raw.jsonl", "customer_orders_raw_headers.jsonl",
                     "manifest.json"]  # fmt: skip
    manifest = json.loads((tmp_path / "manifest.json").read_bytes())
    assert manifest["format"] == "ingestry-raw-bundle" and manifest["format_version"] == 1
    assert (manifest["payloads"], manifest["receipts"]) == (summary.payloads, summary.receipts)
    for entry in manifest["files"]:
        data = (tmp_path / entry["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert len(data) == entry["size"] and data.count(b"\n") == entry["lines"]
    text = (tmp_path / "customer_orders_raw.jsonl").read_bytes()
    payloads = [json.loads(line) for line in text.splitlines()]
    for doc in payloads:
        data = base64.b64decode(doc["bytes"])
        assert hashlib.sha256(data).hexdigest() == doc["sha256"] and len(data) == doc["size"]
        stored = store.raw("customer_orders", doc["source_id"])
        assert data in [p.payload for p in stored]
        assert len(doc["receipts"]) == 2
        assert doc["receipts"][0]["received_at"] <= doc["receipts"][1]["received_at"]
    assert any(doc["error"] for doc in payloads)  # failed payloads are exported too
    total = sum(len(base64.b64decode(d["bytes"])) for d in payloads)
    assert manifest["bytes"] == summary.bytes == total


def test_a_raw_export_of_a_simple_source_is_refused(store: Store, tmp_path: Path) -> None:
    from ingestry.services.replay import NotRawSourceError

    with pytest.raises(NotRawSourceError, match="keeps no raw payloads"):
        store.export_raw("orders_simple", out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_api_export_job_runs_the_same_service(store: Store, project: Path) -> None:
    import threading

    from ingestry.entrypoints.worker.handlers import job_handlers
    from ingestry.services.worker import JobWorker

    _ingest(store)
    params = {"source": "customer_orders", "format": "parquet", "where": ["total>1"]}
    parquet, _ = store.jobs().submit("export", params)
    bundle, _ = store.jobs().submit("export", {"source": "customer_orders", "raw": True})
    run = JobWorker(store.control.jobs, job_handlers(store), worker_id="w", lease_seconds=30)
    assert run.drain(threading.Event()) == 2
    done = store.jobs().get(parquet.id)
    assert done.status == "succeeded" and done.result is not None, done
    [path] = done.result["files"]
    assert Path(path).parent == project / "data" / "processed"
    assert pq.read_table(path).num_rows == done.result["records"] == 1  # X-1 alone
    raw = store.jobs().get(bundle.id)
    assert raw.result is not None and raw.result["payloads"] == 3
    assert (
        Path(raw.result["files"][-1])
        == project / "data/processed/customer_orders_raw/manifest.json"
    )


def test_decimal_shapes_in_the_database_match_the_records(store: Store) -> None:
    """The aggregate the Parquet export types decimals by, against the records' values."""
    from ingestry.services.export_cells import widen

    _ingest(store)
    store.ingest("customer_orders", [order("X-4", total_price="-98765.4321")])
    conv = store.settings.convention("order")
    expected: dict[str, tuple[int, int]] = {}
    for record in _records(store):
        widen(expected, ["total"], record)
    assert store.storage.decimal_shapes(conv, ["total"]) == expected == {"total": (20, 9)}


RATES_RAW = """\
  rates_raw:
    strategy: raw
    convention: exchange_rate
    rationale: Test - a raw CSV source
    format: csv
    id: [date, base, quote]
"""


def test_a_raw_csv_bundle_carries_its_header_once(project: Path, tmp_path: Path) -> None:
    import ingestry

    config = project / "ingestry.yaml"
    config.write_text(config.read_text(encoding="utf-8") + RATES_RAW, encoding="utf-8")
    sample = project / "data" / "samples" / "exchange_rates.csv"
    out = tmp_path / "bundle"
    with ingestry.open(config) as store:
        ingested = store.ingest_files("rates_raw", [sample])
        summary = store.export_raw("rates_raw", out=out)
    assert summary.payloads == ingested.raw_stored > 1 and summary.headers == 1
    [header] = [
        json.loads(x) for x in (out / "rates_raw_raw_headers.jsonl").read_bytes().splitlines()
    ]
    head = base64.b64decode(header["bytes"])
    assert sample.read_bytes().startswith(head.rstrip(b"\r\n"))
    assert hashlib.sha256(head).hexdigest() == header["sha256"]
    docs = [json.loads(x) for x in (out / "rates_raw_raw.jsonl").read_bytes().splitlines()]
    assert {d["header_sha256"] for d in docs} == {header["sha256"]}
    rows = [base64.b64decode(d["bytes"]) for d in docs]
    assert all(row.rstrip(b"\r\n") in sample.read_bytes() for row in rows)


@pytest.mark.parametrize("backend", ["sqlite"])  # SQLite's plan: run there only, no skip
def test_a_sources_export_on_sqlite_walks_the_identity_index(
    store: Store, tmp_path: Path, backend: str
) -> None:
    """An export of one source reads in identity order without sorting: with the data
    source's index, SQLite sorted every kept row in a temporary B-tree held in memory
    (`temp_store = MEMORY`): 1.3 GB of RSS for 1M records. PostgreSQL's pages keep off
    the sort their own way (`adapters/postgres/pagescan.py`)."""
    _ingest(store)
    raw = store.storage._conn  # type: ignore[attr-defined]
    seen: list[str] = []
    raw.set_trace_callback(seen.append)
    try:
        store.export("customer_orders", format="parquet", out=tmp_path)
    finally:
        raw.set_trace_callback(None)
    scans = [s for s in seen if s.startswith("SELECT") and "ORDER BY source_type" in s]
    assert scans, seen
    for sql in scans:
        plan = str(raw.execute("EXPLAIN QUERY PLAN " + sql).fetchall())
        assert "TEMP B-TREE" not in plan and "sqlite_autoindex" in plan, plan
