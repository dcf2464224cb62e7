"""raw-store operations: holds, retention audit, quarantine decisions

- `raw_holds`: legal/audit holds that keep a source's raw rows (all of them, or those
  of one source id) from retention, until a time or until released, with who placed
  and released them.
- `retention_audit`: one row per source and retention run: the cutoff, what was
  purged (rows, bytes, whole partitions) and what was kept, by whom.
- `quarantine` gains `header_sha256` (a CSV row's header, so a quarantined row can be
  re-read on replay) and `resolved_by` (who released or discarded it; `resolution` says
  why, `resolved_at` when).
- On PostgreSQL the window index of `raw_payloads` becomes (source, received_at, id):
  replay walks a window by that keyset, so each batch is one index range read with no
  sort. SQLite's index has the rowid (= id) as its implicit last column already.

Revision ID: 20261123_140000
Revises: 20261123_130000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261123_140000"
down_revision = "20261123_130000"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "raw_holds",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("source_id", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Column("held_until", Timestamp),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("released_at", Timestamp),
        sa.Column("released_by", sa.Text),
    )
    op.create_index("ix_raw_holds_source", "raw_holds", ["source"])
    op.create_table(
        "retention_audit",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("cutoff", Timestamp, nullable=False),
        sa.Column("rows_purged", sa.BigInteger, nullable=False),
        sa.Column("bytes_freed", sa.BigInteger, nullable=False),
        sa.Column("partitions_dropped", sa.Integer, nullable=False),
        sa.Column("kept_unextracted", sa.BigInteger, nullable=False),
        sa.Column("kept_quarantined", sa.BigInteger, nullable=False),
        sa.Column("kept_held", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("at", Timestamp, nullable=False),
    )
    op.create_index("ix_retention_audit_source_at", "retention_audit", ["source", "at"])
    with op.batch_alter_table("quarantine") as batch:
        batch.add_column(sa.Column("header_sha256", sa.LargeBinary))
        batch.add_column(sa.Column("resolved_by", sa.Text))
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_raw_payloads_source_received_at", table_name="raw_payloads")
        op.create_index(
            "ix_raw_payloads_source_received_at", "raw_payloads", ["source", "received_at", "id"]
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_raw_payloads_source_received_at", table_name="raw_payloads")
        op.create_index(
            "ix_raw_payloads_source_received_at", "raw_payloads", ["source", "received_at"]
        )
    with op.batch_alter_table("quarantine") as batch:
        batch.drop_column("resolved_by")
        batch.drop_column("header_sha256")
    op.drop_index("ix_retention_audit_source_at", table_name="retention_audit")
    op.drop_table("retention_audit")
    op.drop_index("ix_raw_holds_source", table_name="raw_holds")
    op.drop_table("raw_holds")
