"""Alembic migrations of the core schema (one history for SQLite and PostgreSQL)."""

#: The head revision this version of ingestry needs (kept by the adapters, which check
#: it on open; re-exported here for the history's readers).
from ingestry.adapters.migrate import HEAD as HEAD
