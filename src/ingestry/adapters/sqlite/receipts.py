"""The receipts' statements on SQLite (docs/receipts.md, compact layout).

What the receipts of a written batch share is one `raw_receipt_batches` row per
distinct (moment, input name) among its rows (one, in practice); each receipt is then
the raw id, that batch row and the line: ~20 bytes a row instead of ~140.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from ingestry.services.ports import Receipt

#: (received_at, origin): what a raw row adds to its batch's shared receipt fields.
BatchKey = tuple[str, str | None]

#: One receipt per row, in row order: the raw row's id found through the dedupe key (the
#: row was just inserted or is the duplicate it matched). Parameters: batch, line, key.
#: For the keys JSON cannot carry (`FIND_RECEIPTS_JSON`), and receipts of stored rows.
INSERT_RECEIPT = (
    "INSERT INTO raw_receipts (raw_id, batch_id, line) SELECT id, ?, ? FROM raw_payloads"
    " WHERE source = ? AND source_id = ? AND sha256 = ?"
)
#: The raw ids of a whole batch's keys, for their receipts: the keys travel as one JSON
#: array of [source, source_id, line, batch, sha256 in hex] (SQLite 3.40 has no unhex(),
#: so the stored sha256 is compared in hex once the (source, source_id) index found the
#: row); rows of (raw id, line, batch) in array order, for `receipt_spans`. One
#: statement, ~4x cheaper than a lookup per row (bench/README, branch `regress`).
FIND_RECEIPTS_JSON = (
    "SELECT p.id, json_extract(j.value, '$[2]'), json_extract(j.value, '$[3]')"
    " FROM json_each(?) j JOIN raw_payloads p"
    " ON p.source = json_extract(j.value, '$[0]') AND p.source_id = json_extract(j.value, '$[1]')"
    " AND hex(p.sha256) = json_extract(j.value, '$[4]') ORDER BY j.key"
)
#: One receipt row per span (adapters/sql/spans.py): first raw id, line, batch, length.
INSERT_SPANS = "INSERT INTO raw_receipts (raw_id, line, batch_id, span) VALUES (?,?,?,?)"
_INSERT_BATCH = (
    "INSERT INTO raw_receipt_batches (run_srn, received_at, origin, container,"
    " container_sha256) VALUES (?,?,?,?,?)"
)


def open_batches(
    conn: sqlite3.Connection, receipt: Receipt, keys: Iterable[BatchKey]
) -> dict[BatchKey, int]:
    """A batch row for each distinct key, in first-seen order (ids ascending)."""
    run, container, container_sha = receipt
    out: dict[BatchKey, int] = {}
    for key in dict.fromkeys(keys):
        cursor = conn.execute(_INSERT_BATCH, (run, key[0], key[1], container, container_sha))
        out[key] = int(cursor.lastrowid or 0)
    return out


def drop_run_receipts(conn: sqlite3.Connection, run_srn: str) -> int:
    """Delete the receipts a run wrote, and their batch rows; returns the receipts."""
    batches = "SELECT id FROM raw_receipt_batches WHERE run_srn = ?"
    cursor = conn.execute(f"DELETE FROM raw_receipts WHERE batch_id IN ({batches})", (run_srn,))
    conn.execute("DELETE FROM raw_receipt_batches WHERE run_srn = ?", (run_srn,))
    return cursor.rowcount
