"""Alembic, driven in-process on an engine ingestry built (no alembic.ini needed).

Alembic is imported only when a migration runs: opening a store compares the
database's `alembic_version` with `HEAD` through the bare driver (see the storages'
`schema_revision`), so a command on a current database never loads Alembic.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlalchemy as sa

#: The head revision this version of ingestry needs; a test keeps it equal to Alembic's.
HEAD = "20261205_040000"

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


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
