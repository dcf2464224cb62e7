"""Migrations own the per-convention record tables

Reserved for the architecture work (issue 15, item 9). A no-op until filled in.

Revision ID: 20261202_130000
Revises: 20261202_120000
"""

from __future__ import annotations

revision = "20261202_130000"
down_revision = "20261202_120000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
