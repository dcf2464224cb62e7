"""Making and reading the store's node id (the `node_identity` table is in `node.py`):
kept apart from the table so opening or creating a store never imports SQLAlchemy."""

from __future__ import annotations

import uuid
from typing import Any

from ingestry.domain.errors import StorageError


def new_node_id() -> str:
    """A new store's id: `node-` and 32 hex digits of a random uuid4 (migration
    20261202_170000 and the schema snapshot's loader both call this)."""
    return f"node-{uuid.uuid4().hex}"


def read_node_id(row: Any, where: str) -> str:
    """The id in the table's one row; StorageError naming the store when it has none
    (a schema older than the node identity migration)."""
    if row is None or not row[0]:
        raise StorageError(
            f"store {where} has no node id (its schema predates 20261202_170000): "
            "run `ingestry db upgrade`"
        )
    return str(row[0])
