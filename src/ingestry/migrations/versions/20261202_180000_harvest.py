"""harvest (issue 18, HTTP harvest): harvest_pages and harvest_cursors

`harvest_pages` keeps every page response of an HTTP pull as received: the request
(without secrets), status, the headers that matter (ETag, Last-Modified, Content-Type,
rate-limit headers) and the bytes; the items extracted from it are raw payloads whose
receipts name the page's URL. `harvest_cursors` holds each source's incremental
high-water mark, written only when a run commits. See docs/harvest.md.

Revision ID: 20261202_180000
Revises: 20261202_170000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "20261202_180000"
down_revision = "20261202_170000"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "harvest_pages",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("run_srn", sa.Text, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("request_key", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("headers", Json, nullable=False),
        sa.Column("etag", sa.Text),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("sha256", sa.LargeBinary, nullable=False),
        sa.Column("received_at", Timestamp, nullable=False),
        sa.Column("error", sa.Text),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_harvest_pages_source_request", "harvest_pages", ["source", "request_key", "id"]
    )
    op.create_index("ix_harvest_pages_run", "harvest_pages", ["run_srn", "seq"])
    op.create_table(
        "harvest_cursors",
        sa.Column("source", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("run_srn", sa.Text, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("harvest_cursors")
    op.drop_index("ix_harvest_pages_run", table_name="harvest_pages")
    op.drop_index("ix_harvest_pages_source_request", table_name="harvest_pages")
    op.drop_table("harvest_pages")
