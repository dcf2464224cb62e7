"""Column types of record tables, per contract type, portable across backends."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeEngine

from ingestry.domain.conventions import ColumnType

#: JSON text; TEXT on SQLite, whose JSON type has NUMERIC affinity (a JSON number
#: stored there became an INTEGER or a REAL: a 30-digit integer lost its digits).
_JSONB = sa.Text().with_variant(postgresql.JSONB(), "postgresql")

SQL_TYPES: dict[ColumnType, TypeEngine[Any]] = {
    ColumnType.TEXT: sa.Text(),
    ColumnType.INTEGER: sa.BigInteger(),
    ColumnType.FLOAT: sa.Float(),
    # SQLite's NUMERIC affinity would round decimals through REAL: keep exact text there.
    ColumnType.DECIMAL: sa.Text().with_variant(sa.Numeric(), "postgresql"),
    ColumnType.BOOLEAN: sa.Boolean(),
    ColumnType.TIMESTAMP: sa.DateTime(timezone=True),
    ColumnType.DATE: sa.Date(),
    ColumnType.JSON: _JSONB,
    # GeoJSON; PostGIS is not assumed.
    ColumnType.GEOMETRY: _JSONB,
}
