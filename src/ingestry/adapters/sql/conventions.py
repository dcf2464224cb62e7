"""Record tables, one per convention, created and evolved from the config.

`records_<convention>` holds the envelope (provenance, metadata, version, …) and the
declared columns with their real SQL types; columns marked `index` get an index. The
identity `UNIQUE (source_type, upstream, source_id)` is also how a record is found by
srn, which spells the identity out (see `domain.records.record_srn`), so no srn column
or index.
A new column is added in place (existing rows get it on replay); the catalog table
`convention_columns` remembers what each table was built from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import SchemaItem

from ingestry.adapters.sql.changes import ensure_change_triggers
from ingestry.adapters.sql.names import table_name as table_name  # re-exported
from ingestry.adapters.sql.retype import retype_column
from ingestry.adapters.sql.schema import BigId, Json, Timestamp, convention_columns
from ingestry.adapters.sql.spatial import ensure_spatial
from ingestry.adapters.sql.types import COLUMN_TYPES
from ingestry.domain.conventions import ColumnSpec, ColumnType, Convention

#: The identity columns compare bytewise on PostgreSQL too (COLLATE "C"), so records
#: list in the same order as on SQLite and the identity index serves that order.
IdentityText = sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")


def identity_key(table: str) -> sa.UniqueConstraint:
    """The identity of a record table: one record per (type, upstream, id)."""
    return sa.UniqueConstraint("source_type", "upstream", "source_id", name=f"uq_{table}_identity")


def record_table(
    convention: Convention, dialect: str, metadata: sa.MetaData | None = None
) -> sa.Table:
    """The SQLAlchemy table of a convention's records on `dialect` (`sqlite`,
    `postgresql`): a declared column's index is on what queries compare and sort it
    by (`sort_key`)."""
    name = table_name(convention.name)
    columns: list[SchemaItem] = [
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("source_type", IdentityText, nullable=False),
        sa.Column("upstream", IdentityText, nullable=False, server_default=""),
        sa.Column("source_id", IdentityText, nullable=False),
        sa.Column("source", Json, nullable=False),
        sa.Column("data_source", sa.Text),
        sa.Column("metadata", Json, nullable=False),
        sa.Column("content_hash", sa.LargeBinary, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("extractor_version", sa.Text),
        sa.Column("raw_sha256", sa.LargeBinary),
        sa.Column("published_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
    ]
    columns += [sa.Column(c.name, COLUMN_TYPES[c.type].sql) for c in convention.columns]
    columns.append(identity_key(name))
    columns.append(sa.Index(f"ix_{name}_data_source", "data_source"))
    table = sa.Table(name, metadata or sa.MetaData(), *columns)
    for column in convention.columns:
        if column.index:
            sa.Index(f"ix_{name}_{column.name}", sort_key(table.c[column.name], column, dialect))
    return table


def sort_key(column: sa.Column[Any], spec: ColumnSpec, dialect: str) -> sa.ColumnElement[Any]:
    """The expression record queries compare and sort a column by, so its index serves
    `--where` and `--sort` alike (`adapters/sqlite/query.py`, `postgres/query.py`):
    PostgreSQL text bytewise (`COLLATE "C"`, the order SQLite keeps), SQLite decimals
    as REAL (their exact text would sort as text)."""
    if dialect == "postgresql" and spec.type is ColumnType.TEXT:
        return column.collate("C")
    if dialect == "sqlite" and spec.type is ColumnType.DECIMAL:
        return sa.cast(column, sa.REAL)
    return column


def ensure_record_tables(engine: sa.Engine, conventions: Sequence[Convention]) -> None:
    """Create missing record tables, add missing columns and indexes; idempotent."""
    with engine.begin() as conn:
        inspector = sa.inspect(conn)
        existing_tables = set(inspector.get_table_names())
        for convention in conventions:
            table = record_table(convention, conn.dialect.name)
            if table.name not in existing_tables:
                table.create(conn)
            else:
                _retype(conn, table, convention)
                _evolve(conn, sa.inspect(conn), table)
            ensure_spatial(conn, table.name, convention)
            if "record_changes" in existing_tables:  # the changes feed's (20261202_190000)
                ensure_change_triggers(conn, table.name, convention.name)
            _write_catalog(conn, convention)


def _retype(conn: sa.Connection, table: sa.Table, convention: Convention) -> None:
    """Columns whose type changed in the config (per the catalog) change SQL type."""
    rows = conn.execute(
        sa.select(convention_columns.c.name, convention_columns.c.type).where(
            convention_columns.c.convention == convention.name
        )
    )
    known = {str(name): str(kind) for name, kind in rows}
    for column in convention.columns:
        old = known.get(column.name)
        if old is not None and old != column.type.value:
            retype_column(conn, table, table.c[column.name], ColumnType(old), column.type)


def _evolve(conn: sa.Connection, inspector: sa.Inspector, table: sa.Table) -> None:
    present = {c["name"] for c in inspector.get_columns(table.name)}
    preparer = conn.dialect.identifier_preparer
    for column in table.columns:
        if column.name not in present:
            ddl = column.type.compile(dialect=conn.dialect)
            conn.execute(
                sa.text(
                    f"ALTER TABLE {preparer.quote(table.name)} "
                    f"ADD COLUMN {preparer.quote(column.name)} {ddl}"
                )
            )
    made = _index_definitions(conn, table.name)
    for index in table.indexes:
        definition = made.get(str(index.name))
        if definition is not None and _same_index(conn, index, definition):
            continue
        if definition is not None:  # made before it was on the sort key (2026-12-03)
            conn.execute(sa.text(f"DROP INDEX {preparer.quote(str(index.name))}"))
        index.create(conn)


def _index_definitions(conn: sa.Connection, table: str) -> dict[str, str]:
    """Index name → its CREATE INDEX text, as the database keeps it. (SQLAlchemy's
    reflection skips SQLite's expression indexes.)"""
    if conn.dialect.name == "postgresql":
        sql = (
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE schemaname = current_schema() AND tablename = :t"
        )
    else:
        sql = (
            "SELECT name, coalesce(sql, '') FROM sqlite_master"
            " WHERE type = 'index' AND tbl_name = :t"
        )
    return {str(n): str(d) for n, d in conn.execute(sa.text(sql), {"t": table})}


def _same_index(conn: sa.Connection, index: sa.Index, definition: str) -> bool:
    """Whether an existing index is on the expression `index` wants: a sort key's
    collation or cast shows in its definition (plain column indexes always match)."""
    wanted = str(sa.schema.CreateIndex(index).compile(dialect=conn.dialect))
    return not any(m in wanted and m not in definition for m in ('COLLATE "C"', "CAST("))


def _write_catalog(conn: sa.Connection, convention: Convention) -> None:
    conn.execute(
        sa.delete(convention_columns).where(convention_columns.c.convention == convention.name)
    )
    if convention.columns:
        conn.execute(
            sa.insert(convention_columns),
            [
                {
                    "convention": convention.name,
                    "name": c.name,
                    "type": c.type.value,
                    "position": i,
                    "indexed": c.index,
                }
                for i, c in enumerate(convention.columns)
            ],
        )
