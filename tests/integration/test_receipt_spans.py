"""Receipt spans on every backend (migration 20261205_050000, docs/receipts.md "Spans"):
a file written in order and its re-sends write a receipt row per run of up to 256
payloads, every reader still sees one receipt per arrival, and a span goes with the last
of its payloads (retention, erasure), never before."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from ingestry.domain.clock import utc_now
from ingestry.store import Store
from tests.backends import Database
from tests.integration.rawops_support import ingest_at, open_store, write_config
from tests.integration.receipts_support import RECEIPTS


def order(ident: str) -> bytes:
    return orjson.dumps({"id": ident, "number": f"#{ident}", "created_at": "2026-11-01T10:00:00Z"})


def orders_file(tmp_path: Path, prefix: str, count: int) -> Path:
    """A JSON Lines file of `count` orders, ids `prefix`-000…, one a line, in order."""
    path = tmp_path / "orders.jsonl"
    path.write_bytes(b"".join(order(f"{prefix}-{i:04}") + b"\n" for i in range(count)))
    return path


@pytest.fixture
def store(tmp_path: Path, db: Database) -> Any:
    with open_store(write_config(tmp_path, db)) as opened:
        yield opened


def test_a_file_and_its_resend_write_a_receipt_row_per_span(
    store: Store, db: Database, tmp_path: Path
) -> None:
    path = orders_file(tmp_path, "S", 600)
    store.ingest_files("orders", [path])
    first = db.count("raw_receipts")
    store.ingest_files("orders", [path])
    assert first <= 4 and db.count("raw_receipts") <= 2 * 4  # 600 arrivals each time
    assert db.scalar(f"SELECT count(*) FROM {RECEIPTS} r") == 1200
    (middle,) = store.raw("orders", "S-0300")
    assert (middle.receipts, middle.line, middle.last_line) == (2, 301, 301)
    assert store.replay("orders").records_updated == 0


def test_a_span_goes_with_the_last_of_its_payloads(store: Store, db: Database) -> None:
    ingest_at(store, "orders", [order("OLD")], utc_now() - timedelta(days=200))
    ingest_at(store, "orders", [order("NEW")], utc_now() - timedelta(days=1))
    store.ingest("orders", [order("OLD"), order("NEW")])  # re-sends: one span over both
    assert db.count("raw_receipts", "WHERE span = 2") == 1

    (report,) = store.retention_run()

    assert report.rows_purged == 1 and store.raw("orders", "OLD") == []
    (kept,) = store.raw("orders", "NEW")
    assert kept.receipts == 2  # its own arrival and the re-send's, span and all
    assert db.count("raw_receipts", "WHERE span = 2") == 1

    store.erase(source="orders", source_id="NEW", reason="test", actor="t")

    assert db.count("raw_receipts") == 0  # the span went with its last payload


def test_the_downgrade_expands_spans_into_one_row_per_arrival_in_order(
    store: Store, db: Database, tmp_path: Path
) -> None:
    from ingestry.adapters import migrate

    path = orders_file(tmp_path, "D", 300)
    store.ingest_files("orders", [path])
    store.ingest("orders", [order("D-0007"), order("D-0008"), order("D-0001")])
    store.ingest_files("orders", [path])
    arrivals = "SELECT raw_id, line, batch_id FROM {} ORDER BY id{}"
    before = db.rows(arrivals.format(f"{RECEIPTS} r", ", k"))
    assert len(before) == 603 and db.count("raw_receipts") < 20
    store.close()

    migrate.downgrade(db.engine, "20261205_040000")

    assert db.rows(arrivals.format("raw_receipts", "")) == before
    migrate.upgrade(db.engine)
    assert db.count("raw_receipts", "WHERE span = 1") == 603
