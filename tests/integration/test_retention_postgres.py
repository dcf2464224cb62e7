"""Retention on PostgreSQL: a month's partition is dropped whole when it can be."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingestry.store import Store
from tests.backends import Database
from tests.integration.rawops_support import ingest_at
from tests.integration.test_retention import order, remaining, store

pytestmark = pytest.mark.postgres

__all__ = ["store"]


@pytest.fixture
def backend() -> str:
    return "postgres"


def test_postgres_drops_whole_expired_partitions(store: Store, db: Database) -> None:
    clean = datetime(2025, 3, 10, tzinfo=UTC)  # every row purgeable: dropped whole
    mixed = datetime(2025, 4, 10, tzinfo=UTC)  # one held row: rows deleted one by one
    ingest_at(store, "orders", [order(f"M{n}") for n in range(4)], clean)
    ingest_at(store, "orders", [order(f"N{n}") for n in range(3)], mixed)
    store.raw_hold("orders", source_id="N0")
    (report,) = store.retention_run()
    assert (report.rows_purged, report.partitions_dropped) == (6, 1)
    assert db.scalar("SELECT to_regclass('raw_payloads_y2025m03')") is None
    assert db.scalar("SELECT to_regclass('raw_payloads_y2025m04')") is not None
    assert db.rows("SELECT source_id FROM raw_keys") == [("N0",)]
    assert remaining(db) == {order("N0")}
    (audit,) = store.retention_audit()
    assert (audit.rows_purged, audit.partitions_dropped, audit.kept_held) == (6, 1, 1)
    # the month is gone, and a payload of it received again is simply new
    assert store.ingest("orders", [order("M0")]).raw_stored == 1


def test_a_partition_shared_with_a_source_kept_forever_stays(store: Store, db: Database) -> None:
    month = datetime(2025, 3, 10, tzinfo=UTC)
    ingest_at(store, "orders", [order("M1"), order("M2")], month)
    ingest_at(store, "orders_csv", [order("K1")], month)  # a source kept forever
    (report,) = store.retention_run()
    assert (report.rows_purged, report.partitions_dropped) == (2, 0)
    assert db.scalar("SELECT to_regclass('raw_payloads_y2025m03')") is not None
    assert db.rows("SELECT source, source_id FROM raw_keys") == [("orders_csv", "K1")]
