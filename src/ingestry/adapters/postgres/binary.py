"""Binary COPY straight into real tables: typed values, and jsonb from JSON text.

COPY in text format makes the server parse every value from text: on the benchmark's
records (100,000 rows, COPY into the record table) that was 3.9 s of server CPU
against 2.7 s in binary, with the same rows and indexes (the difference: `timestamptz`,
`numeric` and `bytea` input functions, and the text format itself). Binary needs the
values as Python objects of the column's type, so the storage-ready text the port
carries for timestamps, dates and decimals is converted here (C-level constructors,
well under a microsecond a value), and JSON text goes out as jsonb's binary format:
a version byte, then the text (the server still parses it, as it must).

The conversions (`to_wire` in `sql.types.COLUMN_TYPES`) are exact: `Decimal(text)`
keeps every digit and the exponent (so `1.50` keeps its scale), `datetime.fromisoformat`
reads the fixed-width UTC text the coercers write, to the microsecond.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import Format

from ingestry.adapters.sql.types import COLUMN_TYPES, Convert
from ingestry.domain.conventions import Convention


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


def column_types(convention: Convention) -> list[str]:
    """The wire types of a convention's declared columns in binary COPY."""
    return [COLUMN_TYPES[c.type].postgres for c in convention.columns]


def converters(convention: Convention) -> tuple[tuple[int, Convert], ...]:
    """(position among the declared columns, conversion) of the columns that need one."""
    found = ((i, COLUMN_TYPES[c.type].to_wire) for i, c in enumerate(convention.columns))
    return tuple((i, fn) for i, fn in found if fn is not None)
