"""Exact numbers on every backend (issue 13, items 3 and 5; issue 14, item 2)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from ingestry.domain.records import record_srn
from ingestry.store import Store
from tests.backends import Database
from tests.integration.test_ingest import order

LONG = "12345678901234567890.123456789"


def test_a_decimal_from_a_json_number_is_stored_exactly(store: Store) -> None:
    """Before: 1.2345678901234567E+19 on SQLite, 12345678901234567000 on PostgreSQL."""
    line = (  # bytes: the number must arrive as JSON text, not a Python float
        b'{"id": "D-1", "created_at": "2026-11-01T10:00:00Z", "total_price": '
        + LONG.encode()
        + b"}"
    )
    store.ingest("customer_orders", [line])
    record = store.get(record_srn("order", "harvest", "customer_orders", "D-1"))
    assert record.columns["total"] == Decimal(LONG)
    assert format(record.columns["total"], "f") == LONG


def test_a_value_the_backend_cannot_hold_is_quarantined_not_a_failed_batch(
    store: Store, db: Database
) -> None:
    """Issue 14, item 2: one out-of-range decimal among 1,000 good rows failed the
    whole batch on PostgreSQL (22003), nothing stored, not even raw."""
    rows: list[object] = [order(f"G-{n}") for n in range(1000)]
    rows.insert(500, order("BAD-1", total_price="1e999999999"))
    bad = order("BAD-2", line_items=[{"quantity": 99999999999999999999}])
    rows.insert(700, json.dumps(bad).encode())
    summary = store.ingest("customer_orders", rows)
    assert (summary.records_created, summary.quarantined, summary.raw_stored) == (1000, 2, 1002)
    reasons = sorted(e.reason for e in store.quarantine("customer_orders"))
    assert reasons == [
        "column 'item_count' (path line_items.0.quantity): integer 99999999999999999999"
        " is out of the 64-bit range",
        "column 'total' (path total_price): decimal '1e999999999' is out of range: at most"
        " 131072 digits before the point and 16383 after",
    ]
    assert db.count("records_order") == 1000


def test_export_writes_a_record_holding_a_30_digit_integer(store: Store) -> None:
    """Issue 13, item 5: `TypeError: Integer exceeds 64-bit range` before."""
    big = 123456789012345678901234567890
    store.ingest("customer_orders", [order("E-1", note=big, nested={"n": -big})])
    summary = store.export(source="customer_orders")
    [line] = Path(summary.path).read_bytes().splitlines()
    exported = json.loads(line)
    assert exported["metadata"]["note"] == big and exported["metadata"]["nested"]["n"] == -big
    assert b"123456789012345678901234567890" in line
