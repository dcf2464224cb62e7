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

from ingestry.adapters.sql.spans import islands, span_columns
from ingestry.services.ports import Receipt

#: The batch rows of the distinct (moment, origin) pairs of `{rows}` (a CTE with
#: `received_at` as timestamptz and `origin`); parameters: run, container, csha.
_BATCHES = (
    "b AS (INSERT INTO raw_receipt_batches (run_srn, received_at, origin, container,"
    " container_sha256) SELECT %s, d.received_at, d.origin, %s, %s FROM"
    " (SELECT DISTINCT received_at, origin FROM {rows}) d RETURNING id, received_at, origin)"
)
_BATCH_OF = "b.received_at = {rows}.received_at AND b.origin IS NOT DISTINCT FROM {rows}.origin"

#: The receipts of `{rows}` (a CTE of raw_id, line, received_at, origin) as spans, a
#: batch row per distinct (moment, origin) among them; `{order}`: the arrival order.
_SPANS = (
    _BATCHES + ", a AS (SELECT {order} AS n, {rows}.raw_id, {rows}.line, b.id AS batch_id"
    " FROM {rows} JOIN b ON " + _BATCH_OF + ")"
    " INSERT INTO raw_receipts (raw_id, batch_id, line, span)"
    f" SELECT i.raw_id, i.batch_id, i.line, i.span FROM ({islands('a', 'n')}) i"
    " ORDER BY i.first"
)

#: The staged keys' receipts (a claimed batch, or a re-ingest's skipped payloads).
STAGED_RECEIPTS = (
    "WITH s AS MATERIALIZED (SELECT s.n, s.line, s.origin, s.received_at::timestamptz"
    " AS received_at, k.raw_id FROM ingestry_stage_raw_keys s JOIN raw_keys k"
    " ON k.source = s.source AND k.source_id = s.source_id AND k.sha256 = s.sha256), "
    + _SPANS.format(rows="s", order="s.n")
)

#: The receipts of rows a direct append wrote (ids drawn in row order); parameters:
#: run, container, csha, the ids, their moments.
WRITTEN_RECEIPTS = (
    "WITH w AS MATERIALIZED (SELECT id AS raw_id, received_at, origin, line FROM raw_payloads"
    " WHERE id = ANY(%s::int8[]) AND received_at = ANY(%s::timestamptz[])), "
    + _SPANS.format(rows="w", order="w.raw_id")
)

#: `WRITTEN_RECEIPTS` for ids drawn consecutively (the usual case: one writer draws a
#: batch's ids at once), read back by range: a few leaf pages of the primary key
#: instead of a descent per id (`id = ANY(…)`: ~4 index pages a row). Parameters: run,
#: container, csha, the lowest and highest id, their moments.
WRITTEN_RANGE_RECEIPTS = WRITTEN_RECEIPTS.replace(
    "id = ANY(%s::int8[])", "id BETWEEN %s::int8 AND %s::int8"
)

#: The receipts of rows a direct append wrote, from their lines in hand (the usual case:
#: one moment and input name for the batch, so one batch row), as spans (adapters/sql/
#: spans.py): no read-back of the rows just written, and a receipt row per run of
#: consecutive ids and lines instead of one per row. Parameters: run, moment, origin,
#: container, csha, then the spans' first ids, lines and lengths.
LINED_SPANS = (
    "WITH b AS (INSERT INTO raw_receipt_batches (run_srn, received_at, origin, container,"
    " container_sha256) VALUES (%s, %s::timestamptz, %s, %s, %s) RETURNING id)"
    " INSERT INTO raw_receipts (raw_id, batch_id, line, span) SELECT u.raw_id, b.id, u.line,"
    " u.span FROM b, unnest(%s::int8[], %s::int4[], %s::int4[]) WITH ORDINALITY"
    " AS u(raw_id, line, span, o) ORDER BY u.o"
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
    just wrote with `ids` (in row order), whose `lines` are known and which share one
    (moment, origin) `arrival`: the same receipts `written_receipts` writes, as spans."""
    firsts, starts, lengths = span_columns(ids, lines)
    return LINED_SPANS, (receipt[0], *arrival, receipt[1], receipt[2], firsts, starts, lengths)
