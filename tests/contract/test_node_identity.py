"""Every store has one stable node id (`node-` and 32 hex digits), on every backend."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from ingestry.services.ports import Storage
from tests.backends import Database
from tests.contract.conftest import CONVENTION

NODE_ID = re.compile(r"node-[0-9a-f]{32}")


def test_a_new_store_has_a_node_id(storage: Storage) -> None:
    node = storage.node_id()
    assert NODE_ID.fullmatch(node), node
    assert storage.node_id() == node  # read again: the same


def test_the_node_id_survives_reopening_and_one_row_is_kept(storage: Storage, db: Database) -> None:
    node = storage.node_id()
    storage.close()
    again = reopen(db)
    try:
        assert again.node_id() == node
    finally:
        again.close()
    assert db.rows("SELECT node_id FROM node_identity") == [(node,)]


def test_a_second_row_is_refused_by_the_database(storage: Storage, db: Database) -> None:
    node = storage.node_id()
    for singleton in (1, 2):  # the primary key, then the check constraint
        with pytest.raises(sa.exc.IntegrityError):
            db.execute(
                "INSERT INTO node_identity (singleton, node_id, created_at)"
                " VALUES (:s, 'node-other', CURRENT_TIMESTAMP)",
                s=singleton,
            )
    assert storage.node_id() == node


def test_two_stores_have_different_node_ids(
    storage: Storage, db: Database, other_db: Database
) -> None:
    other = reopen(other_db)
    try:
        other.prepare([CONVENTION], auto_upgrade=True)
        assert NODE_ID.fullmatch(other.node_id())
        assert other.node_id() != storage.node_id()
    finally:
        other.close()


def reopen(db: Database) -> Storage:
    if db.kind == "sqlite":
        from ingestry.adapters.sqlite import SQLiteStorage

        assert db.sqlite_file is not None
        return SQLiteStorage(db.sqlite_file)
    from ingestry.adapters.postgres import PostgresStorage

    return PostgresStorage(db.url)
