"""Retention on every backend: what expires goes, what is kept is kept, all audited."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ingestry.domain.clock import utc_now
from ingestry.services.retention import RetentionService
from ingestry.store import Store
from tests.backends import Database
from tests.integration.rawops_support import ingest_at, open_store, write_config


def order(ident: str) -> bytes:
    return (
        b'{"id": "' + ident.encode() + b'", "number": "#' + ident.encode() + b'",'
        b' "created_at": "2026-11-01T10:00:00Z", "qty": 1}'
    )


OLD = [order(f"O{n}") for n in range(1, 6)]
HELD, UNEXTRACTED = order("OH"), order("OU")
BAD = b'{"id": "OQ", "created_at": '


def remaining(db: Database) -> set[bytes]:
    return {bytes(r[0]) for r in db.rows("SELECT payload FROM raw_payloads")}


@pytest.fixture
def store(tmp_path: Path, db: Database) -> Any:
    with open_store(write_config(tmp_path, db)) as opened:
        yield opened


def seed(store: Store, db: Database) -> None:
    """Expired: five plain rows, a held one, an unextracted one, a quarantined one.
    Recent: two rows. `orders` keeps raw rows 90 days."""
    old = utc_now() - timedelta(days=200)
    ingest_at(store, "orders", [*OLD, HELD, UNEXTRACTED, BAD], old)
    ingest_at(store, "orders", [order("R1"), order("R2")], utc_now() - timedelta(days=1))
    db.execute("UPDATE raw_payloads SET processed_at = NULL WHERE source_id = 'OU'")
    store.raw_hold("orders", source_id="OH", reason="litigation")


def test_retention_purges_exactly_the_purgeable_expired_rows(store: Store, db: Database) -> None:
    seed(store, db)
    records = db.count("records_order")

    (dry,) = store.retention_run(dry_run=True)
    assert (dry.expired, dry.rows_purged, dry.bytes_freed) == (8, 5, sum(map(len, OLD)))
    assert (dry.kept_unextracted, dry.kept_quarantined, dry.kept_held) == (1, 1, 1)
    assert db.count("raw_payloads") == 10 and db.count("retention_audit") == 0

    (report,) = store.retention_run(actor="nightly")
    assert (report.rows_purged, report.bytes_freed) == (5, sum(map(len, OLD)))
    assert (report.kept_unextracted, report.kept_quarantined, report.kept_held) == (1, 1, 1)
    assert remaining(db) == {HELD, UNEXTRACTED, BAD, order("R1"), order("R2")}
    assert db.count("records_order") == records  # records stay
    (audit,) = store.retention_audit("orders")
    assert (audit.rows_purged, audit.bytes_freed, audit.actor) == (5, report.bytes_freed, "nightly")
    assert (audit.kept_unextracted, audit.kept_quarantined, audit.kept_held) == (1, 1, 1)
    assert audit.cutoff == report.cutoff
    if db.kind == "postgres":  # their dedupe keys went with them
        assert db.count("raw_keys") == 5

    again = store.retention_run()
    assert again[0].rows_purged == 0 and len(store.retention_audit("orders")) == 2


def test_a_purged_payload_received_again_is_stored_again(store: Store, db: Database) -> None:
    seed(store, db)
    store.retention_run()
    summary = store.ingest("orders", [OLD[0]])
    assert (summary.raw_stored, summary.raw_duplicates, summary.records_unchanged) == (1, 0, 1)
    assert store.ingest("orders", [OLD[0]]).raw_duplicates == 1  # dedupe works again


def test_a_source_wide_hold_keeps_everything_until_released(store: Store, db: Database) -> None:
    seed(store, db)
    hold = store.raw_hold("orders", reason="audit 2026")
    (report,) = store.retention_run()
    assert (report.rows_purged, report.kept_held) == (0, 6)
    assert db.count("raw_payloads") == 10
    store.raw_release(hold.id)
    assert store.retention_run()[0].rows_purged == 5


def test_an_expired_hold_keeps_nothing(store: Store, db: Database) -> None:
    seed(store, db)
    store.raw_hold("orders", until=utc_now() - timedelta(hours=1))
    assert [h.id for h in store.raw_holds("orders", active=True)] == [1]  # only the OH hold
    assert store.retention_run()[0].rows_purged == 5


def test_purges_in_bounded_batches(store: Store, db: Database) -> None:
    seed(store, db)
    (report,) = RetentionService(store.storage, batch_rows=2).run(
        list(store.settings.sources.values())
    )
    assert report.rows_purged == 5
    assert remaining(db) == {HELD, UNEXTRACTED, BAD, order("R1"), order("R2")}
