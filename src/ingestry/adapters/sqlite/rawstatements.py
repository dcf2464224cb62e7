"""The raw layer's statements on SQLite: payloads (many to a statement, a batch's
shared values bound once, see `multirow`), CSV headers and quarantine."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from ingestry.adapters.sqlite.images import RAW_OWN, RAW_SHARED, image_in, insert_image
from ingestry.adapters.sqlite.multirow import insert_rows
from ingestry.adapters.sqlite.shared import own_values, shared_values
from ingestry.services.ports import RawRow, Wire

_RAW_INTO = (
    "INSERT INTO raw_payloads (source, entity_type, source_id, sha256, payload, header_sha256,"
    " received_at, processed_at, extractor_version, error, line, origin)"
)
_RAW_CONFLICT = " ON CONFLICT (source, source_id, sha256) DO NOTHING"
INSERT_HEADER = "INSERT INTO raw_headers (sha256, payload) VALUES (?,?) ON CONFLICT DO NOTHING"
INSERT_QUARANTINE = (
    "INSERT INTO quarantine (source, sha256, payload, line, origin, reason, received_at, status)"
    " VALUES (?,?,?,?,?,?,?,'open') ON CONFLICT (source, sha256) DO UPDATE SET"
    " reason = excluded.reason, line = excluded.line, origin = excluded.origin,"
    " received_at = excluded.received_at, status = 'open', resolved_at = NULL, resolution = NULL,"
    " payload = excluded.payload, resolved_by = NULL, header_sha256 = NULL"
    " WHERE quarantine.status <> 'open'"
)
SIZE_QUARANTINE = (
    "UPDATE quarantine SET payload = zeroblob(?) WHERE source = ? AND sha256 = ?"
    " AND status = 'open' AND length(payload) = 0 RETURNING id"
)
SIZE_RAW = (
    "UPDATE raw_payloads SET payload = zeroblob(?) WHERE source = ? AND source_id = ''"
    " AND sha256 = ? AND length(payload) = 0 RETURNING id"
)


def insert_raw(conn: sqlite3.Connection, rows: Sequence[RawRow], wire: Wire | None = None) -> int:
    """The raw rows, in order, many to a statement (`multirow`): the batch's shared
    values bound once (see `shared`) when it has them, else every value bound; their
    own values from the wire's image when the worker made one (`images`). Returns how
    many were stored (a payload already stored is not)."""
    shared = shared_values(rows, RAW_SHARED)
    if shared is None:
        return insert_rows(conn, _RAW_INTO, 12, {}, rows, _RAW_CONFLICT)
    values = dict(zip(RAW_SHARED, shared, strict=True))
    image = image_in(wire, "raw", rows)
    if image is not None:
        return insert_image(conn, _RAW_INTO, 12, values, image, _RAW_CONFLICT)
    own = list(own_values(rows, RAW_OWN))
    return insert_rows(conn, _RAW_INTO, 12, values, own, _RAW_CONFLICT)
