"""New records' changes-feed rows on PostgreSQL, written by the statements that insert
the records (see `records`): `record_changes (xid, convention, record_id, version)`,
one row per new record, in id order, in the inserting transaction.

Only updates keep a trigger (`adapters.sql.changes`). Every PostgreSQL path that
inserts records goes through `Writer.upsert_records` (ingest, replay, import, fork,
publish): its insert statement and its two direct COPYs each write their rows' changes
(tests/integration/test_feed_postgres.py checks each path, and that no record table
has an insert trigger left).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

#: The writing transaction's id as the feed keeps it, computed once per statement.
XID = "(SELECT pg_current_xact_id()::text::bigint)"

_INSERT = "INSERT INTO record_changes (xid, convention, record_id, version)"
#: Parameters: convention, lowest id, highest id (ids drawn consecutively).
NEW_RANGE = f"{_INSERT} SELECT {XID}, %s, i, 1 FROM generate_series(%s::int8, %s::int8) AS i"
#: Parameters: convention, the ids (ascending).
NEW_IDS = f"{_INSERT} SELECT {XID}, %s, i, 1 FROM unnest(%s::int8[]) AS i"

#: Parameters: the record table's id sequence, how many ids.
DRAW_IDS = "SELECT nextval(%s::regclass) FROM generate_series(1, %s)"
SEQUENCE = "SELECT pg_get_serial_sequence(%s, 'id')"


def draw_ids(conn: psycopg.Connection[Any], sequence: str, count: int) -> list[int]:
    """`count` ids from the record table's own sequence, ascending (as the column's
    default would draw them, row by row)."""
    return [i for (i,) in conn.execute(DRAW_IDS, (sequence, count))]


def write_new(conn: psycopg.Connection[Any], convention: str, ids: Sequence[int]) -> None:
    """The changes of new records `ids` (ascending), version 1."""
    if not ids:
        return
    if ids[-1] - ids[0] == len(ids) - 1:  # ascending and unique: exactly that range
        conn.execute(NEW_RANGE, (convention, ids[0], ids[-1]))
    else:
        conn.execute(NEW_IDS, (convention, list(ids)))
