"""PostgreSQL's spelling of record queries (see `adapters/sql/recordquery.py`).

Text is ordered bytewise (`COLLATE "C"`), as SQLite orders it, so a sorted list is the
same on both backends whatever the database's collation; equality needs no collation
(every deterministic collation agrees with bytes on it), so it keeps the column's index.
"""

from __future__ import annotations

from ingestry.adapters.postgres.reads import select_records
from ingestry.adapters.postgres.text import escape_text
from ingestry.adapters.sql.recordquery import Dialect
from ingestry.adapters.sql.types import COLUMN_TYPES
from ingestry.domain.conventions import ColumnSpec, ColumnType


def _column(column: ColumnSpec) -> str:
    return f'"{column.name}"'


def _ordered(column: ColumnSpec) -> str:
    name = f'"{column.name}"'
    return f'{name} COLLATE "C"' if column.type is ColumnType.TEXT else name


def _value(column: ColumnSpec, value: object) -> object:
    if column.type is ColumnType.TEXT and isinstance(value, str):
        return escape_text(value)
    convert = COLUMN_TYPES[column.type].to_wire
    return convert(value) if convert is not None else value


POSTGRES = Dialect(
    mark="%s",
    column=_column,
    ordered=_ordered,
    value=_value,
    select=select_records,
)
