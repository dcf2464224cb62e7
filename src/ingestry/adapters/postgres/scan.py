"""PostgreSQL's decoders for column scans (see `adapters/sql/scan.py`).

psycopg decodes timestamps, numerics, dates and booleans itself. Text is unescaped
(U+0000, see `text`), a page at a time; jsonb is read as text and parsed by ingestry's
exact parser (`json_value`: escapes restored, keys in canonical order), then spelled
as the export does: jsonb reorders keys and respells numbers, so its text cannot pass
through. The provenance (`source`) is spelled by the database itself (`SOURCE_SQL`):
its keys are known per type, so the statement writes the export's text and Python
parses none of it (a third of an export's client CPU before, measured 2026-12-03)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from ingestry.adapters.postgres.reads import _JSON_TYPES, json_value
from ingestry.adapters.postgres.text import MARK, unescape_text
from ingestry.adapters.sql.scan import EXPONENT, Decoder, Decoders, PageDecode
from ingestry.domain.conventions import ColumnSpec, ColumnType
from ingestry.domain.provenance import (
    PROVENANCE_TYPES,
    source_from_dict,
    source_keys,
    source_to_dict,
)
from ingestry.extract.jsonio import loads
from ingestry.extract.portable import json_text


def _metadata(text: str) -> str:
    """jsonb text in the export's spelling: parsed and written again by orjson with
    sorted keys (C, ~5x faster than walking it in Python), unless the text holds an
    escape mark (U+0000, see `text`), a number orjson cannot write (beyond 64 bits),
    or orjson spells a number otherwise than the export does (an exponent, `-0.0`):
    then the exact, portable way."""
    if MARK not in text:
        value = loads(text)
        try:
            fast = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
        except TypeError:
            fast = None
        if fast is not None and "-0.0" not in fast and not EXPONENT.search(fast):
            return fast
    return json_text(json_value(text))


def _source(text: str) -> str:
    """jsonb's provenance text with its keys put back in `source_to_dict`'s order; a
    document that is not a plain valid provenance object (an escape mark, a missing,
    empty or extra field) goes the exact way, which checks it."""
    if MARK not in text:
        data = orjson.loads(text)
        kind = data.get("type") if type(data) is dict else None
        keys = source_keys(kind) if type(kind) is str else None
        if keys is not None and len(data) == len(keys):
            ordered = {k: data.get(k) for k in keys}
            if all(type(v) is str and v for v in ordered.values()):
                return orjson.dumps(ordered).decode()
    return json_text(source_to_dict(source_from_dict(json_value(text))))


def _spelled_source(kind: str) -> tuple[str, str]:
    """(the SQL test that `source` is a plain provenance object of this type, the SQL
    that spells it as `_source` does: `{"type":…,` then its fields in order)."""
    keys = source_keys(kind)
    assert keys is not None
    listed = ", ".join(f"'{k}'" for k in keys)
    # exactly these keys (nothing left once they are removed), each a non-empty string
    # without the escape mark: what `_source` takes its fast way, the rest goes there
    checks = [f"source->>'type' = '{kind}'", f"source - ARRAY[{listed}] = '{{}}'::jsonb"]
    spelled = f'\'{{"type":"{kind}"'
    for name in keys[1:]:
        checks += [
            f"jsonb_typeof(source->'{name}') = 'string'",
            f"source->>'{name}' <> ''",
            f"strpos(source->>'{name}', chr({ord(MARK)})) = 0",
        ]
        # to_json escapes a string as orjson does (checked in tests: every code point
        # below 0x80, quotes, backslashes, non-ASCII kept as UTF-8)
        spelled += f",\"{name}\":' || to_json(source->>'{name}')::text || '"
    return " AND ".join(checks), spelled + "}'"


#: The provenance as the export spells it, written by the statement; jsonb's own text
#: (`{"id": …` with its spaces, never `{"type":"`) when it is not a plain provenance
#: object, for `_source` to check and spell (or refuse).
SOURCE_SQL = (
    "CASE WHEN jsonb_typeof(source) = 'object' THEN CASE "
    + " ".join(f"WHEN {test} THEN {text}" for test, text in map(_spelled_source, PROVENANCE_TYPES))
    + " ELSE source::text END ELSE source::text END"
)
_SPELLED = '{"type":"'


def _source_text(text: str) -> str:
    """`SOURCE_SQL`'s text: spelled by the database already, or jsonb's to spell."""
    return text if text.startswith(_SPELLED) else _source(text)


def _unescape_page(values: list[Any]) -> list[Any]:
    """Text columns of a page: as they are unless some value holds the escape mark
    (one scan of the page's text in C, instead of a call per value)."""
    if MARK not in "".join(filter(None, values)):
        return values
    return [None if v is None else unescape_text(v) for v in values]


_text = PageDecode(_unescape_page)


def _hex(value: Any) -> str:
    return bytes(value).hex()


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _decimal_page(values: list[Any]) -> list[Any]:
    """psycopg reads `numeric` as Decimal: a page of those (or nulls) passes as it is."""
    if set(map(type, values)) <= _DECIMALS:
        return values
    return [None if v is None else _decimal(v) for v in values]


_DECIMALS = {Decimal, type(None)}


_COLUMN: dict[ColumnType, Decoder] = {
    ColumnType.TEXT: _text,
    ColumnType.INTEGER: None,
    ColumnType.FLOAT: None,
    ColumnType.DECIMAL: PageDecode(_decimal_page),
    ColumnType.BOOLEAN: None,
    ColumnType.TIMESTAMP: None,
    ColumnType.DATE: None,
}


def _column(column: ColumnSpec) -> tuple[str, Decoder]:
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
        "source": (SOURCE_SQL, _source_text),
        "metadata": ("metadata::text", _metadata),
    },
    column=_column,
    identity=_text,
)
