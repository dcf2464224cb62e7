"""The SQLite schema: what the migrations build is the shared metadata, but for the
changes feed's `(xid, seq)` index, which the metadata creates on PostgreSQL only.

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
    # xid is always 0 on SQLite and seq is the rowid: the feed walks the rowid
    # (migration 20261204_030000); alembic's comparison does not read `ddl_if`
    assert [(d[0], d[1].name) for d in diff] == [("add_index", "ix_record_changes_order")]
