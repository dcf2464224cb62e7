"""The core schema in SQLAlchemy Core, shared by SQLite and PostgreSQL.

Alembic migrations create these tables; adapters read the names from here. Record
tables (`records_<convention>`) are not here: they follow the config's conventions and
are created and evolved by `conventions.py`.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# The control tables (API keys, idempotency keys, jobs), the node id and the changes
# feed register on the same metadata.
from ingestry.adapters.sql import changes as _changes  # noqa: F401
from ingestry.adapters.sql import control_schema as _control_schema  # noqa: F401
from ingestry.adapters.sql import node as _node  # noqa: F401
from ingestry.adapters.sql.metadata import BigId as BigId
from ingestry.adapters.sql.metadata import Json as Json
from ingestry.adapters.sql.metadata import Timestamp as Timestamp
from ingestry.adapters.sql.metadata import metadata as metadata
from ingestry.adapters.sql.spans import SPAN_MAX

raw_payloads = sa.Table(
    "raw_payloads",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("entity_type", sa.Text, nullable=False),
    sa.Column("source_id", sa.Text, nullable=False),
    sa.Column("sha256", sa.LargeBinary, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("header_sha256", sa.LargeBinary),
    sa.Column("received_at", Timestamp, nullable=False),
    sa.Column("processed_at", Timestamp),
    sa.Column("extractor_version", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("line", sa.Integer),
    sa.Column("origin", sa.Text),
    sa.Column("synthesized", sa.Boolean, nullable=False, server_default=sa.false()),
    # Dedupe key: identical bytes for the same source id. Led by the id, not the hash, so
    # inserts land near each other for ordered ids instead of on random index pages.
    sa.UniqueConstraint("source", "source_id", "sha256", name="uq_raw_payloads_identity"),
    sa.Index("ix_raw_payloads_source_received_at", "source", "received_at"),
    sqlite_autoincrement=True,  # ids never reused (migration 20261202_140000)
)

#: One row per arrival of a payload (see docs/receipts.md): a byte-identical re-send is
#: a new receipt of the same raw payload, and the latest receipt of a source id names
#: the payload that drives its record. Compact (migration 20261203_070000): what the
#: receipts of a batch share is one `raw_receipt_batches` row; per arrival only the raw
#: id, that batch and the line. On PostgreSQL the primary key is (raw_id, id) and this
#: index does not exist (migration 20261203_090000: one b-tree per receipt, not two).
raw_receipts = sa.Table(
    "raw_receipts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("raw_id", sa.BigInteger, nullable=False),
    sa.Column("line", sa.Integer),
    sa.Column("batch_id", sa.BigInteger, nullable=False),
    # how many consecutive raw ids (and lines) this row receives (migration
    # 20261205_050000, adapters/sql/spans.py)
    sa.Column("span", sa.Integer, nullable=False, server_default="1"),
    sa.CheckConstraint(f"span BETWEEN 1 AND {SPAN_MAX}", name="ck_raw_receipts_span"),
    sa.Index("ix_raw_receipts_raw_id", "raw_id", "id"),
    sqlite_autoincrement=True,
)

#: What the receipts of one written batch share: the run, the moment, the input's name
#: (`origin`) and, for a compressed input, the container file's name and sha256.
raw_receipt_batches = sa.Table(
    "raw_receipt_batches",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("run_srn", sa.Text),
    sa.Column("received_at", Timestamp, nullable=False),
    sa.Column("origin", sa.Text),
    sa.Column("container", sa.Text),
    sa.Column("container_sha256", sa.LargeBinary),
    sqlite_autoincrement=True,
)

raw_headers = sa.Table(
    "raw_headers",
    metadata,
    sa.Column("sha256", sa.LargeBinary, primary_key=True),
    sa.Column("payload", sa.LargeBinary, nullable=False),
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("sha256", sa.LargeBinary, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("line", sa.Integer),
    sa.Column("origin", sa.Text),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("received_at", Timestamp, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="open"),
    sa.Column("resolved_at", Timestamp),
    sa.Column("resolution", sa.Text),
    sa.Column("header_sha256", sa.LargeBinary),
    sa.Column("resolved_by", sa.Text),
    sa.UniqueConstraint("source", "sha256", name="uq_quarantine_source_sha256"),
    sa.Index("ix_quarantine_source_status", "source", "status"),
    sqlite_autoincrement=True,  # ids never reused (migration 20261202_140000)
)

ingest_runs = sa.Table(
    "ingest_runs",
    metadata,
    sa.Column("srn", sa.Text, primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("finished_at", Timestamp),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("origins", Json, nullable=False),
    sa.Column("summary", Json),
    sa.Index("ix_ingest_runs_started_at", "started_at", "srn"),
)

record_versions = sa.Table(
    "record_versions",
    metadata,
    sa.Column("srn", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("convention", sa.Text, nullable=False),
    sa.Column("source", Json, nullable=False),
    sa.Column("data_source", sa.Text),
    sa.Column("metadata", Json, nullable=False),
    sa.Column("columns", Json, nullable=False),
    sa.Column("content_hash", sa.LargeBinary, nullable=False),
    sa.Column("extractor_version", sa.Text),
    sa.Column("raw_sha256", sa.LargeBinary),
    sa.Column("published_at", Timestamp, nullable=False),
    sa.Column("version_at", Timestamp, nullable=False),
    sa.Column("superseded_at", Timestamp, nullable=False),
)

convention_columns = sa.Table(
    "convention_columns",
    metadata,
    sa.Column("convention", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("indexed", sa.Boolean, nullable=False),
)

# --- record lifecycle (migration 20261123_130000): outbox, hook runs, features ---------

#: Bytewise comparison on PostgreSQL too: srns are ASCII, equality is all we ask.
Key = sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")


#: Per source, the ids its last finished run received two or more batches apart: the
#: next run defers them to their last occurrence (services/repeats.py).
repeated_ids = sa.Table(
    "repeated_ids",
    metadata,
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("source_id", Key, primary_key=True),
)


record_events = sa.Table(
    "record_events",
    metadata,
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
    # SQLite only (migration 20261203_110000): the record's rowid in its convention's
    # table, the key of the events-of-a-record index (short integers, appended in
    # order); PostgreSQL has neither the column nor this index, but `(srn, id)`
    sa.Column("record_id", sa.Integer),
    sa.Index("ix_record_events_record", "convention", "record_id"),
    sqlite_autoincrement=True,  # ids never reused (migration 20261202_140000)
)

hook_runs = sa.Table(
    "hook_runs",
    metadata,
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
    sa.Index("ix_hook_runs_record", "srn", "version", "hook"),
    sa.Index("ix_hook_runs_status", "status", "id"),
    sqlite_autoincrement=True,  # ids never reused (migration 20261202_140000)
)

record_features = sa.Table(
    "record_features",
    metadata,
    sa.Column("srn", Key, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("hook", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("convention", sa.Text, nullable=False),
    sa.Column("value", Json, nullable=False),
    sa.Column("produced_at", Timestamp, nullable=False),
)

raw_holds = sa.Table(
    "raw_holds",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("source_id", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column("held_until", Timestamp),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("released_at", Timestamp),
    sa.Column("released_by", sa.Text),
    sa.Index("ix_raw_holds_source", "source"),
    sqlite_autoincrement=True,  # ids never reused (migration 20261202_140000)
)

retention_audit = sa.Table(
    "retention_audit",
    metadata,
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
    # a pulled source's pages (migration 20261207_010000)
    sa.Column("pages_purged", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("page_bytes_freed", sa.BigInteger, nullable=False, server_default="0"),
    sa.Index("ix_retention_audit_source_at", "source", "at"),
    sqlite_autoincrement=True,  # ids never reused (migration 20261202_140000)
)

#: One row per erased record (migration 20261202_200000): hashes, never content.
erasure_audit = sa.Table(
    "erasure_audit",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("at", Timestamp, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("convention", sa.Text, nullable=False),
    sa.Column("data_source", sa.Text),
    sa.Column("srn_sha256", sa.Text, nullable=False),
    sa.Column("content_hashes", Json, nullable=False),
    sa.Column("raw_sha256s", Json, nullable=False),
    sa.Column("counts", Json, nullable=False),
    sa.Index("ix_erasure_audit_srn_sha256", "srn_sha256"),
    sqlite_autoincrement=True,
)

#: One row per tombstone version of a soft-deleted record (migration 20261203_020000):
#: who deleted it, when and why (docs/deleting.md).
record_deletions = sa.Table(
    "record_deletions",
    metadata,
    sa.Column("srn", Key, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("convention", sa.Text, nullable=False),
    sa.Column("source_type", Key, nullable=False),
    sa.Column("upstream", Key, nullable=False),
    sa.Column("source_id", Key, nullable=False),
    sa.Column("deleted_at", Timestamp, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Index("ix_record_deletions_convention", "convention"),
)
