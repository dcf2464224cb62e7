"""Reads on PostgreSQL: the SELECTs and rows → domain objects.

jsonb is read as text (`::text`) and parsed by ingestry's exact JSON parser, so big
integers stay integers; escaped U+0000 (see `text`) is restored first, and object keys
are put back in canonical order, so a record reads back as it does from SQLite.
"""

from __future__ import annotations

from typing import Any

from ingestry.adapters.postgres.text import sort_keys, unescape_json, unescape_text
from ingestry.adapters.sql.conventions import table_name
from ingestry.adapters.sql.rows import (
    as_datetime,
    quarantine_entry,
    raw_payload,
    raw_with_receipts,
)
from ingestry.adapters.sql.rows import record_from_row as shared_record_from_row
from ingestry.adapters.sql.types import COLUMN_TYPES
from ingestry.domain.conventions import ColumnType, Convention
from ingestry.domain.payloads import QuarantineEntry, RawPayload
from ingestry.domain.provenance import source_from_dict
from ingestry.domain.records import Record
from ingestry.extract.coerce import parse_column_value
from ingestry.extract.jsonio import loads

_JSON_TYPES = tuple(t for t, stored in COLUMN_TYPES.items() if stored.json)

RAW_SELECT = raw_with_receipts(
    "raw_keys k JOIN raw_payloads p ON p.id = k.raw_id AND p.received_at = k.received_at",
    "k.source = %s AND k.source_id = %s",
)
QUARANTINE_SELECT = (
    "SELECT id, source, sha256, payload, line, origin, reason, received_at, status"
    " FROM quarantine WHERE source = %s"
)
_HISTORY = (
    "SELECT srn, version, source::text, data_source, metadata::text, columns::text,"
    " extractor_version, raw_sha256, published_at, version_at FROM record_versions"
)
HISTORY_SELECT = _HISTORY + " WHERE srn = %s ORDER BY version"
#: the earlier versions of many records (one array parameter)
HISTORY_OF_MANY = _HISTORY + " WHERE srn = ANY(%s) ORDER BY srn, version"


def json_value(text: str | None) -> Any:
    return None if text is None else sort_keys(loads(unescape_json(text)))


def select_records(convention: Convention, tail: str) -> str:
    """The envelope then the declared columns; jsonb as text (parsed exactly here)."""
    cols = "".join(
        f', "{c.name}"::text' if c.type in _JSON_TYPES else f', "{c.name}"'
        for c in convention.columns
    )
    return (
        "SELECT source::text, data_source, metadata::text, version, extractor_version,"
        f' raw_sha256, published_at, updated_at{cols} FROM "{table_name(convention.name)}"'
        f" {tail}"
    )


def _column(column_type: ColumnType, value: Any) -> Any:
    if value is None:
        return None
    if column_type is ColumnType.TEXT:
        return unescape_text(value)
    if column_type in _JSON_TYPES:
        return json_value(value) if isinstance(value, str) else sort_keys(value)
    return parse_column_value(column_type, value)


def record_from_row(convention: Convention, row: tuple[Any, ...]) -> Record:
    return shared_record_from_row(convention, row, decode_json=json_value, decode_column=_column)


def _history_column(column_type: ColumnType, value: Any) -> Any:
    """record_versions.columns holds JSON values (parsed already): JSON columns nested,
    decimals as text, floats as numbers (an integral float reads back as an int)."""
    if value is None:
        return None
    if column_type in _JSON_TYPES:
        return value
    if column_type is ColumnType.FLOAT:
        return float(value)
    return parse_column_value(column_type, value)


def history_record(convention: Convention, row: tuple[Any, ...]) -> Record:
    srn, version, source, data_source, metadata, columns, extractor_version, raw_sha = row[:8]
    stored = json_value(columns)
    return Record(
        srn=srn,
        convention=convention.name,
        source=source_from_dict(json_value(source)),
        metadata=json_value(metadata),
        columns={c.name: _history_column(c.type, stored.get(c.name)) for c in convention.columns},
        version=version,
        published_at=as_datetime(row[8]),
        updated_at=as_datetime(row[9]),
        data_source=data_source,
        extractor_version=extractor_version,
        raw_sha256=bytes(raw_sha).hex() if raw_sha is not None else None,
    )


def raw_from_row(row: tuple[Any, ...]) -> RawPayload:
    ident, source, entity, source_id, *rest = row
    error, line, origin = rest[-8:-5]
    count, last_at, last_run, last_origin, last_line = rest[-5:]
    return raw_payload(
        (
            ident, source, unescape_text(entity), unescape_text(source_id), *rest[:-8],
            None if error is None else unescape_text(error), line,
            None if origin is None else unescape_text(origin), count, last_at, last_run,
            None if last_origin is None else unescape_text(last_origin), last_line,
        )
    )  # fmt: skip


def quarantine_from_row(row: tuple[Any, ...]) -> QuarantineEntry:
    ident, source, sha, payload, line, origin, reason, received, status = row
    return quarantine_entry(
        (
            ident, source, sha, payload, line,
            None if origin is None else unescape_text(origin), unescape_text(reason),
            received, status,
        )
    )  # fmt: skip
