"""Rows of a table file (Parquet, Excel) as payloads: one canonical JSON object each.

A Parquet or Excel row has no bytes of its own to keep, so its payload is the row
written as JSON: the file's column order, exact decimals as JSON numbers with their
digits (`12.50` stays `12.50`), dates and times in ISO 8601 (a naive time stays
naive), bytes as hex. The same row always gives the same bytes, so a re-sent file is
recognised, and the payload is extracted (and replayed) like any JSON payload.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import orjson

from ingestry.extract.csvframes import HeaderError, check_header
from ingestry.extract.framing import Frame


def _value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(format(value, "f")) if value.is_finite() else str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_value(v) for v in value]
    return value


def row_payload(row: Mapping[str, Any]) -> bytes:
    """The canonical bytes of one table row."""
    return orjson.dumps({str(k): _value(v) for k, v in row.items()})


def table_frames(
    names: Sequence[str],
    rows: Iterable[tuple[int, Sequence[Any]]],
    required: Sequence[str],
    name: str,
) -> Iterator[Frame]:
    """Frames of (row number, cells) under the header `names`; a header without the
    id's columns refuses the file whole (HeaderError), before its first row. A row of
    nothing but empty cells is skipped, as a blank CSV line is."""
    check_header(list(names), required)
    for number, cells in rows:
        if all(c is None or c == "" for c in cells):
            continue
        yield Frame(number, row_payload(dict(zip(names, cells, strict=False))))


__all__ = ["HeaderError", "row_payload", "table_frames"]
