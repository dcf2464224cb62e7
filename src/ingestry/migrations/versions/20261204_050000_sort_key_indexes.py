"""sort_key_indexes: a declared column's index on what queries compare and sort by

Record queries compare and sort text bytewise on PostgreSQL (`COLLATE "C"`) and
decimals as REAL on SQLite (their exact text would sort as text). An index on the bare
column serves neither (the planner matches an index's collation or expression
exactly), so a sorted page sorted the whole table and an equality test on PostgreSQL
text scanned it. New tables get their indexes on the sort key
(`adapters/sql/conventions.sort_key`); this remakes those of existing ones, found
through the `convention_columns` catalog. Downgrade puts them back on the bare column.

Revision ID: 20261204_050000
Revises: 20261204_040000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ingestry.adapters.sql.names import table_name

revision = "20261204_050000"
down_revision = "20261204_040000"
branch_labels = None
depends_on = None


def _remake(on_sort_key: bool) -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    kind = "text" if postgres else "decimal"
    rows = bind.execute(
        sa.text("SELECT convention, name FROM convention_columns WHERE indexed AND type = :k"),
        {"k": kind},
    ).fetchall()
    quote = bind.dialect.identifier_preparer.quote
    for convention, column in rows:
        table = table_name(str(convention))
        name = quote(f"ix_{table}_{column}")
        key = quote(str(column))
        if on_sort_key:
            key = f'{key} COLLATE "C"' if postgres else f"CAST({key} AS REAL)"
        op.execute(f"DROP INDEX IF EXISTS {name}")
        op.execute(
            f"CREATE INDEX {name} ON {quote(table)} (({key}))"
            if postgres
            else f"CREATE INDEX {name} ON {quote(table)} ({key})"
        )


def upgrade() -> None:
    _remake(on_sort_key=True)


def downgrade() -> None:
    _remake(on_sort_key=False)
