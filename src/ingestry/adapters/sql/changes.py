"""The changes feed's table and triggers (migration 20261202_190000, record tables).

`record_changes` gets one row per record created or changed (a new version), in the
writing transaction. Changed records: by a trigger on every record table (SQLite: a
row trigger; PostgreSQL: a statement trigger over transition tables, one INSERT …
SELECT per statement). New records: by the one statement of each backend that inserts
them (SQLite: the session's INSERT … SELECT per batch; PostgreSQL: the writer's insert
and direct COPYs, `adapters/postgres/feed.py`; migration 20261205_020000 dropped the
insert trigger, whose transition table copied every whole new row). `seq` only grows.

The order a reader can trust:
- SQLite: writers take turns (BEGIN IMMEDIATE), so `seq` order is commit order: the
  cursor is the last `seq` read. `xid` is always 0 there, and the feed walks the
  rowid (`seq`); no `(xid, seq)` index (migration 20261204_030000).
- PostgreSQL: sequence values are taken before commit, so a smaller `seq` can appear
  after a larger one. Each row also holds its transaction id (`xid`, xid8); the feed
  orders by (xid, seq) and returns only rows of transactions older than the reader's
  snapshot xmin (every one of them has ended, so no row below the cursor can appear
  later). A long open transaction holds the feed back until it ends; see
  docs/federation.md.
"""

from __future__ import annotations

import sqlalchemy as sa

from ingestry.adapters.sql.metadata import BigId, metadata
from ingestry.adapters.sql.names import literal

record_changes = sa.Table(
    "record_changes",
    metadata,
    sa.Column("seq", BigId, primary_key=True, autoincrement=True),
    sa.Column("xid", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("convention", sa.Text, nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    # PostgreSQL only: on SQLite xid is always 0 and seq (the rowid) is already the
    # feed's order, so the index was one more B-tree entry per change for nothing
    # (migration 20261204_030000)
    sa.Index("ix_record_changes_order", "xid", "seq").ddl_if(dialect="postgresql"),
    sa.Index("ix_record_changes_convention", "convention", "xid", "seq"),
    sqlite_autoincrement=True,  # a seq is never handed out twice
)

#: Where a fork got to: per remote node and scope (a convention, or `*` for all), the
#: next_cursor of the last page published here.
fork_cursors = sa.Table(
    "fork_cursors",
    metadata,
    sa.Column("node_id", sa.Text, primary_key=True),
    sa.Column("scope", sa.Text, primary_key=True),
    sa.Column("cursor", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Text, nullable=False),
)

#: SQLite only: how far the outbox has read the changes feed (migration 20261206_010000),
#: one row, the seq of the last change taken in as an event (`adapters/sql/intake.py`).
outbox_cursor = sa.Table(
    "outbox_cursor",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.CheckConstraint("id = 1", name="ck_outbox_cursor_one_row"),
)

#: PostgreSQL: the function the update trigger runs (TG_ARGV[0]: the convention).
PG_FUNCTIONS = (
    """CREATE OR REPLACE FUNCTION ingestry_changes_updated() RETURNS trigger
LANGUAGE plpgsql AS $$ DECLARE x bigint := pg_current_xact_id()::text::bigint; BEGIN
  INSERT INTO record_changes (xid, convention, record_id, version)
  SELECT x, TG_ARGV[0], n.id, n.version
  FROM new_rows n JOIN old_rows o ON o.id = n.id
  WHERE n.version IS DISTINCT FROM o.version ORDER BY n.id;
  RETURN NULL;
END $$""",
)

#: PostgreSQL before migration 20261205_020000 (its downgrade puts it back): the
#: insert trigger's function.
PG_INSERTED_FUNCTION = """CREATE OR REPLACE FUNCTION ingestry_changes_inserted()
RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
  INSERT INTO record_changes (xid, convention, record_id, version)
  SELECT pg_current_xact_id()::text::bigint, TG_ARGV[0], n.id, n.version
  FROM new_rows n ORDER BY n.id;
  RETURN NULL;
END $$"""

PG_DROP_FUNCTIONS = (
    "DROP FUNCTION IF EXISTS ingestry_changes_inserted() CASCADE",
    "DROP FUNCTION IF EXISTS ingestry_changes_updated() CASCADE",
)


def insert_trigger(table: str, convention: str) -> str:
    """PostgreSQL before migration 20261205_020000: the insert trigger of `table`."""
    return (
        f'CREATE OR REPLACE TRIGGER "{table}_changes_ins" AFTER INSERT ON "{table}"'
        " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
        f" EXECUTE FUNCTION ingestry_changes_inserted({literal(convention)})"
    )


def trigger_statements(dialect: str, table: str, convention: str) -> list[str]:
    """Idempotent DDL giving record table `table` its change triggers."""
    quoted, name = f'"{table}"', literal(convention)
    if dialect == "postgresql":
        # no insert trigger: the writer feeds new records (adapters/postgres/feed.py)
        return [
            f'CREATE OR REPLACE TRIGGER "{table}_changes_upd" AFTER UPDATE ON {quoted}'
            " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT"
            f" EXECUTE FUNCTION ingestry_changes_updated({name})",
        ]
    # SQLite: no insert trigger. A row trigger per inserted record cost +65% CPU on a
    # simple ingest (N=20,000: 1.43 s against 0.87 s); the session adds a batch's new
    # rows with one INSERT … SELECT instead (adapters/sqlite/session.py), the one
    # place SQLite inserts records. Updates (rarer, and made by several write paths)
    # keep a row trigger.
    return [
        f'CREATE TRIGGER IF NOT EXISTS "{table}_changes_upd" AFTER UPDATE OF version'
        f" ON {quoted} WHEN NEW.version IS NOT OLD.version"
        " BEGIN INSERT INTO record_changes (convention, record_id, version)"
        f" VALUES ({name}, NEW.id, NEW.version); END",
    ]


def ensure_change_triggers(conn: sa.Connection, table: str, convention: str) -> None:
    for statement in trigger_statements(conn.dialect.name, table, convention):
        conn.exec_driver_sql(statement)


def backfill_sql(table: str, convention: str) -> str:
    """One change row per existing record, oldest change first (xid 0: before any
    transaction the feed will see)."""
    return (
        "INSERT INTO record_changes (xid, convention, record_id, version)"
        f' SELECT 0, {literal(convention)}, id, version FROM "{table}"'
        " ORDER BY updated_at, id"
    )
