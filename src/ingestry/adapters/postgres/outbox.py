"""The transactional outbox on PostgreSQL: a batch's events in one COPY."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from ingestry.domain.records import change_srns
from ingestry.services.ports import NewRecords, RecordChange

COPY_EVENTS = "COPY record_events (srn, convention, version, created_at) FROM STDIN"


def append_events(
    conn: psycopg.Connection[Any], convention: str, changes: Sequence[RecordChange], now: str
) -> None:
    """Text COPY written as one block: a srn is percent-encoded ASCII and a convention
    an identifier, so no value holds a tab, newline or backslash and the lines need no
    escaping (client CPU for 100,000 events, srns included: 0.17 s, against 0.21-0.30 s
    with a `write_row` per event); no staging table, one round trip for the batch."""
    if not changes:
        return
    if isinstance(changes, NewRecords) and changes.lines is not None:
        # srns spelled by the preparation worker: one C-level replace for the batch
        _copy(conn, changes.lines.replace(b"\n", f"\t{convention}\t1\t{now}\n".encode()))
        return
    srns = change_srns(changes)
    if all(c.version == 1 for c in changes):  # new records: one join for the batch
        tail = f"\t{convention}\t1\t{now}\n"
        block = tail.join(srns) + tail
    else:
        tail = f"\t{convention}\t"
        block = "".join(
            f"{srn}{tail}{c.version}\t{now}\n" for srn, c in zip(srns, changes, strict=True)
        )
    _copy(conn, block.encode())


def _copy(conn: psycopg.Connection[Any], block: bytes) -> None:
    with conn.cursor() as cur, cur.copy(COPY_EVENTS) as copy:
        copy.write(block)
