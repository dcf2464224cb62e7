"""Receipts as one row each, for tests that read them by SQL: the compact layout keeps
what a batch's receipts share in `raw_receipt_batches` (docs/receipts.md)."""

from __future__ import annotations

#: A FROM item with the old one-row-per-receipt columns: use as `FROM {RECEIPTS} r`.
RECEIPTS = (
    "(SELECT r.id, r.raw_id, r.line, r.batch_id, b.run_srn, b.received_at, b.origin,"
    " b.container, b.container_sha256 FROM raw_receipts r"
    " JOIN raw_receipt_batches b ON b.id = r.batch_id)"
)
