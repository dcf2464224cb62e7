"""receipts_layout (issue 13, compact)

Reserved (appended after 20261202_230000 so a store already at that head runs it). A
no-op until filled in.

Revision ID: 20261203_010000
Revises: 20261202_230000
"""

from __future__ import annotations

revision = "20261203_010000"
down_revision = "20261202_230000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
