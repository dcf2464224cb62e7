"""Alembic, driven in-process on an engine ingestry built (no alembic.ini needed).

Alembic is imported only when a migration runs: opening a store compares the
database's `alembic_version` with `HEAD` through the bare driver (see the storages'
`schema_revision`), so a command on a current database never loads Alembic, and a new
store is made from the schema snapshot (`create`, `schema_load.py`) when it is current.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingestry.adapters import schema_load
from ingestry.adapters.schema_load import MIGRATIONS as MIGRATIONS
from ingestry.adapters.schema_load import SNAPSHOTS

if TYPE_CHECKING:
    import sqlalchemy as sa

#: The head revision this version of ingestry needs; a test keeps it equal to Alembic's.
HEAD = "20261207_010000"


def create(
    conn: Any, dialect: str, engine: Callable[[], sa.Engine], snapshots: Path = SNAPSHOTS
) -> bool:
    """Bring an empty database to HEAD (the caller holds the schema lock): load the
    dialect's snapshot on `conn` (the storage's own `sqlite3` or psycopg connection)
    when it is current, else run every migration on `engine()`. True if the snapshot
    made it."""
    load = _LOADERS.get(dialect)
    snapshot = schema_load.read(dialect, HEAD, snapshots)
    if load is None or snapshot is None:
        upgrade(engine())
        return False
    load(conn, snapshot)
    return True


_LOADERS: dict[str, Callable[[Any, schema_load.Snapshot], None]] = {
    "sqlite": schema_load.load_sqlite,
    "postgresql": schema_load.load_postgres,
}


def _config(connection: sa.Connection | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(_config(conn), revision)


def downgrade(engine: sa.Engine, revision: str) -> None:
    """Down to `revision`; `base` leaves no table at all (the base revision drops the
    record tables, and Alembic's emptied version table goes too), so the database is
    as ingestry found it and the next open migrates it again."""
    from alembic import command

    with engine.begin() as conn:
        command.downgrade(_config(conn), revision)
        if revision == "base":
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


def current(engine: sa.Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        revision: str | None = MigrationContext.configure(conn).get_current_revision()
        return revision


def head() -> str:
    from alembic.script import ScriptDirectory

    result: str | None = ScriptDirectory.from_config(_config()).get_current_head()
    assert result is not None
    return result
