"""SQLite backend: WAL mode, stdlib sqlite3 on the hot path, SQLAlchemy for DDL."""

from ingestry.adapters.sqlite.storage import SQLiteStorage

__all__ = ["SQLiteStorage"]
