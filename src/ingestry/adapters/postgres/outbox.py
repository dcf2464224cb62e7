"""The transactional outbox on PostgreSQL: a batch's events in one COPY."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from ingestry.services.ports import RecordChange

COPY_EVENTS = "COPY record_events (srn, convention, version, created_at) FROM STDIN"


def append_events(
    conn: psycopg.Connection[Any], convention: str, changes: Sequence[RecordChange], now: str
) -> None:
    """Text COPY: four short values a row (srns are percent-encoded ASCII, so nothing
    needs escaping for PostgreSQL text), no staging table, no round trip per row."""
    if not changes:
        return
    with conn.cursor() as cur, cur.copy(COPY_EVENTS) as copy:
        write = copy.write_row
        for change in changes:
            write((change.srn, convention, change.version, now))
