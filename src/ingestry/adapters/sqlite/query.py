"""SQLite's spelling of record queries (see `adapters/sql/recordquery.py`).

Decimals are stored as their exact text on SQLite (its NUMERIC affinity would round
them), so they compare and sort as REAL: exact to 15 significant digits, which covers
every filter a user types; PostgreSQL compares them as `numeric`, exactly.
"""

from __future__ import annotations

from ingestry.adapters.sql.recordquery import Dialect
from ingestry.adapters.sql.rows import select_records
from ingestry.domain.conventions import ColumnSpec, ColumnType


def _column(column: ColumnSpec) -> str:
    name = f'"{column.name}"'
    return f"CAST({name} AS REAL)" if column.type is ColumnType.DECIMAL else name


def _value(column: ColumnSpec, value: object) -> object:
    return float(str(value)) if column.type is ColumnType.DECIMAL else value


SQLITE = Dialect(mark="?", column=_column, ordered=_column, value=_value, select=select_records)
