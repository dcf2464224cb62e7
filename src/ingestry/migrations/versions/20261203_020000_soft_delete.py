"""soft_delete (issue 19 item 3, soft): who deleted a record version, when and why

A soft delete writes a tombstone version of the record (its current row keeps the
identity and the version sequence; an empty content hash marks it, so any later content
differs and brings it back as the next version, with no new column on the hot write
path). `record_deletions` keeps one row per tombstone version: the actor, the time and
the reason, and the record's identity, so a count of live records subtracts the
tombstones among the few records ever deleted instead of scanning (docs/deleting.md).

Revision ID: 20261203_020000
Revises: 20261203_010000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "20261203_020000"
down_revision = "20261203_010000"
branch_labels = None
depends_on = None

Key = sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "record_deletions",
        sa.Column("srn", Key, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("convention", sa.Text, nullable=False),
        sa.Column("source_type", Key, nullable=False),
        sa.Column("upstream", Key, nullable=False),
        sa.Column("source_id", Key, nullable=False),
        sa.Column("deleted_at", Timestamp, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("reason", sa.Text),
    )
    op.create_index("ix_record_deletions_convention", "record_deletions", ["convention"])


def downgrade() -> None:
    op.drop_index("ix_record_deletions_convention", table_name="record_deletions")
    op.drop_table("record_deletions")
