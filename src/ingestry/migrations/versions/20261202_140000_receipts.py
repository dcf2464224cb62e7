"""Receipts: raw_receipts, one row per arrival of a payload; ids never reused (issue 13
items 1 and 4)

- `raw_receipts` (both backends): raw payload id, run srn, received_at, input name
  (`origin`) and line, and the compressed container's name and sha256. Backfilled with
  one receipt per existing raw row (its own received_at, origin and line; no run: the
  raw rows never knew theirs), in raw id order.
- SQLite: the tables whose ids are visible are rebuilt with AUTOINCREMENT, so a purged
  or deleted id is never handed out again (`sqlite_sequence` keeps the highest id ever
  used; a plain INTEGER PRIMARY KEY reuses max(id) + 1). PostgreSQL sequences never
  go back: nothing to do there.

Downgrade drops `raw_receipts` (the AUTOINCREMENT tables stay: same columns, same
rows, and ids that are not reused break no older code).

Revision ID: 20261202_140000
Revises: 20261202_130000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261202_140000"
down_revision = "20261202_130000"
branch_labels = None
depends_on = None

#: SQLite tables whose integer ids users and consumers see (raw show, receipts, events
#: and their consumers, hook runs, quarantine entries, holds, retention audit, API keys).
AUTOINCREMENT_TABLES = (
    "raw_payloads",
    "quarantine",
    "record_events",
    "hook_runs",
    "raw_holds",
    "retention_audit",
    "api_keys",
)


def upgrade() -> None:
    from ingestry.adapters.sql.metadata import BigId, Timestamp

    op.create_table(
        "raw_receipts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("raw_id", sa.BigInteger, nullable=False),
        sa.Column("run_srn", sa.Text),
        sa.Column("received_at", Timestamp, nullable=False),
        sa.Column("origin", sa.Text),
        sa.Column("line", sa.Integer),
        sa.Column("container", sa.Text),
        sa.Column("container_sha256", sa.LargeBinary),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_raw_receipts_raw_id", "raw_receipts", ["raw_id", "id"])
    op.execute(
        "INSERT INTO raw_receipts (raw_id, received_at, origin, line)"
        " SELECT id, received_at, origin, line FROM raw_payloads ORDER BY id"
    )
    if op.get_bind().dialect.name == "sqlite":
        for table in AUTOINCREMENT_TABLES:
            _autoincrement(table)


def downgrade() -> None:
    op.drop_index("ix_raw_receipts_raw_id", table_name="raw_receipts")
    op.drop_table("raw_receipts")


def _autoincrement(table: str) -> None:
    """Rebuild `table` with AUTOINCREMENT: its CREATE statement with the keyword added,
    the rows copied with their ids (which seeds `sqlite_sequence` with the highest), then
    its indexes created again. Done by hand rather than with batch_alter_table, which
    would rewrite the column types and constraint names through reflection."""
    bind = op.get_bind()
    found = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).scalar()
    if found is None or "AUTOINCREMENT" in found.upper():
        return
    indexes = [
        sql
        for (sql,) in bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
            " AND sql IS NOT NULL",
            (table,),
        )
    ]
    create = _with_autoincrement(found)
    bind.exec_driver_sql(f'ALTER TABLE "{table}" RENAME TO "_old_{table}"')
    bind.exec_driver_sql(create)
    bind.exec_driver_sql(f'INSERT INTO "{table}" SELECT * FROM "_old_{table}" ORDER BY id')
    bind.exec_driver_sql(f'DROP TABLE "_old_{table}"')
    for sql in indexes:
        bind.exec_driver_sql(sql)


def _with_autoincrement(create: str) -> str:
    """`id INTEGER NOT NULL, … PRIMARY KEY (id)` (how SQLAlchemy writes it) becomes
    `id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, …`."""
    import re

    body = re.sub(r",\s*PRIMARY KEY \(id\)", "", create, count=1)
    out, n = re.subn(
        r"\bid INTEGER NOT NULL\b", "id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT", body, count=1
    )
    if n != 1 or body == create:
        raise RuntimeError(f"cannot add AUTOINCREMENT to: {create}")
    return out
