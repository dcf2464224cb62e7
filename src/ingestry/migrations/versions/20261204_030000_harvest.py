"""harvest (issue 18 "Speed", 2026-12-03 session): no `(xid, seq)` changes-feed index
on SQLite

SQLite only (PostgreSQL keeps the index: its feed orders by transaction id). On SQLite
`xid` is always 0 (nothing sets it) and `seq` is the rowid, whose order is commit
order (writers take turns), so `ix_record_changes_order` repeated the table's own
order: one more B-tree entry per created or changed record, -8..-9% of a harvest's
CPU (bench/README.md, "Harvest, third pass"). The feed's SQLite reads walk the rowid
instead (adapters/sql/changefeed.py). `ix_record_changes_convention` stays (a
convention's changes, the copy mark's probe).

Downgrade puts the index back.

Revision ID: 20261204_030000
Revises: 20261204_020000
"""

from __future__ import annotations

from alembic import op

revision = "20261204_030000"
down_revision = "20261204_020000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # IF EXISTS: a store created after this change never had it (the shared metadata
    # creates it on PostgreSQL only)
    op.execute("DROP INDEX IF EXISTS ix_record_changes_order")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE INDEX IF NOT EXISTS ix_record_changes_order ON record_changes (xid, seq)")
