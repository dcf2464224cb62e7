"""erasure (issue 19, cache and erasure): the erasure audit

`erasure_audit` keeps one row per erased record: who, when, why, and what as hashes
only (the sha256 of the srn, the content hashes of its versions, the sha256 of the raw
payloads removed), never content, so the row itself holds no personal data and is kept
when the record is later re-created by new input (docs/erasure.md).

Revision ID: 20261202_200000
Revises: 20261202_190000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "20261202_200000"
down_revision = "20261202_190000"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "erasure_audit",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("convention", sa.Text, nullable=False),
        sa.Column("data_source", sa.Text),
        sa.Column("srn_sha256", sa.Text, nullable=False),
        sa.Column("content_hashes", Json, nullable=False),
        sa.Column("raw_sha256s", Json, nullable=False),
        sa.Column("counts", Json, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_erasure_audit_srn_sha256", "erasure_audit", ["srn_sha256"])


def downgrade() -> None:
    op.drop_index("ix_erasure_audit_srn_sha256", table_name="erasure_audit")
    op.drop_table("erasure_audit")
