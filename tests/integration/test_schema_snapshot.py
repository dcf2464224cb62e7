"""A new store is made from the schema snapshot (`adapters/schema_load.py`), not by
running every migration: the same catalog as the migrations make, on both backends,
a node id of its own, one transaction, Alembic never imported; a stale snapshot is
ignored (Alembic runs) and these tests ask for `./dev snapshot`."""

from __future__ import annotations

import re
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ingestry.adapters import migrate, schema_load, schema_snapshot
from ingestry.adapters.backends import backend_for
from ingestry.adapters.migrate import HEAD
from ingestry.services.ports import Storage
from tests.backends import SERVERS, Database
from tests.conftest import require_service
from tests.unit.test_startup import loaded_by

NODE_ID = re.compile(r"node-[0-9a-f]{32}")
DIALECT = {"sqlite": "sqlite", "postgres": "postgresql"}
REGENERATE = f"the schema snapshot is out of date: run {schema_snapshot.COMMAND}"


@contextmanager
def opened(db: Database) -> Iterator[Storage]:
    """The backend's storage on `db`, prepared as a store's first command does."""
    backend = backend_for(db.url)
    assert backend is not None
    storage = backend.load().open_storage(db.url, lanes=1)
    try:
        storage.prepare([], auto_upgrade=True)
        yield storage
    finally:
        storage.close()


@contextmanager
def driver_connection(db: Database) -> Iterator[Any]:
    """A bare driver connection like a storage's own (autocommit)."""
    if db.sqlite_file is not None:
        conn = sqlite3.connect(db.sqlite_file, isolation_level=None)
        try:
            yield conn
        finally:
            conn.close()
        return
    import psycopg

    from ingestry.adapters.postgres.url import libpq_url

    with psycopg.connect(libpq_url(db.url), autocommit=True) as pg:
        yield pg


