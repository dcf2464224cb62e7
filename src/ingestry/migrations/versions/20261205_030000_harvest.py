"""harvest (reserved for a speed stream, 2026-12-03 second session)

Reserved (appended after 20261205_020000 so a store already at that head runs it). A
no-op until filled in.

Revision ID: 20261205_030000
Revises: 20261205_020000
"""

from __future__ import annotations

revision = "20261205_030000"
down_revision = "20261205_020000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
