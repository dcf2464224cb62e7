"""Changes feed: record_changes, filled by triggers on every record table (issue 18
item 5, the read side a forking node pages through)

- `record_changes (seq, xid, convention, record_id, version)`: one row per record
  created or given a new version; `seq` only grows (AUTOINCREMENT on SQLite, a
  sequence on PostgreSQL), `xid` is the writing transaction on PostgreSQL (0 on
  SQLite); indexed by (xid, seq) and (convention, xid, seq) for keyset pages.
- Triggers on each existing record table (`records_*`) write it; tables made later get
  them when created (`adapters.sql.conventions`). PostgreSQL: statement-level triggers
  over transition tables, so a COPY of a batch adds one INSERT … SELECT.
- Backfill: one row per existing record (xid 0), in (updated_at, id) order.
- `fork_cursors (node_id, scope, cursor, updated_at)`: where `ingestry fork` got to
  per remote node and convention (`*`: all), so a fork resumes.

Downgrade drops the triggers, the functions and the table.

Revision ID: 20261202_190000
Revises: 20261202_180000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261202_190000"
down_revision = "20261202_180000"
branch_labels = None
depends_on = None


def _record_tables(conn: sa.Connection) -> list[str]:
    from ingestry.adapters.sql.names import RECORD_TABLE_PREFIX

    names = sa.inspect(conn).get_table_names()
    return sorted(n for n in names if n.startswith(RECORD_TABLE_PREFIX))


def upgrade() -> None:
    from ingestry.adapters.sql import changes
    from ingestry.adapters.sql.names import RECORD_TABLE_PREFIX

    conn = op.get_bind()
    changes.record_changes.create(conn)
    changes.fork_cursors.create(conn)
    if conn.dialect.name == "postgresql":
        for statement in changes.PG_FUNCTIONS:
            conn.exec_driver_sql(statement)
    for table in _record_tables(conn):
        convention = table.removeprefix(RECORD_TABLE_PREFIX)
        conn.exec_driver_sql(changes.backfill_sql(table, convention))
        changes.ensure_change_triggers(conn, table, convention)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        from ingestry.adapters.sql.changes import PG_DROP_FUNCTIONS

        for statement in PG_DROP_FUNCTIONS:  # CASCADE: the triggers go with them
            conn.exec_driver_sql(statement)
    else:
        for table in _record_tables(conn):
            for suffix in ("ins", "upd"):
                conn.exec_driver_sql(f'DROP TRIGGER IF EXISTS "{table}_changes_{suffix}"')
    op.drop_table("fork_cursors")
    op.drop_table("record_changes")
