"""The raw write path: claim the batch's keys, then COPY only the new payloads.

1. COPY the narrow keys (source, source_id, sha256, received_at; ~100 bytes a row)
   into a staging table.
2. One statement claims them: INSERT INTO raw_keys … ORDER BY key ON CONFLICT DO
   NOTHING RETURNING what was new, with ids drawn in batch order (so `ORDER BY id`
   is arrival order, as on SQLite) and the first of identical rows in a batch winning.
   Keys already stored are filtered out first, so a batch of duplicates draws no ids
   and writes nothing (its commit does not even wait for the WAL).
   A key another transaction is claiming at the same moment waits for it, then counts
   as a duplicate; keys are claimed in key order, so concurrent writers queue instead
   of deadlocking.
3. COPY the payloads of the claimed keys straight into `raw_payloads` (PostgreSQL
   routes each row to its month's partition). Nobody else can claim those keys before
   this transaction ends, so this COPY cannot collide with anything.

Payload bytes cross the wire once, and only for new rows: a re-ingest sends keys only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import psycopg

from ingestry.adapters.postgres.rows import escaped_raw
from ingestry.adapters.postgres.staging import Stage
from ingestry.services.ports import RawRow

KEYS = Stage(
    "ingestry_stage_raw_keys",
    (
        ("n", "int4"),
        ("source", 'text COLLATE "C"'),
        ("source_id", 'text COLLATE "C"'),
        ("sha256", "bytea"),
        ("received_at", "text"),
    ),
)

CLAIM = (
    "WITH d AS MATERIALIZED ("
    " SELECT x.*, nextval('raw_payloads_id_seq') AS id FROM ("
    "  SELECT y.* FROM ("
    "   SELECT DISTINCT ON (source, source_id, sha256) * FROM ingestry_stage_raw_keys s"
    "   WHERE NOT EXISTS (SELECT FROM raw_keys k WHERE k.source = s.source"
    "    AND k.source_id = s.source_id AND k.sha256 = s.sha256)"
    "   ORDER BY source, source_id, sha256, n) y"
    "  ORDER BY y.n) x"
    ") INSERT INTO raw_keys (source, source_id, sha256, raw_id, received_at)"
    " SELECT source, source_id, sha256, id, received_at::timestamptz FROM d"
    " ORDER BY source, source_id, sha256"
    " ON CONFLICT DO NOTHING RETURNING source, source_id, sha256, raw_id, received_at"
)

COPY_PAYLOADS = (
    "COPY raw_payloads (id, source, entity_type, source_id, sha256, payload, header_sha256,"
    " received_at, processed_at, extractor_version, error, line, origin)"
    " FROM STDIN (FORMAT BINARY)"
)
PAYLOAD_TYPES = [
    "int8", "text", "text", "text", "bytea", "bytea", "bytea",
    "timestamptz", "timestamptz", "text", "text", "int4", "text",
]  # fmt: skip

Fill = Callable[[Stage, Any], None]


def append(conn: psycopg.Connection[Any], fill: Fill, rows: Sequence[RawRow]) -> int:
    """Store the rows whose (source, source_id, sha256) is new; returns how many."""
    rows = escaped_raw(rows)
    fill(KEYS, [(n, r[0], r[2], r[3], r[6]) for n, r in enumerate(rows)])
    claimed = conn.execute(CLAIM).fetchall()
    if not claimed:
        return 0
    first: dict[tuple[str, str, bytes], int] = {}
    for n, r in enumerate(rows):
        first.setdefault((r[0], r[2], r[3]), n)
    picked = sorted(
        (raw_id, received, first[(source, sid, bytes(sha))])
        for source, sid, sha, raw_id, received in claimed
    )
    moments: dict[str, datetime] = {}

    def moment(text: str | None) -> datetime | None:
        if text is None:
            return None
        found = moments.get(text)
        if found is None:
            found = moments[text] = datetime.fromisoformat(text)
        return found

    with conn.cursor() as cur, cur.copy(COPY_PAYLOADS) as copy:
        copy.set_types(PAYLOAD_TYPES)
        for raw_id, received, n in picked:
            r = rows[n]
            copy.write_row(
                (raw_id, r[0], r[1], r[2], r[3], r[4], r[5], received, moment(r[7]), r[8],
                 r[9], r[10], r[11])
            )  # fmt: skip
    return len(claimed)
