"""record lifecycle: outbox events, hook runs, features

- `record_events` is the transactional outbox: one narrow row per record version
  (srn, convention, version, created_at), written in the record's transaction. It is a
  queue, not a log: a delivered event is deleted; a failing one keeps its attempts,
  last error and next attempt time; after N failures it is parked (`status = 'dead'`).
  `(srn, id)` serves the per-record order check of every claim.
- `hook_runs`: one row per hook run (succeeded or failed: exit code, reason, output
  tails, duration).
- `record_features`: what hooks produced, keyed by (srn, version, hook, name), so a
  re-delivered event updates in place instead of duplicating.

Revision ID: 20261123_130000
Revises: 20261123_120000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "20261123_130000"
down_revision = "20261123_120000"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)
#: Bytewise comparison on PostgreSQL too: srns are ASCII, equality is all we ask.
Key = sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "record_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("srn", Key, nullable=False),
        sa.Column("convention", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("available_at", Timestamp),
        sa.Column("lease_owner", sa.Text),
        sa.Column("leased_until", Timestamp),
        sa.Column("last_error", sa.Text),
        sa.Column("failed_at", Timestamp),
    )
    op.create_index("ix_record_events_srn", "record_events", ["srn", "id"])
    op.create_table(
        "hook_runs",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.BigInteger),
        sa.Column("srn", Key, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("convention", sa.Text, nullable=False),
        sa.Column("hook", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("exit_code", sa.Integer),
        sa.Column("reason", sa.Text),
        sa.Column("stdout_tail", sa.Text),
        sa.Column("stderr_tail", sa.Text),
        sa.Column("features", sa.Integer, nullable=False, server_default="0"),
        sa.Column("started_at", Timestamp, nullable=False),
        sa.Column("duration_seconds", sa.Float, nullable=False),
    )
    op.create_index("ix_hook_runs_record", "hook_runs", ["srn", "version", "hook"])
    op.create_index("ix_hook_runs_status", "hook_runs", ["status", "id"])
    op.create_table(
        "record_features",
        sa.Column("srn", Key, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("hook", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("convention", sa.Text, nullable=False),
        sa.Column("value", Json, nullable=False),
        sa.Column("produced_at", Timestamp, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("record_features")
    op.drop_index("ix_hook_runs_status", table_name="hook_runs")
    op.drop_index("ix_hook_runs_record", table_name="hook_runs")
    op.drop_table("hook_runs")
    op.drop_index("ix_record_events_srn", table_name="record_events")
    op.drop_table("record_events")
