"""Binary COPY straight into real tables: typed values, and jsonb from JSON text.

COPY in text format makes the server parse every value from text: on the benchmark's
records (100,000 rows, COPY into the record table) that was 3.9 s of server CPU
against 2.7 s in binary, with the same rows and indexes (the difference: `timestamptz`,
`numeric` and `bytea` input functions, and the text format itself). Binary needs the
values as Python objects of the column's type, so the storage-ready text the port
carries for timestamps, dates and decimals is converted here (C-level constructors,
well under a microsecond a value), and JSON text goes out as jsonb's binary format:
a version byte, then the text (the server still parses it, as it must).

The conversions are exact: `Decimal(text)` keeps every digit and the exponent (so
`1.50` keeps its scale), `datetime.fromisoformat` reads the fixed-width UTC text the
coercers write, to the microsecond.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import Format

from ingestry.domain.conventions import ColumnType, Convention

Convert = Callable[[Any], Any]


class JsonTextDumper(Dumper):
    """jsonb, binary, from JSON text (str) in hand: psycopg's own jsonb dumper would
    serialize a Python object again."""

    format = Format.BINARY

    def dump(self, obj: Any) -> bytes:
        text: str = obj
        return b"\x01" + text.encode()


class _JsonText(str):
    """Never instantiated: registering a dumper needs a Python type; COPY's set_types
    picks the dumper by the jsonb oid."""


def register(conn: psycopg.Connection[Any]) -> None:
    """Make `set_types([... "jsonb" ...])` in binary COPY take JSON text on `conn`."""
    oid = conn.adapters.types["jsonb"].oid
    dumper = type("JsonbTextDumper", (JsonTextDumper,), {"oid": oid})
    conn.adapters.register_dumper(_JsonText, dumper)


#: How a declared column travels in binary COPY into the real table: wire type, and
#: the conversion from the port's storage-ready value (None: as it is).
DIRECT_TYPES: dict[ColumnType, tuple[str, Convert | None]] = {
    ColumnType.TEXT: ("text", None),
    ColumnType.INTEGER: ("int8", None),
    ColumnType.FLOAT: ("float8", None),
    ColumnType.DECIMAL: ("numeric", Decimal),
    ColumnType.BOOLEAN: ("bool", None),
    ColumnType.TIMESTAMP: ("timestamptz", datetime.fromisoformat),
    ColumnType.DATE: ("date", date.fromisoformat),
    ColumnType.JSON: ("jsonb", None),
    ColumnType.GEOMETRY: ("jsonb", None),
}


def column_types(convention: Convention) -> list[str]:
    return [DIRECT_TYPES[c.type][0] for c in convention.columns]


def converters(convention: Convention) -> tuple[tuple[int, Convert], ...]:
    """(position among the declared columns, conversion) of the columns that need one."""
    found = ((i, DIRECT_TYPES[c.type][1]) for i, c in enumerate(convention.columns))
    return tuple((i, fn) for i, fn in found if fn is not None)
