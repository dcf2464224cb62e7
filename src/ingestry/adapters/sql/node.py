"""The store's node id: the `node_identity` table (made and filled by the migration
20261202_170000) and how both backends read it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ingestry.adapters.sql.metadata import Timestamp, metadata
from ingestry.domain.errors import StorageError

node_identity = sa.Table(
    "node_identity",
    metadata,
    sa.Column("singleton", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("node_id", sa.Text, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.CheckConstraint("singleton = 1", name="ck_node_identity_singleton"),
)


def read_node_id(row: Any, where: str) -> str:
    """The id in the table's one row; StorageError naming the store when it has none
    (a schema older than the node identity migration)."""
    if row is None or not row[0]:
        raise StorageError(
            f"store {where} has no node id (its schema predates 20261202_170000): "
            "run `ingestry db upgrade`"
        )
    return str(row[0])
