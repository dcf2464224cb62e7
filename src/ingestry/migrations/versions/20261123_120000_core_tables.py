"""core tables: raw store, quarantine, ingest runs, record history, convention catalog

On PostgreSQL the raw store differs (the other tables are the same on both backends):
`raw_payloads` is range-partitioned by month on `received_at` (partitions are created
on demand by the adapter), and since a unique index on a partitioned table must
contain the partition key, the dedupe key (source, source_id, sha256) is enforced by
the small, unpartitioned `raw_keys` table that every raw insert goes through.

Revision ID: 20261123_120000
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "20261123_120000"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _create_postgres_raw_store()
    else:
        _create_raw_store()
    op.create_table(
        "raw_headers",
        sa.Column("sha256", sa.LargeBinary, primary_key=True),
        sa.Column("payload", sa.LargeBinary, nullable=False),
    )
    _create_other_tables()


def _create_raw_store() -> None:
    op.create_table(
        "raw_payloads",
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
        sa.UniqueConstraint("source", "source_id", "sha256", name="uq_raw_payloads_identity"),
    )
    op.create_index("ix_raw_payloads_source_received_at", "raw_payloads", ["source", "received_at"])


def _create_postgres_raw_store() -> None:
    # An explicit sequence: the adapter draws ids before it knows which rows are new,
    # and PostgreSQL 15 has no identity columns on partitioned tables.
    op.execute("CREATE SEQUENCE raw_payloads_id_seq")
    op.execute(
        """
        CREATE TABLE raw_payloads (
            id bigint NOT NULL DEFAULT nextval('raw_payloads_id_seq'),
            source text NOT NULL,
            entity_type text NOT NULL,
            source_id text NOT NULL,
            sha256 bytea NOT NULL,
            payload bytea NOT NULL,
            header_sha256 bytea,
            received_at timestamptz NOT NULL,
            processed_at timestamptz,
            extractor_version text,
            error text,
            line integer,
            origin text,
            synthesized boolean NOT NULL DEFAULT false,
            CONSTRAINT pk_raw_payloads PRIMARY KEY (id, received_at)
        ) PARTITION BY RANGE (received_at)
        """
    )
    op.execute("ALTER SEQUENCE raw_payloads_id_seq OWNED BY raw_payloads.id")
    op.create_index("ix_raw_payloads_source_received_at", "raw_payloads", ["source", "received_at"])
    op.execute(
        """
        CREATE TABLE raw_keys (
            source text COLLATE "C" NOT NULL,
            source_id text COLLATE "C" NOT NULL,
            sha256 bytea NOT NULL,
            raw_id bigint NOT NULL,
            received_at timestamptz NOT NULL,
            CONSTRAINT uq_raw_payloads_identity PRIMARY KEY (source, source_id, sha256)
        )
        """
    )


def _create_other_tables() -> None:
    op.create_table(
        "quarantine",
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
        sa.UniqueConstraint("source", "sha256", name="uq_quarantine_source_sha256"),
    )
    op.create_index("ix_quarantine_source_status", "quarantine", ["source", "status"])
    op.create_table(
        "ingest_runs",
        sa.Column("srn", sa.Text, primary_key=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("started_at", Timestamp, nullable=False),
        sa.Column("finished_at", Timestamp),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("origins", Json, nullable=False),
        sa.Column("summary", Json),
    )
    op.create_table(
        "record_versions",
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
    op.create_table(
        "convention_columns",
        sa.Column("convention", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("indexed", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    _drop_record_tables()
    op.drop_table("convention_columns")
    op.drop_table("record_versions")
    op.drop_table("ingest_runs")
    op.drop_index("ix_quarantine_source_status", table_name="quarantine")
    op.drop_table("quarantine")
    op.drop_table("raw_headers")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_table("raw_keys")
        op.drop_table("raw_payloads")  # its partitions and its sequence go with it
    else:
        op.drop_index("ix_raw_payloads_source_received_at", table_name="raw_payloads")
        op.drop_table("raw_payloads")


#: Columns every record table has (see `adapters/sql/conventions.record_table`).
RECORD_ENVELOPE = {"source_type", "source_id", "content_hash", "version", "metadata"}


def _drop_record_tables() -> None:
    """The record tables go with the schema's base: they are made at run time from
    the config's conventions (`adapters/sql/conventions.py`, catalogued in
    `convention_columns`), and a downgrade to base must leave no table behind. Found
    by name and shape rather than through the catalog, which has no rows for a
    convention without declared columns; their indexes and sequences go with them."""
    inspector = sa.inspect(op.get_bind())
    for name in inspector.get_table_names():
        if not name.startswith("records_"):
            continue
        columns = {str(c["name"]) for c in inspector.get_columns(name)}
        if columns >= RECORD_ENVELOPE:
            op.drop_table(name)
