"""Reliability: idempotency claims, job scopes

Unused: reserved once, left a no-op and kept in the chain (stores passed it). The
reliability migration is 20261202_150000.

Revision ID: 20261202_120000
Revises: 20261202_110000
"""

from __future__ import annotations

revision = "20261202_120000"
down_revision = "20261202_110000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
