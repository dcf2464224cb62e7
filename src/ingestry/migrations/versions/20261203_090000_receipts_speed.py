"""receipts_speed: one index for the receipts on PostgreSQL (issue 13, re-ingest cost)

A receipt row had two b-trees on PostgreSQL: the primary key on `id` and
`ix_raw_receipts_raw_id (raw_id, id)`. Every reader finds receipts by raw id (the
latest one, the count, retention's and erasure's deletes), none by id alone, and ids
are unique by their sequence; so the primary key becomes `(raw_id, id)` and the
separate index goes: each receipt writes one index entry instead of two (about -35%
of the receipts' insert cost; docs/receipts.md, bench/README.md). Ids still come from
`raw_receipts_id_seq`: never reused, in arrival order.

SQLite is unchanged: its `id` is the rowid (no index of its own), and AUTOINCREMENT
needs the rowid table, so `(raw_id, id)` stays an index there.

Revision ID: 20261203_090000
Revises: 20261203_080000
"""

from __future__ import annotations

from alembic import op

revision = "20261203_090000"
down_revision = "20261203_080000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "ALTER TABLE raw_receipts DROP CONSTRAINT raw_receipts_pkey,"
        " ADD CONSTRAINT raw_receipts_pkey PRIMARY KEY (raw_id, id)"
    )
    op.drop_index("ix_raw_receipts_raw_id", table_name="raw_receipts")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_index("ix_raw_receipts_raw_id", "raw_receipts", ["raw_id", "id"])
    op.execute(
        "ALTER TABLE raw_receipts DROP CONSTRAINT raw_receipts_pkey,"
        " ADD CONSTRAINT raw_receipts_pkey PRIMARY KEY (id)"
    )
