"""The store's node id: the `node_identity` table (made and filled by the migration
20261202_170000); `nodeid.py` reads it without SQLAlchemy."""

from __future__ import annotations

import sqlalchemy as sa

from ingestry.adapters.sql.metadata import Timestamp, metadata

node_identity = sa.Table(
    "node_identity",
    metadata,
    sa.Column("singleton", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("node_id", sa.Text, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.CheckConstraint("singleton = 1", name="ck_node_identity_singleton"),
)
