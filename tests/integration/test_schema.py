"""Migrations and record-table evolution, on every backend."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

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
    } | ({"outbox_cursor"} if db.kind == "sqlite" else set())  # SQLite's intake (20261206)
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


def _index_sql(db: Database, name: str) -> str:
    """An index's definition as the database keeps it ("" when there is none)."""
    if db.kind == "sqlite":
        sql = "SELECT coalesce(sql, '') FROM sqlite_master WHERE type = 'index' AND name = :n"
    else:
        sql = (
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname = :n"
        )
    with db.engine.connect() as conn:
        found = conn.execute(sa.text(sql), {"n": name}).scalar()
    return str(found or "")


def test_a_declared_index_is_on_the_sort_key_and_an_old_one_is_remade(
    config_path: Path, db: Database
) -> None:
    """Queries compare and sort text bytewise on PostgreSQL and decimals as REAL on
    SQLite (docs/query.md); an index on the bare column serves neither. A store made
    before (its indexes on the bare columns) gets them remade when it is opened."""
    config_path.write_text(
        config_path.read_text().replace(
            "      total:        {path: total_price, type: decimal}\n",
            "      total:        {path: total_price, type: decimal, index: true}\n",
        )
    )
    with ingestry.open(config_path) as store:
        store.ingest("customer_orders", [{"id": "C-1", "created_at": "2026-01-01"}])
    expect = ('COLLATE "C"', "email") if db.kind == "postgres" else ("CAST(", "total")
    marker, column = expect
    assert marker in _index_sql(db, f"ix_records_order_{column}")
    migrate.downgrade(db.engine, "20261204_040000")  # as the code before made it
    assert marker not in _index_sql(db, f"ix_records_order_{column}")
    assert _index_sql(db, f"ix_records_order_{column}")
    migrate.upgrade(db.engine)  # `ingestry db upgrade`: 20261204_050000
    with ingestry.open(config_path) as store:
        assert store.count("order") == 1
        assert [r.source.id for r in store.records("order", sort=column)] == ["C-1"]
    assert marker in _index_sql(db, f"ix_records_order_{column}")


def test_a_column_indexed_on_its_sort_key_changes_type(config_path: Path, db: Database) -> None:
    """A text column (COLLATE "C" index on PostgreSQL) becomes an integer, a decimal
    (CAST index on SQLite) becomes text: the index goes and comes back on the new key."""
    config_path.write_text(
        config_path.read_text().replace(
            "      total:        {path: total_price, type: decimal}\n",
            "      total:        {path: total_price, type: decimal, index: true}\n"
            "      number:       {path: n, type: text, index: true}\n",
        )
    )
    with ingestry.open(config_path) as store:
        store.ingest("customer_orders", [{"id": "C-1", "created_at": "2026-01-01", "n": "7"}])
    config_path.write_text(
        config_path.read_text()
        .replace("type: decimal, index: true}", "type: text, index: true}")
        .replace("{path: n, type: text, index: true}", "{path: n, type: integer, index: true}")
    )
    with ingestry.open(config_path) as store:
        store.replay("customer_orders")
        (record,) = store.records("order", where=["number=7"])
        assert record.columns["number"] == 7
        assert list(store.records("order", sort="total", desc=True)) == [record]
    assert _index_sql(db, "ix_records_order_number")
    assert _index_sql(db, "ix_records_order_total")


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
