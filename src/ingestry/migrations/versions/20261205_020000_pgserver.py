"""pgserver (issue 13, first-ingest cost on PostgreSQL): new records' changes are written
by the writer, not by an insert trigger

PostgreSQL only. The changes feed's AFTER INSERT statement trigger over a transition
table (migration 20261202_190000) made the server copy every whole new record row
(metadata included) into a tuplestore, to read its id back. The writer now writes those
rows itself, from the ids it draws or the insert returns (`adapters/postgres/feed.py`),
so the insert triggers and their function go. The update trigger stays (every update
path relies on it); its function takes the transaction id once per statement instead
of once per row.

Downgrade puts the insert function and triggers back (the update function's body is
equivalent either way).

Revision ID: 20261205_020000
Revises: 20261205_010000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261205_020000"
down_revision = "20261205_010000"
branch_labels = None
depends_on = None


def _record_tables(conn: sa.Connection) -> list[str]:
    from ingestry.adapters.sql.names import RECORD_TABLE_PREFIX

    names = sa.inspect(conn).get_table_names()
    return sorted(n for n in names if n.startswith(RECORD_TABLE_PREFIX))


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    from ingestry.adapters.sql.changes import PG_FUNCTIONS

    # CASCADE: every record table's insert trigger goes with it
    conn.exec_driver_sql("DROP FUNCTION IF EXISTS ingestry_changes_inserted() CASCADE")
    for statement in PG_FUNCTIONS:
        conn.exec_driver_sql(statement)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    from ingestry.adapters.sql.changes import PG_INSERTED_FUNCTION, insert_trigger
    from ingestry.adapters.sql.names import RECORD_TABLE_PREFIX

    conn.exec_driver_sql(PG_INSERTED_FUNCTION)
    for table in _record_tables(conn):
        conn.exec_driver_sql(insert_trigger(table, table.removeprefix(RECORD_TABLE_PREFIX)))
