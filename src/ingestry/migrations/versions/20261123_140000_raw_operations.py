"""raw-store operations: holds, retention audit, quarantine decisions

Reserved in the migration chain so the three capabilities can be built side by side
without branching the Alembic history; the owner of the capability fills it in.

Revision ID: 20261123_140000
Revises: 20261123_130000
"""

from __future__ import annotations

revision = "20261123_140000"
down_revision = "20261123_130000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
