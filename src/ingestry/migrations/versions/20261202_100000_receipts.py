"""Receipts: every arrival of a raw payload, and ids that are never reused

Unused: reserved once, left a no-op and kept in the chain (stores passed it). The
receipts migration is 20261202_140000.

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
