"""receipt_spans (issue 13, re-ingest cost): one receipt row per run of consecutive
arrivals

`raw_receipts.span`: how many consecutive raw ids (and lines) a receipt row receives,
at most 256 (adapters/sql/spans.py, docs/receipts.md "Spans"). Existing rows are spans
of one; the readers read both. A file written in order, and every re-send of it, now
writes a receipt row per 256 arrivals instead of one per arrival.

Downgrade expands the spans back into one row per arrival, in arrival order (new ids:
every receipt is written again, so their order is kept), then drops the column.

Revision ID: 20261205_050000
Revises: 20261205_040000
"""

from __future__ import annotations

from alembic import op

revision = "20261205_050000"
down_revision = "20261205_040000"
branch_labels = None
depends_on = None

_EXPAND = (
    "INSERT INTO raw_receipts (raw_id, line, batch_id)"
    " WITH RECURSIVE e(id, raw_id, line, batch_id, k, span) AS ("
    " SELECT id, raw_id, line, batch_id, 0, span FROM raw_receipts WHERE id <= {last}"
    " UNION ALL SELECT id, raw_id, line, batch_id, k + 1, span FROM e WHERE k + 1 < span)"
    " SELECT raw_id + k, line + k, batch_id FROM e ORDER BY id, k"
)


def upgrade() -> None:
    op.execute(
        "ALTER TABLE raw_receipts ADD COLUMN span INTEGER NOT NULL DEFAULT 1"
        " CONSTRAINT ck_raw_receipts_span CHECK (span BETWEEN 1 AND 256)"
    )


def downgrade() -> None:
    conn = op.get_bind()
    if conn.exec_driver_sql("SELECT EXISTS (SELECT 1 FROM raw_receipts WHERE span > 1)").scalar():
        last = int(conn.exec_driver_sql("SELECT max(id) FROM raw_receipts").scalar_one())
        conn.exec_driver_sql(_EXPAND.format(last=last))
        conn.exec_driver_sql(f"DELETE FROM raw_receipts WHERE id <= {last}")
    op.execute("ALTER TABLE raw_receipts DROP COLUMN span")