def catalog(db: Database) -> list[tuple[Any, ...]]:
    """Everything the schema is made of, free of the schema's name and of storage
    details (SQLite's root pages, PostgreSQL's oids)."""
    if db.kind == "sqlite":
        return db.rows("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
    schema = str(db.scalar("SELECT current_schema()"))
    out: list[tuple[Any, ...]] = []
    for query in PG_CATALOG:
        for row in db.rows(query):
            out.append(tuple(str(v).replace(f"{schema}.", "") for v in row))
    return out


_IN_SCHEMA = "relnamespace = current_schema()::regnamespace"
PG_CATALOG = (
    # the columns' order, not their attnum: a migrated table keeps its dropped columns'
    # numbers (receipts' 20261203_070000 dropped three), a table made afresh has none
    "SELECT table_name, column_name,"
    " row_number() OVER (PARTITION BY table_name ORDER BY ordinal_position), data_type,"
    " udt_name, column_default, is_nullable, collation_name, character_maximum_length,"
    " numeric_precision, is_identity, is_generated FROM information_schema.columns"
    " WHERE table_schema = current_schema() ORDER BY 1, 3",
    f"SELECT relname, relkind, relpersistence, relispartition, pg_get_partkeydef(oid)"
    f" FROM pg_class WHERE {_IN_SCHEMA} ORDER BY 1",
    "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid)"
    " FROM pg_constraint WHERE connamespace = current_schema()::regnamespace ORDER BY 1, 2",
    "SELECT tablename, indexname, indexdef FROM pg_indexes"
    " WHERE schemaname = current_schema() ORDER BY 1, 2",
    f"SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger"
    f" WHERE NOT tgisinternal AND tgrelid IN (SELECT oid FROM pg_class WHERE {_IN_SCHEMA})"
    " ORDER BY 1, 2",
    "SELECT proname, pg_get_functiondef(oid) FROM pg_proc"
    " WHERE pronamespace = current_schema()::regnamespace ORDER BY 1",
    "SELECT sequencename, data_type, start_value, increment_by, max_value, cycle"
    " FROM pg_sequences WHERE schemaname = current_schema() ORDER BY 1",
    # a sequence owned by its column (dropped with it)
    "SELECT s.relname, t.relname, d.refobjsubid, d.deptype FROM pg_depend d"
    " JOIN pg_class s ON s.oid = d.objid JOIN pg_class t ON t.oid = d.refobjid"
    " WHERE s.relkind = 'S' AND d.refclassid = 'pg_class'::regclass"
    " AND s.relnamespace = current_schema()::regnamespace ORDER BY 1, 2",
)


def test_the_snapshots_are_at_head_and_from_these_migrations() -> None:
    """Fails first when a migration is added or edited: regenerate the snapshots."""
    for dialect in schema_snapshot.DIALECTS:
        assert schema_load.read(dialect, HEAD) is not None, REGENERATE


def test_the_committed_snapshot_is_what_the_migrations_make(backend: str) -> None:
    server = SERVERS.get(backend)
    url = require_service(server.label, server.env, server.default) if server else None
    dialect = DIALECT[backend]
    committed = schema_load.snapshot_path(dialect).read_text(encoding="utf-8")
    assert schema_snapshot.generate(dialect, url) == committed, REGENERATE


def test_a_store_made_from_the_snapshot_has_the_migrations_catalog(
    db: Database, other_db: Database
) -> None:
    with opened(db) as storage:
        assert storage.schema_revision() == HEAD
    migrate.upgrade(other_db.engine)
    made = catalog(db)
    assert len(made) > 50
    assert made == catalog(other_db)
    if db.kind == "postgres":  # and pg_dump sees the same schema
        dumps = [
            schema_snapshot.normalise_dump(
                schema_snapshot.pg_dump(d.url, str(d.scalar("SELECT current_schema()"))),
                str(d.scalar("SELECT current_schema()")),
            )
            for d in (db, other_db)
        ]
        assert dumps[0] == dumps[1]
    for each in (db, other_db):  # both go down to nothing and come back
        migrate.downgrade(each.engine, "base")
        assert each.tables() == set()
        migrate.upgrade(each.engine)
        assert migrate.current(each.engine) == HEAD
    assert catalog(db) == catalog(other_db)


def test_each_new_store_gets_its_own_node_id(db: Database, other_db: Database) -> None:
    with opened(db) as first, opened(other_db) as second:
        ids = [first.node_id(), second.node_id()]
    assert all(NODE_ID.fullmatch(i) for i in ids) and ids[0] != ids[1]
    for dialect in schema_snapshot.DIALECTS:
        assert "node-" not in schema_load.snapshot_path(dialect).read_text(encoding="utf-8")
    made = db.scalar("SELECT created_at FROM node_identity")
    if db.kind == "sqlite":  # the text SQLAlchemy writes for the migration's insert
        migrate.downgrade(other_db.engine, "base")
        migrate.upgrade(other_db.engine)
        migrated = other_db.scalar("SELECT created_at FROM node_identity")
        shape = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")
        assert shape.fullmatch(made) and shape.fullmatch(migrated), (made, migrated)


def _copy_snapshots(into: Path, edit: tuple[str, str] | None = None) -> Path:
    shutil.copytree(schema_load.SNAPSHOTS, into)
    if edit is not None:
        for path in into.glob("*.sql"):
            text = path.read_text(encoding="utf-8")
            assert edit[0] in text
            path.write_text(text.replace(edit[0], edit[1], 1), encoding="utf-8")
    return into


def test_a_stale_snapshot_is_not_loaded_and_alembic_migrates(tmp_path: Path, db: Database) -> None:
    dialect = DIALECT[db.kind]
    older = _copy_snapshots(tmp_path / "older", (f"revision: {HEAD}", "revision: 20261204_050000"))
    edited = _copy_snapshots(tmp_path / "edited", ("migrations: ", "migrations: 0"))
    assert schema_load.read(dialect, HEAD, older) is None
    assert schema_load.read(dialect, HEAD, edited) is None
    with driver_connection(db) as conn:
        assert not migrate.create(conn, dialect, lambda: db.engine, older)
    assert migrate.current(db.engine) == HEAD
    assert NODE_ID.fullmatch(str(db.scalar("SELECT node_id FROM node_identity")))


def test_a_snapshot_that_fails_to_load_leaves_the_database_empty(
    tmp_path: Path, db: Database
) -> None:
    """One transaction: a statement failing half-way leaves nothing behind, and the next
    open makes the store."""
    broken = _copy_snapshots(tmp_path / "broken")
    for path in broken.glob("*.sql"):
        path.write_text(path.read_text(encoding="utf-8") + "\nCREATE TABLE broken (;\n")
    with driver_connection(db) as conn, pytest.raises(Exception, match="syntax error"):
        migrate.create(conn, DIALECT[db.kind], lambda: db.engine, broken)
    assert db.tables() == set()
    with opened(db) as storage:
        assert storage.schema_revision() == HEAD


def test_a_first_ingest_into_an_empty_database_loads_no_alembic(local_project: Path) -> None:
    data = local_project / "ten.jsonl"
    data.write_text('{"id": "S-1", "created_at": "2026-11-01T10:00:00Z"}\n', encoding="utf-8")
    config = str(local_project / "ingestry.yaml")
    modules = loaded_by([["--config", config, "ingest", "customer_orders", str(data), "--json"]])
    assert "ingestry.adapters.schema_load" in modules
    assert "alembic" not in modules
    conn = sqlite3.connect(local_project / "data" / "ingestry.db")
    try:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
        assert conn.execute("SELECT count(*) FROM records_order").fetchone() == (1,)
    finally:
        conn.close()
