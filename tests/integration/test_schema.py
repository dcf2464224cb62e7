"""Migrations and record-table evolution, on every backend."""

from __future__ import annotations

from pathlib import Path

import pytest

import ingestry
from ingestry import SchemaError
from ingestry.adapters import migrate
from ingestry.domain.records import record_srn
from ingestry.migrations import HEAD
from ingestry.store import Store
from tests.backends import Database

MIGRATIONS = Path(ingestry.__file__).parent / "migrations" / "versions"


def test_head_constant_matches_alembic() -> None:
    assert migrate.head() == HEAD


def test_migration_file_names_are_timestamped() -> None:
    names = [p.name for p in MIGRATIONS.glob("*.py")]
    assert names
    for name in names:
        stamp, _, _ = name.partition("_")
        assert len(stamp) == 8 and stamp.isdigit(), name
        assert name[9:15].isdigit() and name[15] == "_", name


def test_upgrade_downgrade_upgrade(db: Database) -> None:
    migrate.upgrade(db.engine)
    assert migrate.current(db.engine) == HEAD
    migrate.downgrade(db.engine, "base")
    assert migrate.current(db.engine) is None
    assert db.tables() == set()
    migrate.upgrade(db.engine)
    assert migrate.current(db.engine) == HEAD


def test_an_existing_store_upgrades_from_the_previous_head(db: Database) -> None:
    """20261202_130000 changes no table (record tables stay the config's), 140000 adds
    `raw_receipts` (20261203_070000 `raw_receipt_batches`), 170000 `node_identity`, 180000
    the HTTP pulls' pages and cursors, 190000 `record_changes` and `fork_cursors`, 200000
    `erasure_audit`, 20261203_010000 `repeated_ids`; a store at the revision before them
    upgrades, and comes back down, without a trace."""
    migrate.upgrade(db.engine, "20261202_120000")
    before = db.tables()
    migrate.upgrade(db.engine)
    assert migrate.current(db.engine) == HEAD
    assert db.tables() == before | {"raw_receipts", "node_identity", "erasure_audit"} | {
        "raw_receipt_batches",
        "harvest_pages",
        "harvest_cursors",
        "record_changes",
        "fork_cursors",
        "repeated_ids",
        "record_deletions",
    }
    migrate.downgrade(db.engine, "20261202_120000")
    assert migrate.current(db.engine) == "20261202_120000"
    assert db.tables() == before


def test_downgrade_to_base_leaves_no_table_and_the_store_comes_back(
    config_path: Path, db: Database
) -> None:
    """Record tables are made at run time from the config; the migrations own their
    removal, so `db downgrade base` leaves the database empty (no `records_*`, no
    Alembic table), and the next open migrates it and makes them again."""
    payload = {"id": "D-1", "created_at": "2026-01-01T00:00:00Z"}
    with ingestry.open(config_path) as store:
        store.ingest("customer_orders", [payload])
        assert {"records_order", "records_exchange_rate"} <= db.tables()
        before, after = store.schema_downgrade("base")
    assert (before, after) == (HEAD, None)
    assert db.tables() == set()
    with ingestry.open(config_path) as store:
        summary = store.ingest("customer_orders", [payload])
        assert summary.records_created == 1
        assert store.get(record_srn("order", "harvest", "customer_orders", "D-1")) is not None
    assert db.scalar("SELECT version_num FROM alembic_version") == HEAD


def test_ingest_upgrades_an_empty_database(store: Store, db: Database) -> None:
    assert db.untouched()
    store.ingest("customer_orders", [{"id": "E-1", "created_at": "2026-01-01T00:00:00Z"}])
    assert db.scalar("SELECT version_num FROM alembic_version") == HEAD


def test_outdated_database_is_refused(config_path: Path, db: Database) -> None:
    if db.sqlite_file is not None:
        db.sqlite_file.parent.mkdir(parents=True, exist_ok=True)
    db.execute("CREATE TABLE alembic_version (version_num TEXT)")
    db.execute("INSERT INTO alembic_version VALUES ('19990101_000000')")
    with ingestry.open(config_path) as store, pytest.raises(SchemaError, match="db upgrade"):
        store.ingest("customer_orders", [{"id": "E-1"}])


def test_added_column_is_added_in_place(config_path: Path, db: Database) -> None:
    with ingestry.open(config_path) as store:
        store.ingest(
            "customer_orders", [{"id": "C-1", "created_at": "2026-01-01", "currency": "EUR"}]
        )
    text = config_path.read_text().replace(
        "      paid:         {path: financial.paid, type: boolean}\n",
        "      paid:         {path: financial.paid, type: boolean}\n"
        "      currency:     {path: currency, type: text, index: true}\n",
    )
    config_path.write_text(text)
    with ingestry.open(config_path) as store:
        record = store.get(record_srn("order", "harvest", "customer_orders", "C-1"))
        assert record.columns["currency"] is None  # filled on replay, not guessed
        store.ingest(
            "customer_orders", [{"id": "C-2", "created_at": "2026-01-01", "currency": "USD"}]
        )
        assert (
            store.get(record_srn("order", "harvest", "customer_orders", "C-2")).columns["currency"]
            == "USD"
        )
    assert "ix_records_order_currency" in db.indexes("records_order")


def test_the_changes_feed_order_index_is_postgresql_only(db: Database) -> None:
    """Migration 20261204_030000: SQLite's feed walks the rowid (xid is always 0 there),
    so a SQLite store drops `ix_record_changes_order`, and gets it back on downgrade;
    PostgreSQL keeps it throughout."""
    migrate.upgrade(db.engine)
    on_postgres = db.kind == "postgres"
    assert ("ix_record_changes_order" in db.indexes("record_changes")) == on_postgres
    migrate.downgrade(db.engine, "20261204_020000")  # a store made before the change
    assert "ix_record_changes_order" in db.indexes("record_changes")
    migrate.upgrade(db.engine)
    assert ("ix_record_changes_order" in db.indexes("record_changes")) == on_postgres
    assert "ix_record_changes_convention" in db.indexes("record_changes")
