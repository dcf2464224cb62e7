"""The receipts' statements on PostgreSQL (docs/receipts.md, compact layout).

A written batch's receipts share one `raw_receipt_batches` row per distinct (moment,
input name) among its rows (one, in practice); each receipt is then the raw id, that
batch row and the line: ~30 bytes a row instead of ~140. Each statement writes the
batch rows and the receipts together (data-modifying CTEs), in row order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ingestry.services.ports import Receipt

#: The batch rows of the distinct (moment, origin) pairs of `{rows}` (a CTE with
#: `received_at` as timestamptz and `origin`); parameters: run, container, csha.
_BATCHES = (
    "b AS (INSERT INTO raw_receipt_batches (run_srn, received_at, origin, container,"
    " container_sha256) SELECT %s, d.received_at, d.origin, %s, %s FROM"
    " (SELECT DISTINCT received_at, origin FROM {rows}) d RETURNING id, received_at, origin)"
)
_BATCH_OF = "b.received_at = {rows}.received_at AND b.origin IS NOT DISTINCT FROM {rows}.origin"

#: The staged keys' receipts (a claimed batch, or a re-ingest's skipped payloads).
STAGED_RECEIPTS = (
    "WITH s AS MATERIALIZED (SELECT s.n, s.line, s.origin, s.received_at::timestamptz"
    " AS received_at, k.raw_id FROM ingestry_stage_raw_keys s JOIN raw_keys k"
    " ON k.source = s.source AND k.source_id = s.source_id AND k.sha256 = s.sha256), "
    + _BATCHES.format(rows="s")
    + " INSERT INTO raw_receipts (raw_id, batch_id, line) SELECT s.raw_id, b.id, s.line"
    f" FROM s JOIN b ON {_BATCH_OF.format(rows='s')} ORDER BY s.n"
)

#: The receipts of rows a direct append wrote (ids drawn in row order); parameters:
#: run, container, csha, the ids, their moments.
WRITTEN_RECEIPTS = (
    "WITH w AS MATERIALIZED (SELECT id, received_at, origin, line FROM raw_payloads"
    " WHERE id = ANY(%s::int8[]) AND received_at = ANY(%s::timestamptz[])), "
    + _BATCHES.format(rows="w")
    + " INSERT INTO raw_receipts (raw_id, batch_id, line) SELECT w.id, b.id, w.line"
    f" FROM w JOIN b ON {_BATCH_OF.format(rows='w')} ORDER BY w.id"
)

#: `WRITTEN_RECEIPTS` for ids drawn consecutively (the usual case: one writer draws a
#: batch's ids at once), read back by range: a few leaf pages of the primary key
#: instead of a descent per id (`id = ANY(…)`: ~4 index pages a row). Parameters: run,
#: container, csha, the lowest and highest id, their moments.
WRITTEN_RANGE_RECEIPTS = WRITTEN_RECEIPTS.replace(
    "id = ANY(%s::int8[])", "id BETWEEN %s::int8 AND %s::int8"
)

#: The receipts of rows a direct append wrote, from their lines in hand (the usual case:
#: one moment and input name for the batch, so one batch row): no read-back of the rows
#: just written, no grouping, join or sort. Parameters: run, moment, origin, container,
#: csha, then the ids and lines (`LINED_IDS`) or the lowest id and lines (`LINED_RANGE`).
_LINED = (
    "WITH b AS (INSERT INTO raw_receipt_batches (run_srn, received_at, origin, container,"
    " container_sha256) VALUES (%s, %s::timestamptz, %s, %s, %s) RETURNING id)"
    " INSERT INTO raw_receipts (raw_id, batch_id, line) SELECT {raw_id}, b.id, u.line"
    " FROM b, {rows} ORDER BY u.o"
)
LINED_IDS = _LINED.format(
    raw_id="u.raw_id",
    rows="unnest(%s::int8[], %s::int4[]) WITH ORDINALITY AS u(raw_id, line, o)",
)
LINED_RANGE = _LINED.format(
    raw_id="%s::int8 + u.o - 1", rows="unnest(%s::int4[]) WITH ORDINALITY AS u(line, o)"
)

#: The receipts a run wrote, and their batch rows (bundle import replaces them).
DROP_RUN_RECEIPTS = (
    "WITH b AS (DELETE FROM raw_receipt_batches WHERE run_srn = %s RETURNING id)"
    " DELETE FROM raw_receipts r USING b WHERE r.batch_id = b.id"
)


def written_receipts(
    ids: Sequence[int], moments: Sequence[datetime | str], receipt: Receipt
) -> tuple[str, tuple[Any, ...]]:
    """The statement and parameters that write the receipts of rows a direct append
    just wrote with `ids` (in row order): by range when the ids are consecutive."""
    run, container, container_sha = receipt
    if ids and max(ids) - min(ids) == len(ids) - 1:  # unique ids: exactly that range
        return WRITTEN_RANGE_RECEIPTS, (min(ids), max(ids), moments, run, container, container_sha)
    return WRITTEN_RECEIPTS, (list(ids), moments, run, container, container_sha)


def lined_receipts(
    ids: Sequence[int],
    lines: Sequence[int | None],
    arrival: tuple[str, str | None],
    receipt: Receipt,
) -> tuple[str, tuple[Any, ...]]:
    """The statement and parameters that write the receipts of rows a direct append
    just wrote with `ids`, whose `lines` are known and which share one (moment, origin)
    `arrival`: the same rows `written_receipts` writes."""
    head = (receipt[0], *arrival, receipt[1], receipt[2])
    if ids and list(ids) == list(range(ids[0], ids[0] + len(ids))):  # drawn at once
        return LINED_RANGE, (*head, ids[0], list(lines))
    return LINED_IDS, (*head, list(ids), list(lines))


def skipped_receipts(probe: str) -> str:
    """The CTEs that write the receipts of a scanned re-ingest's no-op payloads from
    `probe` (a CTE with n, line, raw_id and `changed`): one batch row (the batch's
    moment, input name and container are parameters) when there is any."""
    return (
        "b AS (INSERT INTO raw_receipt_batches (run_srn, received_at, origin, container,"
        " container_sha256) SELECT %(run)s, %(at)s::timestamptz, %(origin)s, %(container)s,"
        f" %(csha)s WHERE EXISTS (SELECT FROM {probe} WHERE NOT changed) RETURNING id),"
        " r AS (INSERT INTO raw_receipts (raw_id, batch_id, line) SELECT raw_id, b.id, line"
        f" FROM {probe}, b WHERE NOT changed ORDER BY n)"
    )
