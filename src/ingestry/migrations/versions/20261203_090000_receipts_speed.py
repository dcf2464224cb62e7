"""receipts_speed (issue 13, re-ingest cost)

Reserved (appended after 20261203_080000 so a store already at that head runs it). A
no-op until filled in.

Revision ID: 20261203_090000
Revises: 20261203_080000
"""

from __future__ import annotations

revision = "20261203_090000"
down_revision = "20261203_080000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
