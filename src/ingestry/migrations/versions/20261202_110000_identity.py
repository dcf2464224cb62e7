"""Record identity includes the upstream (data source or node)

Reserved for the identity work (issue 13, items 3, 5-7). A no-op until filled in.

Revision ID: 20261202_110000
Revises: 20261202_100000
"""

from __future__ import annotations

revision = "20261202_110000"
down_revision = "20261202_100000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
