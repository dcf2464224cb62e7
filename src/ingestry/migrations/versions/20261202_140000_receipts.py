"""Receipts: raw_inputs, raw_receipts, ids never reused (issue 13 items 1, 2, 4)

Reserved (appended after 20261202_130000 so a store already at that head runs it). A
no-op until filled in.

Revision ID: 20261202_140000
Revises: 20261202_130000
"""

from __future__ import annotations

revision = "20261202_140000"
down_revision = "20261202_130000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
