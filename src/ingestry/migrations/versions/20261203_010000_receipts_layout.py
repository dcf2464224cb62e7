"""repeated_ids: the ids a source's last run received two or more batches apart
(issue 13, item 6: an identical re-ingest of a file with far-apart repeats changes
nothing; see services/repeats.py and docs/identity.md)

The table starts empty: a store's next ingest of each source notices its far-apart ids,
the one after defers them. Downgrade drops it.

Revision ID: 20261203_010000
Revises: 20261202_230000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "20261203_010000"
down_revision = "20261202_230000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    key = sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")
    op.create_table(
        "repeated_ids",
        sa.Column("source", sa.Text, primary_key=True),
        sa.Column("source_id", key, primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("repeated_ids")
