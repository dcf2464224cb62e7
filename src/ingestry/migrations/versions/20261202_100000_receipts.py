"""Receipts: every arrival of a raw payload, and ids that are never reused

Reserved for the receipts work (issue 13, items 1, 2, 4). A no-op until filled in.

Revision ID: 20261202_100000
Revises: 20261123_150000
"""

from __future__ import annotations

revision = "20261202_100000"
down_revision = "20261123_150000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
