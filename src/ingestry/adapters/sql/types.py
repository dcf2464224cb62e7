"""Column types: how each contract type (`ColumnType`) is stored, in one table.

One row per type holds every storage fact about it, for every backend: the SQLAlchemy
type of the record table's column (DDL on SQLite and PostgreSQL), the PostgreSQL type
that binary COPY sends and casts go to, the type a PostgreSQL staging table takes it
as, the conversion from the port's storage-ready value to what binary COPY needs, and
whether the value is a JSON document. `tests/unit/test_column_types.py` fails until a
new type has its row here and its coercer in `extract/coerce.py` (the pure side, which
cannot see storage).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeEngine

from ingestry.domain.conventions import ColumnType

#: A storage-ready value (what the port carries) → what binary COPY takes.
Convert = Callable[[Any], Any]

#: JSON text; TEXT on SQLite, whose JSON type has NUMERIC affinity (a JSON number
#: stored there became an INTEGER or a REAL: a 30-digit integer lost its digits).
_JSONB = sa.Text().with_variant(postgresql.JSONB(), "postgresql")


@dataclass(frozen=True, slots=True)
class StoredType:
    """How one contract column type is stored."""

    #: The record table's column (SQLAlchemy: DDL on every backend).
    sql: TypeEngine[Any]
    #: The PostgreSQL type: binary COPY's wire type and the target of casts.
    postgres: str
    #: The type of its PostgreSQL staging column (values arrive as this, then are cast).
    staged: str
    #: Storage-ready value → binary COPY value (None: as it is).
    to_wire: Convert | None = None
    #: A JSON document: read back as text and parsed exactly, escaped as JSON.
    json: bool = False

    @property
    def cast(self) -> str:
        """The cast from the staging column into the real one ("" when none)."""
        return "" if self.staged == self.postgres else f"::{self.postgres}"


COLUMN_TYPES: dict[ColumnType, StoredType] = {
    ColumnType.TEXT: StoredType(sa.Text(), "text", "text"),
    ColumnType.INTEGER: StoredType(sa.BigInteger(), "int8", "int8"),
    ColumnType.FLOAT: StoredType(sa.Float(), "float8", "float8"),
    # SQLite's NUMERIC affinity would round decimals through REAL: keep exact text there.
    # Decimal(text) keeps every digit and the exponent (`1.50` keeps its scale).
    ColumnType.DECIMAL: StoredType(
        sa.Text().with_variant(sa.Numeric(), "postgresql"), "numeric", "text", Decimal
    ),
    ColumnType.BOOLEAN: StoredType(sa.Boolean(), "bool", "bool"),
    # fromisoformat reads the fixed-width UTC text the coercers write, to the microsecond
    ColumnType.TIMESTAMP: StoredType(
        sa.DateTime(timezone=True), "timestamptz", "text", datetime.fromisoformat
    ),
    ColumnType.DATE: StoredType(sa.Date(), "date", "text", date.fromisoformat),
    ColumnType.JSON: StoredType(_JSONB, "jsonb", "text", json=True),
    # GeoJSON; PostGIS is not assumed.
    ColumnType.GEOMETRY: StoredType(_JSONB, "jsonb", "text", json=True),
}
