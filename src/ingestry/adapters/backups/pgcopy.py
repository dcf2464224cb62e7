"""PostgreSQL backups without `pg_dump`: COPY of every table from one snapshot.

Issue 19's fallback for machines without the PostgreSQL client tools (and `backup
--method copy`). Why our own and not a library: no Python library dumps a live schema
consistently; the pieces are PostgreSQL's own (`COPY … TO STDOUT` inside one REPEATABLE
READ transaction, the catalog's `pg_get_*def` functions) and Alembic.

- **Data:** one `COPY (table) TO STDOUT` per table holding rows (plain tables and
  partitions; a partitioned parent holds none), gzip level 1 (as for SQLite), all in
  the same REPEATABLE READ, READ ONLY transaction the digest is read in.
- **Schema:** the migrations' tables come from the migrations: a restore migrates a
  fresh schema to the backup's revision. What the store made at run time (record
  tables, `raw_payloads`' monthly partitions, their indexes, constraints and change
  triggers) is written to `schema.json` from the catalog in that same transaction and
  created again from it; sequences are set to their values in the snapshot.
- **Restore** is one transaction: drop the schema, create it, migrate, create the
  run-time tables, COPY every table in, add indexes, constraints and triggers, set the
  sequences. A failure leaves the store as it was.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

SCHEMA_FILE = "schema.json"
#: The data file of one table (top level: every file of a backup is hashed).
DATA_SUFFIX = ".copy.gz"
LEVEL = 1
CHUNK = 1 << 20

_TABLES = """
SELECT c.oid, c.relname, c.relkind, c.relispartition,
       CASE WHEN c.relispartition THEN (SELECT p.relname FROM pg_inherits i
            JOIN pg_class p ON p.oid = i.inhparent WHERE i.inhrelid = c.oid) END AS parent,
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS bound,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partkey
FROM pg_class c WHERE c.relnamespace = CAST(current_schema() AS regnamespace)
  AND c.relkind IN ('r', 'p') ORDER BY c.relname
"""
_COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid) AS def, a.attidentity, a.attgenerated,
       CASE WHEN a.attcollation <> t.typcollation
            THEN (SELECT collname FROM pg_collation WHERE oid = a.attcollation) END AS coll
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = :oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
"""
_CONSTRAINTS = """
SELECT conname, pg_get_constraintdef(oid) AS def, contype FROM pg_constraint
WHERE conrelid = :oid AND conislocal AND contype IN ('p', 'u', 'c', 'f', 'x')
ORDER BY contype = 'f', conname
"""
_INDEXES = """
SELECT pg_get_indexdef(i.indexrelid) AS def FROM pg_index i
WHERE i.indrelid = :oid
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
  AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
ORDER BY 1
"""
_TRIGGERS = """
SELECT pg_get_triggerdef(oid) AS def FROM pg_trigger
WHERE tgrelid = :oid AND NOT tgisinternal AND tgparentid = 0 ORDER BY tgname
"""
_SEQUENCES = """
SELECT c.relname FROM pg_class c
WHERE c.relnamespace = CAST(current_schema() AS regnamespace) AND c.relkind = 'S'
ORDER BY c.relname
"""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def describe(conn: sa.Connection) -> dict[str, Any]:
    """The schema the store made at run time, read in the caller's snapshot."""
    tables = []
    for row in conn.execute(sa.text(_TABLES)).mappings():
        oid = row["oid"]
        columns = [dict(c) for c in conn.execute(sa.text(_COLUMNS), {"oid": oid}).mappings()]
        tables.append(
            {
                "name": row["relname"],
                "kind": row["relkind"],
                "parent": row["parent"],
                "bound": row["bound"],
                "partkey": row["partkey"],
                "columns": columns,
                "constraints": [
                    dict(c) for c in conn.execute(sa.text(_CONSTRAINTS), {"oid": oid}).mappings()
                ],
                "indexes": list(conn.execute(sa.text(_INDEXES), {"oid": oid}).scalars()),
                "triggers": list(conn.execute(sa.text(_TRIGGERS), {"oid": oid}).scalars()),
            }
        )
    sequences = {}
    for name in conn.execute(sa.text(_SEQUENCES)).scalars():
        value, called = conn.execute(
            sa.text(f"SELECT last_value, is_called FROM {_quote(name)}")
        ).one()
        sequences[name] = [int(value), bool(called)]
    return {"tables": tables, "sequences": sequences}


def _copied_columns(table: dict[str, Any]) -> list[str]:
    return [c["attname"] for c in table["columns"] if not c["attgenerated"]]


