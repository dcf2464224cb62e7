"""receipts compact (issues 13/14, receipts and reliability)

Reserved (appended after 20261202_210000 so a store already at that head runs it). A
no-op until filled in.

Revision ID: 20261202_220000
Revises: 20261202_210000
"""

from __future__ import annotations

revision = "20261202_220000"
down_revision = "20261202_210000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
