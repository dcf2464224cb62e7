"""csv_prep (issue 16, CSV preparation)

Reserved (appended after 20261203_110000 so a store already at that head runs it). A
no-op until filled in.

Revision ID: 20261203_120000
Revises: 20261203_110000
"""

from __future__ import annotations

revision = "20261203_120000"
down_revision = "20261203_110000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
