"""The SQLite schema: what the migrations build is exactly the shared metadata.

PostgreSQL differs on purpose (partitioned raw store, key table): see
`test_schema_postgres.py`. Backend-neutral migration tests are in `test_schema.py`.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ingestry.adapters import migrate
from ingestry.adapters.sql.schema import metadata


def test_migrated_schema_matches_the_metadata(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []
