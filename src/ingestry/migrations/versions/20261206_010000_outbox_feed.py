"""outbox_feed (issues 16 and 18, the writer's cost): the outbox reads the changes feed

SQLite only. A write no longer adds an event row per record created or changed: its
change row in `record_changes` is the event, taken into `record_events` by the
dispatcher's claim (`adapters/sql/intake.py`, which also says why PostgreSQL keeps
writing its events). `outbox_cursor` is how far that intake has read: one row, the seq
of the last change taken in.

Upgrade starts the cursor at the end of the feed: every change already there had its
event written with it. With no change yet, no row (it reads as the feed's start).
Downgrade takes every change after the cursor in first (so no event is lost), then
drops the table.

Revision ID: 20261206_010000
Revises: 20261205_060000
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "20261206_010000"
down_revision = "20261205_060000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.create_table(
        "outbox_cursor",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_outbox_cursor_one_row"),
    )
    op.execute(
        "INSERT INTO outbox_cursor (id, seq)"
        " SELECT 1, max(seq) FROM record_changes HAVING count(*) > 0"
    )  # no row reads as 0: an empty feed (a new store's schema holds no rows)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    from ingestry.adapters.sqlite.outbox import take_in
    from ingestry.domain.clock import iso, utc_now

    raw: Any = bind.connection.driver_connection
    now = iso(utc_now())
    while take_in(raw, now):
        pass
    op.drop_table("outbox_cursor")
