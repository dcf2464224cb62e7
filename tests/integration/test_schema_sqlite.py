"""Migrations and record-table evolution on a real SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import ingestry
from ingestry import SchemaError
from ingestry.adapters import migrate
from ingestry.adapters.sql.schema import metadata
from ingestry.domain.records import record_srn
from ingestry.migrations import HEAD
from ingestry.store import Store

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


def test_migrated_schema_matches_the_metadata(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []


def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    migrate.upgrade(engine)
    assert migrate.current(engine) == HEAD
    migrate.downgrade(engine, "base")
    assert migrate.current(engine) is None
    assert sa.inspect(engine).get_table_names() == ["alembic_version"]
    migrate.upgrade(engine)
    assert migrate.current(engine) == HEAD
    engine.dispose()


def test_ingest_upgrades_an_empty_database(store: Store, project: Path) -> None:
    store.ingest("customer_orders", [{"id": "E-1", "created_at": "2026-01-01T00:00:00Z"}])
    conn = sqlite3.connect(project / "data" / "ingestry.db")
    assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == HEAD
    conn.close()


def test_outdated_database_is_refused(config_path: Path, project: Path) -> None:
    path = project / "data" / "ingestry.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE alembic_version (version_num TEXT)")
    conn.execute("INSERT INTO alembic_version VALUES ('19990101_000000')")
    conn.commit()
    conn.close()
    with ingestry.open(config_path) as store, pytest.raises(SchemaError, match="db upgrade"):
        store.ingest("customer_orders", [{"id": "E-1"}])


def test_added_column_is_added_in_place(config_path: Path) -> None:
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
        record = store.get(record_srn("order", "harvest", "C-1"))
        assert record.columns["currency"] is None  # filled on replay, not guessed
        store.ingest(
            "customer_orders", [{"id": "C-2", "created_at": "2026-01-01", "currency": "USD"}]
        )
        assert store.get(record_srn("order", "harvest", "C-2")).columns["currency"] == "USD"
    conn = sqlite3.connect(config_path.parent / "data" / "ingestry.db")
    indexes = {r[1] for r in conn.execute("PRAGMA index_list('records_order')")}
    conn.close()
    assert "ix_records_order_currency" in indexes
