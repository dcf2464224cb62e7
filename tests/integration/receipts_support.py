"""Receipts as one row each, for tests that read them by SQL: the compact layout keeps
what a batch's receipts share in `raw_receipt_batches`, and a receipt row may receive a
span of consecutive raw ids (docs/receipts.md)."""

from __future__ import annotations

#: A FROM item with the old one-row-per-receipt columns (and `k`, the arrival's place in
#: its receipt row's span): use as `FROM {RECEIPTS} r`, in arrival order `ORDER BY id, k`.
RECEIPTS = (
    "(WITH RECURSIVE e(id, raw_id, line, batch_id, k, span) AS (SELECT id, raw_id, line,"
    " batch_id, 0, span FROM raw_receipts UNION ALL SELECT id, raw_id, line, batch_id, k + 1,"
    " span FROM e WHERE k + 1 < span) SELECT e.id, e.raw_id + e.k AS raw_id,"
    " e.line + e.k AS line, e.k, e.batch_id, b.run_srn, b.received_at, b.origin, b.container,"
    " b.container_sha256 FROM e JOIN raw_receipt_batches b ON b.id = e.batch_id)"
)
