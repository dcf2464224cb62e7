"""PostgreSQL's decoders for column scans (see `adapters/sql/scan.py`).

psycopg decodes timestamps, numerics, dates and booleans itself. Text is unescaped
(U+0000, see `text`); jsonb is read as text and parsed by ingestry's exact parser
(`json_value`: escapes restored, keys in canonical order), then spelled as the export
does: jsonb reorders keys and respells numbers, so its text cannot pass through."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ingestry.adapters.postgres.reads import _JSON_TYPES, json_value
from ingestry.adapters.postgres.text import unescape_text
from ingestry.adapters.sql.scan import Decode, Decoders
from ingestry.domain.conventions import ColumnSpec, ColumnType
from ingestry.domain.provenance import source_from_dict, source_to_dict
from ingestry.extract.portable import json_text


def _metadata(text: str) -> str:
    return json_text(json_value(text))


def _source(text: str) -> str:
    return json_text(source_to_dict(source_from_dict(json_value(text))))


def _text(value: str) -> str:
    return unescape_text(value)


def _hex(value: Any) -> str:
    return bytes(value).hex()


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


_COLUMN: dict[ColumnType, Decode | None] = {
    ColumnType.TEXT: _text,
    ColumnType.INTEGER: None,
    ColumnType.FLOAT: None,
    ColumnType.DECIMAL: _decimal,
    ColumnType.BOOLEAN: None,
    ColumnType.TIMESTAMP: None,
    ColumnType.DATE: None,
}


def _column(column: ColumnSpec) -> tuple[str, Decode | None]:
    if column.type in _JSON_TYPES:
        return f'"{column.name}"::text', json_value
    return f'"{column.name}"', _COLUMN[column.type]


POSTGRES_SCAN = Decoders(
    envelope={
        "version": ("version", None),
        "published_at": ("published_at", None),
        "updated_at": ("updated_at", None),
        "data_source": ("data_source", None),
        "extractor_version": ("extractor_version", None),
        "raw_sha256": ("raw_sha256", _hex),
        "source": ("source::text", _source),
        "metadata": ("metadata::text", _metadata),
    },
    column=_column,
    identity=unescape_text,
)
