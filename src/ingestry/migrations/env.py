"""Alembic environment: runs on the connection ingestry hands it (never reads a URL)."""

from __future__ import annotations

from alembic import context

from ingestry.adapters.sql.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
