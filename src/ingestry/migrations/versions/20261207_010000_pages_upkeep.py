"""pages_upkeep (issue 18, a harvested source's pages over the years)

`harvest_pages.erased_at`: when an erasure emptied the page's body because it held an
erased record's item (docs/erasure.md); the row keeps the request, status, headers and
the body's sha256. `retention_audit.pages_purged` and `page_bytes_freed`: the pages a
retention run purged from a pulled source (docs/harvest.md, "Pages over time"); 0 in
the rows written before.

Revision ID: 20261207_010000
Revises: 20261206_010000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261207_010000"
down_revision = "20261206_010000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("harvest_pages", sa.Column("erased_at", sa.DateTime(timezone=True)))
    for name in ("pages_purged", "page_bytes_freed"):
        op.add_column(
            "retention_audit",
            sa.Column(name, sa.BigInteger, nullable=False, server_default="0"),
        )


def downgrade() -> None:
    with op.batch_alter_table("retention_audit") as batch:
        batch.drop_column("page_bytes_freed")
        batch.drop_column("pages_purged")
    with op.batch_alter_table("harvest_pages") as batch:
        batch.drop_column("erased_at")
