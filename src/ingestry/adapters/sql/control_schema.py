"""The control tables (API keys, idempotency keys, jobs) in SQLAlchemy Core.

Created by the migration `20261123_150000_api_jobs`; the adapters read names from here.
They live on the core `metadata` (so schema checks compare them with the migrated
database); `schema.py` imports this module, so importing the schema brings them.
"""

from __future__ import annotations

import sqlalchemy as sa

from ingestry.adapters.sql.metadata import BigId, Json, Timestamp, metadata

Epoch = sa.Float(precision=53)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("prefix", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("secret_hash", sa.LargeBinary, nullable=False),
    sa.Column("sources", Json, nullable=False),
    sa.Column("admin", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("revoked_at", Timestamp),
    sa.UniqueConstraint("prefix", name="uq_api_keys_prefix"),
    sqlite_autoincrement=True,  # ids never reused (migration 20261202_140000)
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("owner", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("fingerprint", sa.LargeBinary, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("response", sa.LargeBinary),
    sa.Column("created", Epoch, nullable=False),
    sa.Index("ix_idempotency_keys_created", "created"),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("params", Json, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("owner", sa.Text, nullable=False, server_default=""),
    sa.Column("idempotency_key", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("lease_owner", sa.Text),
    sa.Column("lease_expires", Epoch),
    sa.Column("progress", Json),
    sa.Column("result", Json),
    sa.Column("error", sa.Text),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Column("started_at", Timestamp),
    sa.Column("finished_at", Timestamp),
    sa.UniqueConstraint("owner", "idempotency_key", name="uq_jobs_owner_idempotency_key"),
    sa.Index("ix_jobs_status_created_at", "status", "created_at"),
)

# HTTP pulls (migration 20261202_180000, docs/harvest.md): every page response as
# received, and each source's incremental cursor.
harvest_pages = sa.Table(
    "harvest_pages",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("run_srn", sa.Text, nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("request_key", sa.Text, nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("headers", Json, nullable=False),
    sa.Column("etag", sa.Text),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("sha256", sa.LargeBinary, nullable=False),
    sa.Column("received_at", Timestamp, nullable=False),
    sa.Column("error", sa.Text),
    #: an erasure emptied the body (it held an erased item): migration 20261207_010000
    sa.Column("erased_at", Timestamp),
    sa.Index("ix_harvest_pages_source_request", "source", "request_key", "id"),
    sa.Index("ix_harvest_pages_run", "run_srn", "seq"),
    sqlite_autoincrement=True,
)

harvest_cursors = sa.Table(
    "harvest_cursors",
    metadata,
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("run_srn", sa.Text, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)
