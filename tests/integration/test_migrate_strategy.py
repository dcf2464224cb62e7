"""simple → raw on every backend: records become synthesized raw rows; never back."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestry.extract.jsonio import dumps
from ingestry.services.migrate import StrategyMigrationError
from tests.backends import Database
from tests.integration.rawops_support import open_store, write_config

LISTINGS = [
    {"id": "L1", "number": "#1", "created_at": "2026-11-01T10:00:00+02:00", "qty": 3,
     "tags": ["a", "b"], "big": 123456789012345678901234567890},
    {"id": "L2", "number": "#2", "created_at": 1762000000, "extra": {"k": "\u0000"}},
    {"id": "L3", "number": "#3", "created_at": "2026-11-03T10:00:00Z", "qty": "oops"},
]  # fmt: skip


def test_simple_source_becomes_raw(tmp_path: Path, db: Database) -> None:
    path = write_config(tmp_path, db)
    with open_store(path) as store:
        first = store.ingest("listings", [dumps(p) for p in LISTINGS])
        assert (first.records_created, first.quarantined) == (2, 1)
        summary = store.migrate_source("listings", "raw")
        assert (summary.records, summary.raw_synthesized, summary.failed) == (2, 2, 0)
        assert summary.config_written
        rows = db.rows(
            "SELECT source_id, synthesized, received_at, processed_at, origin, error"
            " FROM raw_payloads WHERE source = 'listings' ORDER BY source_id"
        )
        assert [r[0] for r in rows] == ["L1", "L2"]
        for _, synthesized, received, processed, origin, error in rows:
            assert synthesized and error is None and origin == "strategy-migration"
            assert received == processed  # both the migration time
        assert str(rows[0][2])[:10] == summary.migrated_at[:10]
    text = path.read_text(encoding="utf-8")
    assert "  listings:\n    strategy: raw     # re-fetchable\n" in text  # comment kept
    with open_store(path) as store:
        assert store.source("listings").is_raw
        # the synthesized payloads extract back to the very same records
        replay = store.replay("listings")
        assert (replay.scanned, replay.records_unchanged, replay.records_updated) == (2, 2, 0)
        assert [r.version for r in store.records("order")] == [1, 1]
        # the entry quarantined while simple is still there, and replays on its own bytes
        assert store.quarantine_replay("listings").scanned == 1
        with pytest.raises(StrategyMigrationError, match="already raw"):
            store.migrate_source("listings", "raw")


def test_raw_source_is_never_demoted(tmp_path: Path, db: Database) -> None:
    path = write_config(tmp_path, db)
    before = path.read_bytes()
    with open_store(path) as store:
        store.ingest("orders", [{"id": "A", "created_at": "2026-11-01T10:00:00Z"}])
        with pytest.raises(StrategyMigrationError, match="raw data is never demoted"):
            store.migrate_source("orders", "simple")
    assert path.read_bytes() == before
    assert db.count("raw_payloads") == 1
