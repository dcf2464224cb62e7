"""Alembic migrations of the core schema (one history for SQLite and PostgreSQL)."""

#: The head revision this version of ingestry needs; a unit test keeps it honest.
HEAD = "20261202_130000"
