"""PostgreSQL backups without pg_dump (issue 19): ingestry's own COPY dump from one
snapshot, restored by migrating a fresh schema to the backup's revision and COPYing
every table back (docs/backups.md). The same manifest, checksums, `verify` and
`restore` as the pg_dump format; chosen when pg_dump is not on PATH."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from ingestry.domain.backups import BackupError
from ingestry.store import Store
from tests.backends import Database
from tests.e2e.cli import run

pytestmark = pytest.mark.postgres

#: The store's schema as the catalog describes it: what a restore must make again.
SHAPE = """
SELECT 'table ' || c.relname || ' ' || CAST(c.relkind AS text) || coalesce(' of ' || pg_get_expr(c.relpartbound, c.oid), '')
FROM pg_class c WHERE c.relnamespace = CAST(current_schema() AS regnamespace) AND c.relkind IN ('r', 'p', 'S')
UNION ALL
SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
       || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relnamespace = CAST(current_schema() AS regnamespace) AND c.relkind IN ('r', 'p')
  AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
WHERE c.relnamespace = CAST(current_schema() AS regnamespace)
UNION ALL
SELECT 'constraint ' || c.relname || ' ' || k.conname || ' ' || pg_get_constraintdef(k.oid)
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
WHERE c.relnamespace = CAST(current_schema() AS regnamespace)
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE c.relnamespace = CAST(current_schema() AS regnamespace) AND NOT t.tgisinternal
ORDER BY 1
"""  # noqa: E501


def _shape(db: Database) -> list[str]:
    return [str(r[0]) for r in db.rows(SHAPE)]


def _sequences(db: Database) -> list[tuple[str, int | None]]:
    return [
        (str(name), value)
        for name, value in db.rows(
            "SELECT sequencename, last_value FROM pg_sequences"
            " WHERE schemaname = current_schema() ORDER BY 1"
        )
    ]


def _srns(store: Store) -> list[tuple[str, int]]:
    return [(r.srn, r.version) for r in store.records("order", limit=None)]


@pytest.mark.parametrize("backend", ["postgres"])
@pytest.mark.parametrize("form", ["dir", "tar"])
def test_copy_backup_verify_restore_round_trip(
    store: Store, project: Path, db: Database, form: str
) -> None:
    os.chdir(project)
    store.ingest_files("customer_orders", ["data/samples/orders.jsonl"])
    store.ingest_files("exchange_rates", ["data/samples/exchange_rates.csv"])
    before, shape, sequences = _srns(store), _shape(db), _sequences(db)
    counts = {t: db.count(t) for t in ("raw_payloads", "raw_receipts", "ingest_runs")}
    out = project / ("b.tar" if form == "tar" else "b")
    made = store.backup(out, method="copy")
    assert made.manifest.details["method"] == "copy"
    assert "schema.json" in made.manifest.files and "store.pgdump" not in made.manifest.files
    assert "records_order.copy.gz" in made.manifest.files
    assert made.manifest.content.tables["raw_payloads"] == counts["raw_payloads"] > 0
    assert store.verify_backup(out).ok

    db.execute("DELETE FROM raw_receipts")
    with pytest.raises(BackupError, match="already holds data; pass --replace"):
        store.restore(out)
    assert store.restore(out, replace=True).ok
    assert _srns(store) == before
    assert {t: db.count(t) for t in counts} == counts
    assert _shape(db) == shape  # tables, partitions, columns, indexes, constraints, triggers
    assert _sequences(db) == sequences and sequences
    # the sequences went on from the snapshot: new rows get new ids
    summary = store.ingest_files("customer_orders", ["data/samples/orders.jsonl"])
    assert summary.raw_duplicates > 0 and _srns(store) == before
    assert db.count("ingest_runs") == counts["ingest_runs"] + 1


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_damaged_copy_backup_restores_nothing(store: Store, project: Path, db: Database) -> None:
    os.chdir(project)
    store.ingest_files("customer_orders", ["data/samples/orders.jsonl"])
    made = store.backup(project / "b", method="copy")
    schema = orjson.loads((project / "b" / "schema.json").read_bytes())
    schema["tables"] = [
        {**t, "columns": [{**c, "type": "no_such_type"} for c in t["columns"]]}
        if t["name"] == "records_order" else t
        for t in schema["tables"]
    ]  # fmt: skip
    (project / "b" / "schema.json").write_bytes(orjson.dumps(schema))
    from ingestry.adapters.backups.pgcopy import restore

    engine = sa.create_engine(db.url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with pytest.raises(sa.exc.DBAPIError), engine.begin() as conn:
            schema_name = str(conn.exec_driver_sql("SELECT current_schema()").scalar())
            restore(conn, project / "b", schema_name, made.manifest.schema_revision)
    finally:
        engine.dispose()
    assert db.count("records_order") > 0  # the failed restore rolled back whole


@pytest.mark.parametrize("backend", ["postgres"])
def test_without_pg_dump_on_path_the_cli_backs_up_with_copy(
    project: Path, db: Database, tmp_path: Path
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    hidden = {"PATH": str(empty)}  # no pg_dump, no pg_restore
    cwd = project
    assert run("ingest", "customer_orders", "data/samples/orders.jsonl", cwd=cwd).returncode == 0
    made = run("backup", "--out", "b.tar", "--json", cwd=cwd, env=hidden)
    assert made.returncode == 0, made.stderr
    summary = orjson.loads(made.stdout)
    assert summary["ok"] is True and "schema.json" in summary["files"], summary
    checked = run("verify", "b.tar", "--json", cwd=cwd, env=hidden)
    assert checked.returncode == 0, checked.stderr
    assert run("restore", "b.tar", "--replace", cwd=cwd, env=hidden).returncode == 0
    assert db.count("records_order") == summary["tables"]["records_order"] > 0
    # with pg_dump installed, auto takes it
    dumped = run("backup", "--out", "c.tar", "--json", cwd=cwd)
    assert dumped.returncode == 0, dumped.stderr
    assert orjson.loads(dumped.stdout)["files"].keys() == {"store.pgdump"}


@pytest.mark.parametrize("backend", ["postgres"])
def test_method_pg_dump_without_pg_dump_names_the_package(
    project: Path, db: Database, tmp_path: Path
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    refused = run("backup", "--out", "b.tar", "--method", "pg_dump", cwd=project,
                  env={"PATH": str(empty)})  # fmt: skip
    assert refused.returncode == 1, refused.stderr
    assert b"pg_dump is not installed" in refused.stderr
    assert b"postgresql-client" in refused.stderr
    assert not (project / "b.tar").exists()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_method_is_refused_on_sqlite(project: Path, db: Database) -> None:
    refused = run("backup", "--out", "b.tar", "--method", "copy", cwd=project)
    assert refused.returncode == 1, refused.stderr
    assert b"--method copy is for PostgreSQL stores" in refused.stderr
