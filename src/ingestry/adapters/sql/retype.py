"""Change the SQL type of a record column when its convention changes the column type.

Fixing a type in the config (an `integer` that should have been `decimal`) must not
leave the old SQL type behind: PostgreSQL would refuse the new values, and SQLite's
affinity would silently reshape them (an INTEGER column turns "10.50" into 10.5).

Stored values are converted where the conversion is exact and portable (a number to
text or to a wider number, a date to a timestamp, …); any other value becomes NULL.
Either way the records' content hashes are untouched, so the next replay (raw sources)
or re-ingest (simple sources) re-derives every value whose representation changed and
writes it; values that convert to the same representation are already right.
"""

from __future__ import annotations

import sqlalchemy as sa

from ingestry.domain.conventions import ColumnType as T

#: (old, new) → SQLite expression over the old column `{c}`; pairs absent become NULL.
SQLITE_CONVERSIONS: dict[tuple[T, T], str] = {
    (T.INTEGER, T.FLOAT): "CAST({c} AS REAL)",
    (T.INTEGER, T.DECIMAL): "CAST({c} AS TEXT)",
    (T.INTEGER, T.TEXT): "CAST({c} AS TEXT)",
    (T.FLOAT, T.DECIMAL): "CAST({c} AS TEXT)",
    (T.FLOAT, T.TEXT): "CAST({c} AS TEXT)",
    (T.DECIMAL, T.FLOAT): "CAST({c} AS REAL)",
    (T.DECIMAL, T.TEXT): "{c}",
    (T.DATE, T.TEXT): "{c}",
    (T.TIMESTAMP, T.TEXT): "{c}",
    (T.DATE, T.TIMESTAMP): "{c} || 'T00:00:00.000000+00:00'",
    (T.TIMESTAMP, T.DATE): "substr({c}, 1, 10)",
    (T.JSON, T.GEOMETRY): "{c}",
    (T.GEOMETRY, T.JSON): "{c}",
}

#: The same pairs on PostgreSQL: a plain cast (the session runs in UTC).
POSTGRES_CASTS = frozenset(SQLITE_CONVERSIONS)


def retype_column(
    conn: sa.Connection, table: sa.Table, column: sa.Column[object], old: T, new: T
) -> None:
    """Give `column` (already in the database with type `old`) the type `new`."""
    if old == new:
        return
    quote = conn.dialect.identifier_preparer.quote
    name, ddl = quote(column.name), column.type.compile(dialect=conn.dialect)
    table_sql = quote(table.name)
    # the declared column's index is on its sort key (`conventions.sort_key`: a collation
    # or a cast that may not fit the new type); the evolution after this makes it again
    conn.execute(sa.text(f"DROP INDEX IF EXISTS {quote(f'ix_{table.name}_{column.name}')}"))
    if conn.dialect.name == "postgresql":
        using = f"{name}::{ddl}" if (old, new) in POSTGRES_CASTS else f"NULL::{ddl}"
        alter = f"ALTER TABLE {table_sql} ALTER COLUMN {name} TYPE {ddl} USING {using}"
        conn.execute(sa.text(alter))
        return
    # SQLite cannot change a column's type: move the old one aside, add the new, copy.
    old_name = quote(f"{column.name}__retype")
    for index in _indexes_on(conn, table.name, column.name):
        conn.execute(sa.text(f"DROP INDEX {quote(index)}"))
    conn.execute(sa.text(f"ALTER TABLE {table_sql} RENAME COLUMN {name} TO {old_name}"))
    conn.execute(sa.text(f"ALTER TABLE {table_sql} ADD COLUMN {name} {ddl}"))
    expression = SQLITE_CONVERSIONS.get((old, new))
    if expression is not None:
        value = expression.format(c=old_name)
        copy = f"UPDATE {table_sql} SET {name} = {value} WHERE {old_name} IS NOT NULL"
        conn.execute(sa.text(copy))
    conn.execute(sa.text(f"ALTER TABLE {table_sql} DROP COLUMN {old_name}"))


def _indexes_on(conn: sa.Connection, table: str, column: str) -> list[str]:
    """SQLite indexes that name `column` (from the catalog: SQLAlchemy's reflection
    skips expression indexes, with a warning)."""
    quote = conn.dialect.identifier_preparer.quote
    names = [str(r[1]) for r in conn.exec_driver_sql(f"PRAGMA index_list({quote(table)})")]
    return [
        n
        for n in names
        if not n.startswith("sqlite_autoindex_")
        and any(r[2] == column for r in conn.exec_driver_sql(f"PRAGMA index_info({quote(n)})"))
    ]
