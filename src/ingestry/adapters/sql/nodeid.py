"""Reading the store's node id (the `node_identity` table is in `node.py`): kept apart
from the table so opening a store on the hot path never imports SQLAlchemy."""

from __future__ import annotations

from typing import Any

from ingestry.domain.errors import StorageError


def read_node_id(row: Any, where: str) -> str:
    """The id in the table's one row; StorageError naming the store when it has none
    (a schema older than the node identity migration)."""
    if row is None or not row[0]:
        raise StorageError(
            f"store {where} has no node id (its schema predates 20261202_170000): "
            "run `ingestry db upgrade`"
        )
    return str(row[0])
