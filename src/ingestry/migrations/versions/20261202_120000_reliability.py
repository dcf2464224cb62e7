"""Reliability: idempotency claims, job scopes

Reserved for the reliability work (issue 14). A no-op until filled in.

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
