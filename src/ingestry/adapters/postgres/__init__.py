"""PostgreSQL backend: psycopg 3, COPY into staging, set-based upserts, partitioned raw.

Needs the `postgres` extra (`pip install 'ingestry[postgres]'`, from a checkout
`pip install -e '.[postgres]'`); importing this package
without psycopg raises ImportError, which bootstrap turns into a ConfigError.
"""

from ingestry.adapters.postgres.storage import PostgresStorage

__all__ = ["PostgresStorage"]
