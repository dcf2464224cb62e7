"""sqlite_writes (issues 16 and 18, SQLite write cost)

Reserved (appended after 20261203_100000 so a store already at that head runs it). A
no-op until filled in.

Revision ID: 20261203_110000
Revises: 20261203_100000
"""

from __future__ import annotations

revision = "20261203_110000"
down_revision = "20261203_100000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
