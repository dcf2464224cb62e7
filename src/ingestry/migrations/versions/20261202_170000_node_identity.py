"""Node identity: every store has one stable node id (issue 17 item 3, issue 18 item 5)

`node_identity` holds one row: the store's id, `node-` and 32 hex digits of a random
uuid4, generated here, so a store that already exists gets one when it upgrades and a
new store gets one when its first migration runs (opening an empty database runs every
revision). It never changes afterwards: exports name it in their manifest, `import
--as-import` and `fork` use it as the `source_node` of the records they copy. The
`singleton` primary key (always 1) makes a second row impossible on both backends.

A downgrade drops the table (and with it the id: upgrading again makes a new one, so a
store that went down and up again is a new node to its peers).

Revision ID: 20261202_170000
Revises: 20261202_160000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261202_170000"
down_revision = "20261202_160000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from ingestry.adapters.sql.metadata import Timestamp
    from ingestry.adapters.sql.nodeid import new_node_id

    table = op.create_table(
        "node_identity",
        sa.Column("singleton", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("node_id", sa.Text, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.CheckConstraint("singleton = 1", name="ck_node_identity_singleton"),
    )
    from ingestry.domain.clock import utc_now

    op.bulk_insert(
        table,
        [{"singleton": 1, "node_id": new_node_id(), "created_at": utc_now()}],
    )


def downgrade() -> None:
    op.drop_table("node_identity")
