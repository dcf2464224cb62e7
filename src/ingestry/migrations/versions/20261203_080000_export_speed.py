"""export_speed (issue 17, export and import at 1M)

Reserved (appended after 20261203_070000 so a store already at that head runs it). A
no-op until filled in.

Revision ID: 20261203_080000
Revises: 20261203_070000
"""

from __future__ import annotations

revision = "20261203_080000"
down_revision = "20261203_070000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
