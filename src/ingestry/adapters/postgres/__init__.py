"""PostgreSQL backend: psycopg 3, COPY into staging, set-based upserts, partitioned raw.

Needs the `postgres` extra (`pip install 'ingestry[postgres]'`, from a checkout
`pip install -e '.[postgres]'`); importing this package
without psycopg raises ImportError, which bootstrap turns into a ConfigError.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingestry.adapters.backends import BackendAdapter
from ingestry.adapters.postgres.storage import DEFAULT_LANES, PostgresStorage
from ingestry.adapters.postgres.url import sqlalchemy_url

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = ["ADAPTER", "PostgresStorage"]


class PostgresBackend:
    """The registry's handle on this folder (see `adapters.backends`)."""

    default_lanes = DEFAULT_LANES

    def open_storage(self, url: str, *, lanes: int) -> PostgresStorage:
        return PostgresStorage(url, lanes=lanes)

    def control_engine(self, url: str) -> sa.Engine:
        from ingestry.adapters.postgres.engine import control_engine

        return control_engine(url)

    def sqlalchemy_url(self, url: str) -> str:
        return sqlalchemy_url(url)


ADAPTER: BackendAdapter = PostgresBackend()
