"""A payload too long to hold, streamed into its rows (see `services.spill`).

Its bytes go through one binary COPY into a one-column temp table, written chunk by
chunk (psycopg sends each as it comes: this process never holds the payload), then
two UPDATEs move them into the open quarantine entry and the failed raw row that were
written with an empty placeholder. The server assembles the value, as it would any
bytea.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import Any

import psycopg

from ingestry.adapters.postgres.wire import SIGNATURE, TRAILER

_CREATE = (
    "CREATE TEMP TABLE IF NOT EXISTS ingestry_spill (payload bytea NOT NULL) ON COMMIT DELETE ROWS"
)
_FILL_QUARANTINE = (
    "UPDATE quarantine q SET payload = s.payload FROM ingestry_spill s"
    " WHERE q.source = %s AND q.sha256 = %s AND q.status = 'open' AND length(q.payload) = 0"
)
# through raw_keys, the dedupe key: it finds the row (and its partition) by index
_FILL_RAW = (
    "UPDATE raw_payloads p SET payload = s.payload FROM ingestry_spill s, raw_keys k"
    " WHERE k.source = %s AND k.source_id = '' AND k.sha256 = %s"
    " AND p.id = k.raw_id AND p.received_at = k.received_at AND length(p.payload) = 0"
)


def fill_payload(
    conn: psycopg.Connection[Any],
    source: str,
    sha256: bytes,
    length: int,
    chunks: Callable[[], Iterator[bytes]],
) -> None:
    conn.execute(_CREATE)
    conn.execute("DELETE FROM ingestry_spill")  # a replayed unit starts again
    with conn.cursor() as cur:
        with cur.copy("COPY ingestry_spill (payload) FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(SIGNATURE + struct.pack("!hi", 1, length))
            for chunk in chunks():
                copy.write(chunk)
            copy.write(TRAILER)
        cur.execute(_FILL_QUARANTINE, (source, sha256))
        cur.execute(_FILL_RAW, (source, sha256))
    conn.execute("DELETE FROM ingestry_spill")
