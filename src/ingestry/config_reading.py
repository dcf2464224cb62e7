"""The config keys of reading real files (issue 16), validated into `domain.reading`.

Sources take the dialect, encoding and spelling keys; columns take `format`,
`timezone` and their own spelling. Everything is checked here, once, with the key that
is wrong, so the framer and the extractor compile what they get without checks.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field

from ingestry.domain.conventions import ColumnType, split_path
from ingestry.domain.reading import (
    EPOCH_FORMATS,
    ColumnParse,
    CSVDialect,
    Reading,
    ValueSpelling,
)
from ingestry.domain.sources import SourceFormat
from ingestry.extract.textlines import check_encoding

DECIMAL_MARKS = (".", ",")
THOUSANDS_MARKS = (",", ".", " ", "'", "_")
_NUMERIC = (ColumnType.INTEGER, ColumnType.FLOAT, ColumnType.DECIMAL)


class ReadingError(ValueError):
    """A read option that cannot be: `key` (under the source or column) and why."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


class SpellingModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    nulls: list[str] | None = None
    decimal: str | None = None
    thousands: str | None = None
    true_values: list[str] | None = None
    false_values: list[str] | None = None


class SourceReadingModel(SpellingModel):
    """The read options a source takes (mixed into the source's model)."""

    delimiter: str | None = None
    quote: str | None = None
    escape: str | None = None
    encoding: str = "utf-8"
    fallback_encoding: str = "cp1252"
    header: int | Literal["none"] = Field(default=1)
    names: list[str] | None = None
    skip_rows: int = Field(default=0, ge=0)
    comment: str | None = None
    records_path: str | None = None
    sheet: str | None = None


class ColumnReadingModel(SpellingModel):
    """The parse options a column takes (mixed into the column's model)."""

    format: str | None = None
    timezone: str | None = None


def _spelling(model: SpellingModel) -> ValueSpelling:
    if model.decimal is not None and model.decimal not in DECIMAL_MARKS:
        raise ReadingError("decimal", f"must be one of {_listed(DECIMAL_MARKS)}")
    if model.thousands is not None:
        if model.thousands not in THOUSANDS_MARKS:
            raise ReadingError("thousands", f"must be one of {_listed(THOUSANDS_MARKS)}")
        if model.thousands == (model.decimal or "."):
            raise ReadingError("thousands", "must differ from the decimal mark")
    for key in ("true_values", "false_values"):
        values = getattr(model, key)
        if values is not None and not values:
            raise ReadingError(key, "needs at least one value")
    if model.true_values and model.false_values:
        both = set(map(str.lower, model.true_values)) & set(map(str.lower, model.false_values))
        if both:
            raise ReadingError("false_values", f"{sorted(both)[0]!r} is also a true value")
    return ValueSpelling(
        tuple(model.nulls) if model.nulls is not None else None,
        model.decimal,
        model.thousands,
        tuple(model.true_values) if model.true_values is not None else None,
        tuple(model.false_values) if model.false_values is not None else None,
    )


def _one_char(key: str, value: str | None) -> str | None:
    if value is None:
        return None
    if value in ("tab", "\\t"):
        value = "\t"
    if len(value) != 1 or value in "\r\n":
        raise ReadingError(key, f"must be one character, not {value!r}")
    return value


def source_reading(model: SourceReadingModel, fmt: SourceFormat) -> Reading:
    """The source's Reading; ReadingError names the key that cannot be."""
    csv_keys = ("delimiter", "quote", "escape", "names", "comment")
    if fmt is not SourceFormat.CSV:
        for key in (*csv_keys, "skip_rows", "header"):
            if key in model.model_fields_set:
                raise ReadingError(key, "only a csv source takes it")
    if model.records_path is not None and fmt is not SourceFormat.JSON:
        raise ReadingError("records_path", "only a json source takes it")
    if model.sheet is not None and fmt is not SourceFormat.XLSX:
        raise ReadingError("sheet", "only an xlsx source takes it")
    for key in ("encoding", "fallback_encoding"):
        problem = check_encoding(getattr(model, key))
        if problem:
            raise ReadingError(key, problem)
    if model.fallback_encoding in ("auto", "utf-16"):
        raise ReadingError("fallback_encoding", "must be a one-byte encoding (cp1252, latin-1)")
    delimiter = model.delimiter
    if delimiter != "auto":
        delimiter = _one_char("delimiter", delimiter) or ","
    header = model.header != "none"
    names = tuple(model.names or ())
    if not header and not names:
        raise ReadingError("header", "header: none needs the columns' `names`")
    if header and names:
        raise ReadingError("names", "names are read from the header (or set header: none)")
    skip = model.skip_rows
    if isinstance(model.header, int):
        if model.header < 1:
            raise ReadingError("header", "is the header's line number, from 1 (or none)")
        if model.header > 1 and skip:
            raise ReadingError("skip_rows", "give the header's line or skip_rows, not both")
        skip += model.header - 1
    path = None
    if model.records_path is not None:
        try:
            path = split_path(model.records_path)
        except ValueError as exc:
            raise ReadingError("records_path", str(exc)) from None
    return Reading(
        dialect=CSVDialect(
            delimiter=delimiter,
            quote=_one_char("quote", model.quote) or '"',
            escape=_one_char("escape", model.escape),
            header=header,
            names=names,
            skip_rows=skip,
            comment=_one_char("comment", model.comment),
        ),
        encoding=model.encoding,
        fallback_encoding=model.fallback_encoding,
        spelling=_spelling(model),
        records_path=path,
        sheet=model.sheet,
    )


def column_parse(model: ColumnReadingModel, column_type: ColumnType) -> ColumnParse | None:
    """The column's parse options (None when it has none); ReadingError names the key."""
    spelling = _spelling(model)
    if (model.decimal or model.thousands) and column_type not in _NUMERIC:
        key = "decimal" if model.decimal else "thousands"
        raise ReadingError(key, "only a number column (integer, float, decimal) takes it")
    if (model.true_values or model.false_values) and column_type is not ColumnType.BOOLEAN:
        key = "true_values" if model.true_values else "false_values"
        raise ReadingError(key, "only a boolean column takes it")
    if model.format is not None:
        if column_type not in (ColumnType.TIMESTAMP, ColumnType.DATE):
            raise ReadingError("format", "only a timestamp or date column takes it")
        check_format(model.format)
    if model.timezone is not None:
        if column_type is not ColumnType.TIMESTAMP:
            raise ReadingError("timezone", "only a timestamp column takes it")
        check_timezone(model.timezone)
    parse = ColumnParse(model.format, model.timezone, spelling)
    return None if parse.is_default else parse


_DIRECTIVE = re.compile(r"%[a-zA-Z]")


def check_format(fmt: str) -> None:
    if fmt in EPOCH_FORMATS:
        return
    if not _DIRECTIVE.search(fmt):
        raise ReadingError(
            "format", f"{fmt!r} is no strptime pattern (like %Y/%m/%d) nor epoch_s/epoch_ms"
        )
    try:
        datetime.strptime(datetime(2001, 2, 3, 4, 5, 6).strftime(fmt), fmt)
    except ValueError as exc:
        raise ReadingError("format", f"{fmt!r} is not a strptime pattern: {exc}") from None


def check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ReadingError("timezone", f"unknown time zone {name!r} (an IANA name)") from None


def _listed(values: tuple[str, ...]) -> str:
    return ", ".join(repr(v) for v in values)
