"""JSON text spelled alike from either backend: the export's spelling of metadata,
provenance and `json` columns (moved here from services/export so a storage adapter's
column scan can hand this text over as the export writes it)."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

from ingestry.extract.decimals import spell


def default(value: Any) -> Any:
    """orjson's fallback: dates as ISO text, decimals exact, bytes as hex."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return spell(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot serialize {type(value).__name__}")


_INT_RANGE = range(-(2**63), 2**64)  # what orjson writes itself


def portable(value: Any) -> Any:
    """`value` with its numbers spelled as PostgreSQL prints them, so a record renders
    to the same bytes whichever backend it was read from: jsonb keeps numbers as
    `numeric`, so a float written `1e16` comes back from PostgreSQL as the integer
    10000000000000000 while SQLite gives the float back. Every float is therefore
    written in positional notation (`1e16` -> 10000000000000000, `1e-7` -> 0.0000001,
    no negative zero), which is the integer PostgreSQL returns where the value is
    integral; integers beyond 64 bits are written exactly (orjson refuses them)."""
    kind = type(value)
    if kind is dict:
        return {k: portable(v) for k, v in value.items()}
    if kind is list:
        return [portable(v) for v in value]
    if kind is float:
        if not math.isfinite(value):
            return None
        return orjson.Fragment(spell(Decimal(repr(value))).encode())
    if kind is int and value not in _INT_RANGE:
        return orjson.Fragment(str(value).encode())
    return value


def json_text(value: Any) -> str:
    """`value` as JSON text, numbers exact and spelled alike from either backend."""
    return orjson.dumps(portable(value), default=default).decode()
