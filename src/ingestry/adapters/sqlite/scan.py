"""SQLite's decoders for column scans (see `adapters/sql/scan.py`).

SQLite keeps timestamps as fixed-width ISO text, decimals as their canonical text,
metadata as the canonical JSON text the writer made (sorted keys, orjson's spelling)
and provenance as `orjson.dumps(source_to_dict(...))`: the JSON texts are passed
through as they are, parsed only when a number in them is spelled otherwise by the
export (an exponent, a negative zero) or the provenance is not in its usual order."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ingestry.adapters.sql.scan import Decode, Decoders, json_passthrough
from ingestry.domain.conventions import ColumnSpec, ColumnType
from ingestry.domain.provenance import source_from_dict, source_to_dict
from ingestry.extract.jsonio import loads
from ingestry.extract.portable import json_text


def _metadata(text: str) -> str:
    return json_text(loads(text))


def _source(text: str) -> str:
    if text.startswith('{"type":'):
        return text
    return json_text(source_to_dict(source_from_dict(loads(text))))


def _decimal(value: Any) -> Decimal:
    return Decimal(value if isinstance(value, str) else str(value))


_COLUMN: dict[ColumnType, Decode | None] = {
    ColumnType.TEXT: None,
    ColumnType.INTEGER: None,
    ColumnType.FLOAT: None,
    ColumnType.DECIMAL: _decimal,
    ColumnType.BOOLEAN: bool,
    ColumnType.TIMESTAMP: datetime.fromisoformat,
    ColumnType.DATE: date.fromisoformat,
    ColumnType.JSON: loads,
    ColumnType.GEOMETRY: loads,
}


def _column(column: ColumnSpec) -> tuple[str, Decode | None]:
    return f'"{column.name}"', _COLUMN[column.type]


SQLITE_SCAN = Decoders(
    envelope={
        "version": ("version", None),
        "published_at": ("published_at", datetime.fromisoformat),
        "updated_at": ("updated_at", datetime.fromisoformat),
        "data_source": ("data_source", None),
        "extractor_version": ("extractor_version", None),
        "raw_sha256": ("raw_sha256", bytes.hex),
        "source": ("source", _source),
        "metadata": ("metadata", json_passthrough(_metadata)),
    },
    column=_column,
)
