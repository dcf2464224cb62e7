"""Quarantine show / replay / discard on every backend, for raw and simple sources."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from ingestry.domain.errors import RecordNotFoundError
from ingestry.services.quarantine import QuarantineDecisionError
from tests.backends import Database
from tests.integration.rawops_support import AFTER, open_store, write_config

GOOD = b'{"id": "G1", "number": "#1", "created_at": "2026-11-01T10:00:00Z", "qty": 1}'
HALF = b'{"id": "H1", "number": "#2", "created_at": "2026-11-01T10:00:00Z", "qty": "2.5"}'
BROKEN = b'{"id": "X1", "created_at": '


def test_simple_source_quarantine_keeps_bytes_until_released(tmp_path: Path, db: Database) -> None:
    path = write_config(tmp_path, db)
    with open_store(path) as store:
        summary = store.ingest("listings", [GOOD, HALF, BROKEN])
        assert (summary.records_created, summary.quarantined) == (1, 2)
        entries = {e.payload: e for e in store.quarantine("listings")}
        assert set(entries) == {HALF, BROKEN}  # the exact bytes, kept while quarantined
        detail = store.quarantine_entry(entries[HALF].id)
        assert detail.raw_payload is None  # a simple source has no raw rows
        assert (detail.entry.line, detail.entry.origin) == (2, "<api>")
        assert "expected integer" in detail.entry.reason
    write_config(tmp_path, db, AFTER)
    with open_store(path) as store:
        result = store.quarantine_replay("listings")
        assert (result.scanned, result.released_from_quarantine, result.quarantined) == (2, 1, 1)
        assert result.records_created == 1
        record = next(r for r in store.records("order") if r.source.id == "H1")
        assert record.columns["qty"] == Decimal("2.5")
        assert record.data_source == "listings"
        (still,) = store.quarantine("listings")
        assert still.payload == BROKEN
        released = store.quarantine_entry(entries[HALF].id)
        assert released.entry.status == "released"
        assert released.entry.payload == b""  # dropped once out of quarantine
        assert released.resolved_at is not None and released.resolved_by == "replay"
        again = store.quarantine_replay("listings")
        assert (again.scanned, again.released_from_quarantine) == (1, 0)


def test_simple_csv_quarantine_replays_with_its_header(tmp_path: Path, db: Database) -> None:
    path = write_config(tmp_path, db)
    data = tmp_path / "listings.csv"
    data.write_bytes(b"id,number,created_at,qty\nL1,#1,2026-11-01,1\nL2,#2,2026-11-01,2.5\n")
    with open_store(path) as store:
        assert store.ingest_files("listings_csv", [data]).quarantined == 1
    write_config(tmp_path, db, AFTER)
    with open_store(path) as store:
        result = store.quarantine_replay("listings_csv")
        assert result.released_from_quarantine == 1
        record = next(r for r in store.records("order") if r.source.id == "L2")
        assert record.columns["qty"] == Decimal("2.5")


def test_raw_source_quarantine_replay_releases_by_id(tmp_path: Path, db: Database) -> None:
    path = write_config(tmp_path, db)
    other = HALF.replace(b"H1", b"H2")
    with open_store(path) as store:
        store.ingest("orders", [GOOD, HALF, other])
        ids = sorted(e.id for e in store.quarantine("orders"))
    write_config(tmp_path, db, AFTER)
    with open_store(path) as store:
        result = store.quarantine_replay("orders", [ids[0]])
        assert (result.scanned, result.released_from_quarantine) == (1, 1)
        assert [e.id for e in store.quarantine("orders")] == [ids[1]]
        assert [p.source_id for p in store.raw("orders", "H1")] == ["H1"]
        assert db.count("raw_payloads", "WHERE error IS NOT NULL") == 1


def test_discard_records_who_why_when_and_drops_the_bytes(tmp_path: Path, db: Database) -> None:
    path = write_config(tmp_path, db)
    with open_store(path) as store:
        store.ingest("orders", [GOOD, BROKEN])
        store.ingest("listings", [BROKEN])
        (raw_entry,) = store.quarantine("orders")
        (simple_entry,) = store.quarantine("listings")
        with pytest.raises(QuarantineDecisionError, match="needs a reason"):
            store.quarantine_discard([raw_entry.id], reason=" ")
        done = store.quarantine_discard(
            [raw_entry.id, simple_entry.id], reason="truncated upload", actor="ana"
        )
        assert done == sorted([raw_entry.id, simple_entry.id])
        for entry_id in done:
            detail = store.quarantine_entry(entry_id)
            assert detail.entry.status == "discarded"
            assert (detail.resolution, detail.resolved_by) == ("truncated upload", "ana")
            assert detail.resolved_at is not None
            assert detail.entry.payload == b""
        # a raw source still has the bytes in its raw row
        assert store.quarantine_entry(raw_entry.id).raw_payload == BROKEN
        assert store.quarantine_entry(simple_entry.id).raw_payload is None
        # all or nothing: a closed or unknown id discards none
        store.ingest("listings", [BROKEN + b" "])
        (fresh,) = store.quarantine("listings")
        with pytest.raises(QuarantineDecisionError, match="discarded already"):
            store.quarantine_discard([fresh.id, simple_entry.id], reason="again")
        with pytest.raises(RecordNotFoundError):
            store.quarantine_discard([fresh.id, 999_999], reason="again")
        assert store.quarantine_entry(fresh.id).entry.status == "open"


def test_bad_bytes_received_again_reopen_with_their_bytes(tmp_path: Path, db: Database) -> None:
    with open_store(write_config(tmp_path, db)) as store:
        store.ingest("listings", [BROKEN])
        (entry,) = store.quarantine("listings")
        store.quarantine_discard([entry.id], reason="noise")
        store.ingest("listings", [BROKEN])
        (reopened,) = store.quarantine("listings")
        assert reopened.id == entry.id
        assert reopened.payload == BROKEN
        assert store.quarantine_entry(entry.id).resolved_by is None
