"""SQLite backend: WAL mode, stdlib sqlite3 on the hot path, SQLAlchemy for DDL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingestry.adapters.backends import BackendAdapter
from ingestry.adapters.sqlite.storage import SQLiteStorage

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = ["ADAPTER", "SQLiteStorage"]


class SQLiteBackend:
    """The registry's handle on this folder (see `adapters.backends`)."""

    #: One writer at a time: an ingest writes batch after batch on one connection.
    default_lanes = 1

    def open_storage(self, url: str, *, lanes: int) -> SQLiteStorage:
        from ingestry.adapters.sqlite.engine import file_path

        return SQLiteStorage(file_path(url))

    def control_engine(self, url: str) -> sa.Engine:
        from ingestry.adapters.sqlite.engine import control_engine

        return control_engine(url)

    def sqlalchemy_url(self, url: str) -> str:
        return url


ADAPTER: BackendAdapter = SQLiteBackend()
