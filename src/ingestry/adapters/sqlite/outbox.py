"""The transactional outbox on SQLite: a batch's events in one executemany."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from ingestry.domain.records import change_srns
from ingestry.services.ports import RecordChange

INSERT_EVENT = "INSERT INTO record_events (srn, convention, version, created_at) VALUES (?,?,?,?)"


def append_events(
    conn: sqlite3.Connection, convention: str, changes: Sequence[RecordChange], now: str
) -> None:
    """Narrow rows (the kind follows the version, the provenance is the record's), so a
    bulk write pays one short row and one index entry per event."""
    if changes:
        srns = change_srns(changes)
        conn.executemany(
            INSERT_EVENT,
            [(srn, convention, c.version, now) for srn, c in zip(srns, changes, strict=True)],
        )
