"""The transactional outbox on SQLite: a batch's events, many to a statement.

An event carries its record's rowid (`record_id`, migration 20261203_110000), the key
of the events-of-a-record index. The upsert that made the changes knows the rowids
and hands them over; otherwise (a hook's update, a lone change) each event looks its
record up by identity in the same statement.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from operator import itemgetter

from ingestry.adapters.sql.names import table_name
from ingestry.adapters.sqlite.multirow import insert_rows
from ingestry.domain.records import change_srns, plain_text
from ingestry.domain.records import plainly_spelled as spelled_as_is
from ingestry.services.ports import NewRecords, RecordChange

_UPSTREAM, _SOURCE_ID = itemgetter(9), itemgetter(1)  # of a RecordRow

_EVENTS_INTO = "INSERT INTO record_events (srn, convention, version, created_at, record_id)"


def lookup_event(convention: str) -> str:
    """An event whose record's rowid is read by identity (source_type, upstream, id)."""
    return (
        f'{_EVENTS_INTO} VALUES (?,?,?,?, (SELECT id FROM "{table_name(convention)}"'
        " WHERE source_type = ? AND upstream = ? AND source_id = ?))"
    )


def plainly_spelled(changes: Sequence[RecordChange]) -> bool:
    """`domain.records.plainly_spelled`; of new records, from their rows without
    making their changes (`NewRecords`)."""
    if isinstance(changes, NewRecords):
        rows = changes.rows
        return plain_text("".join(map(_UPSTREAM, rows)) + "".join(map(_SOURCE_ID, rows)))
    return spelled_as_is(changes)


def append_events(
    conn: sqlite3.Connection,
    convention: str,
    changes: Sequence[RecordChange],
    now: str,
    record_ids: Sequence[int] | None = None,
) -> None:
    """Narrow rows (the kind follows the version, the provenance is the record's), so a
    bulk write pays one short row and one short index entry per event. `record_ids`:
    the changes' rowids, in order, when the caller knows them."""
    if not changes:
        return
    srns = change_srns(changes)
    if record_ids is not None:
        rows = [
            (srn, convention, c.version, now, rowid)
            for srn, c, rowid in zip(srns, changes, record_ids, strict=True)
        ]
        insert_rows(conn, _EVENTS_INTO, 5, {}, rows)  # many rows to a statement
        return
    conn.executemany(
        lookup_event(convention),
        [
            (srn, convention, c.version, now, c.source_type, c.upstream, c.source_id)
            for srn, c in zip(srns, changes, strict=True)
        ],
    )
