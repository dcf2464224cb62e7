"""receipts_cost: the compact receipts layout (issue 13, the receipts' cost on re-ingest)

What the receipts of a written batch share (run, received_at, input name, container
name and sha256) moves to `raw_receipt_batches`, one row per distinct set of those
values; `raw_receipts` keeps per arrival only its id, raw id, line and `batch_id`
(~20 bytes a row instead of ~140; see docs/receipts.md). Existing receipts are
regrouped losslessly: one batch row per distinct (run_srn, received_at, origin,
container, container_sha256), in the order of its first receipt; receipt ids, raw ids
and lines are kept as they are (so ids are never reused, and `latest` is unchanged).

Downgrade puts the shared columns back on each receipt from its batch row and drops
`raw_receipt_batches`.

Revision ID: 20261203_070000
Revises: 20261203_060000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261203_070000"
down_revision = "20261203_060000"
branch_labels = None
depends_on = None

SHARED = ("run_srn", "received_at", "origin", "container", "container_sha256")


def upgrade() -> None:
    from ingestry.adapters.sql.metadata import BigId, Timestamp

    sqlite = op.get_bind().dialect.name == "sqlite"
    op.create_table(
        "raw_receipt_batches",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("run_srn", sa.Text),
        sa.Column("received_at", Timestamp, nullable=False),
        sa.Column("origin", sa.Text),
        sa.Column("container", sa.Text),
        sa.Column("container_sha256", sa.LargeBinary),
        sqlite_autoincrement=True,
    )
    shared = ", ".join(SHARED)
    op.execute(
        f"INSERT INTO raw_receipt_batches ({shared}) SELECT {shared} FROM raw_receipts"
        f" GROUP BY {shared} ORDER BY min(id)"
    )
    op.create_index("ix_tmp_raw_receipt_batches", "raw_receipt_batches", ["received_at"])
    same = " IS " if sqlite else " IS NOT DISTINCT FROM "
    match = " AND ".join(f"b.{c}{same}raw_receipts.{c}" for c in SHARED)
    if sqlite:  # ADD COLUMN NOT NULL needs a default; every row gets its batch below
        op.execute("ALTER TABLE raw_receipts ADD COLUMN batch_id BIGINT NOT NULL DEFAULT 0")
        op.execute(
            "UPDATE raw_receipts SET batch_id ="
            f" (SELECT b.id FROM raw_receipt_batches b WHERE {match})"
        )
    else:
        op.add_column("raw_receipts", sa.Column("batch_id", sa.BigInteger))
        op.execute(
            f"UPDATE raw_receipts SET batch_id = b.id FROM raw_receipt_batches b WHERE {match}"
        )
        op.alter_column("raw_receipts", "batch_id", nullable=False)
    op.drop_index("ix_tmp_raw_receipt_batches", table_name="raw_receipt_batches")
    for column in SHARED:
        op.execute(f"ALTER TABLE raw_receipts DROP COLUMN {column}")


def downgrade() -> None:
    from ingestry.adapters.sql.metadata import Timestamp

    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column("raw_receipts", sa.Column("run_srn", sa.Text))
    if sqlite:  # NOT NULL needs a default on SQLite; every row gets its value below
        op.execute("ALTER TABLE raw_receipts ADD COLUMN received_at DATETIME NOT NULL DEFAULT ''")
    else:
        op.add_column("raw_receipts", sa.Column("received_at", Timestamp))
    op.add_column("raw_receipts", sa.Column("origin", sa.Text))
    op.add_column("raw_receipts", sa.Column("container", sa.Text))
    op.add_column("raw_receipts", sa.Column("container_sha256", sa.LargeBinary))
    values = ", ".join(f"{c} = b.{c}" for c in SHARED)
    op.execute(
        f"UPDATE raw_receipts SET {values} FROM raw_receipt_batches b"
        " WHERE b.id = raw_receipts.batch_id"
    )
    if not sqlite:
        op.alter_column("raw_receipts", "received_at", nullable=False)
    op.execute("ALTER TABLE raw_receipts DROP COLUMN batch_id")
    op.drop_table("raw_receipt_batches")