def dump(conn: sa.Connection, into: Path) -> dict[str, Any]:
    """Write `schema.json` and one gzip'ed COPY per table holding rows into `into`,
    all from the snapshot of the caller's transaction; the schema description."""
    schema = describe(conn)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        for table in schema["tables"]:
            if table["kind"] != "r":
                continue  # a partitioned parent: its partitions hold the rows
            columns = ", ".join(_quote(c) for c in _copied_columns(table))
            sql = f"COPY {_quote(table['name'])} ({columns}) TO STDOUT"
            with (
                gzip.open(into / (table["name"] + DATA_SUFFIX), "wb", LEVEL) as out,
                cursor.copy(sql) as copy,
            ):
                for block in copy:
                    out.write(block)
    finally:
        cursor.close()
    (into / SCHEMA_FILE).write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
    return schema


def restore(conn: sa.Connection, backup: Path, schema_name: str, revision: str | None) -> None:
    """Replace schema `schema_name` with the backup in `backup`, inside the caller's
    transaction (commit it to keep the result)."""
    from alembic import command
    from alembic.config import Config

    from ingestry.adapters.migrate import MIGRATIONS

    described = json.loads((backup / SCHEMA_FILE).read_text())
    conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {_quote(schema_name)} CASCADE")
    conn.exec_driver_sql(f"CREATE SCHEMA {_quote(schema_name)}")
    conn.exec_driver_sql(f"SET LOCAL search_path TO {_quote(schema_name)}")
    if revision is not None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    sequences = set(conn.execute(sa.text(_SEQUENCES)).scalars())
    for name in described["sequences"]:
        if name not in sequences:  # a run-time table's (its column default names it)
            conn.exec_driver_sql(f"CREATE SEQUENCE {_quote(name)}")
    present = set(sa.inspect(conn).get_table_names())
    made = [t for t in _creation_order(described["tables"]) if t["name"] not in present]
    for table in made:
        conn.exec_driver_sql(_create(table))
    if described["tables"]:  # what the migrations seeded (node_identity, …)
        names = ", ".join(_quote(t["name"]) for t in described["tables"])
        conn.exec_driver_sql(f"TRUNCATE {names}")
    tables = [t for t in described["tables"] if t["kind"] == "r"]
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        for table in tables:
            columns = ", ".join(_quote(c) for c in _copied_columns(table))
            sql = f"COPY {_quote(table['name'])} ({columns}) FROM STDIN"
            with (
                gzip.open(backup / (table["name"] + DATA_SUFFIX), "rb") as data,
                cursor.copy(sql) as copy,
            ):
                for block in _blocks(data):
                    copy.write(block)
    finally:
        cursor.close()
    for table in made:
        for statement in _after_data(table):
            conn.exec_driver_sql(statement)
    for name, (value, called) in described["sequences"].items():
        conn.execute(
            sa.text("SELECT setval(CAST(:seq AS regclass), :value, :called)"),
            {"seq": _quote(name), "value": value, "called": called},
        )


def _blocks(data: Any) -> Iterator[bytes]:
    while block := data.read(CHUNK):
        yield block


def _creation_order(tables: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Partitioned parents first, then plain tables, then partitions."""
    return sorted(tables, key=lambda t: 0 if t["kind"] == "p" else 2 if t["parent"] else 1)


def _create(table: dict[str, Any]) -> str:
    name = _quote(table["name"])
    if table["parent"]:
        return f"CREATE TABLE {name} PARTITION OF {_quote(table['parent'])} {table['bound']}"
    columns = []
    for c in table["columns"]:
        column = f"{_quote(c['attname'])} {c['type']}"
        if c["coll"]:
            column += f" COLLATE {_quote(c['coll'])}"
        if c["attidentity"]:
            column += " GENERATED {} AS IDENTITY".format(
                "ALWAYS" if c["attidentity"] == "a" else "BY DEFAULT"
            )
        elif c["attgenerated"]:
            column += f" GENERATED ALWAYS AS ({c['def']}) STORED"
        elif c["def"] is not None:
            column += f" DEFAULT {c['def']}"
        if c["attnotnull"]:
            column += " NOT NULL"
        columns.append(column)
    tail = f" PARTITION BY {table['partkey']}" if table["kind"] == "p" else ""
    return f"CREATE TABLE {name} ({', '.join(columns)}){tail}"


def _after_data(table: dict[str, Any]) -> list[str]:
    """Constraints, indexes and triggers of a table made at restore (after its rows)."""
    statements = []
    if not table["parent"]:
        name = _quote(table["name"])
        statements += [
            f"ALTER TABLE {name} ADD CONSTRAINT {_quote(c['conname'])} {c['def']}"
            for c in table["constraints"]
        ]
    statements += list(table["indexes"]) + list(table["triggers"])
    return statements
