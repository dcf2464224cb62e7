"""Records as CSV rows and as typed Parquet columns: the cell rules of an export.

Exact numbers survive every format: a decimal is its exact text in CSV and a
`decimal128(p, s)` in Parquet (a value that needs rounding or more digits is an
`ExportError` naming the column and the record, never a rounded number); an integer
column is int64 (a value past 64 bits is refused the same way: declare it `decimal`
or `json`); `json` columns, `metadata` and `source` are JSON text, so a 30-digit
integer inside them stays the digits it was."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from ingestry.domain.conventions import ColumnSpec, ColumnType, Convention
from ingestry.domain.errors import InputError
from ingestry.domain.provenance import source_to_dict
from ingestry.domain.records import Record
from ingestry.extract.decimals import spell
from ingestry.extract.geometry import wkb
from ingestry.services.export import json_text, portable
from ingestry.services.ports import ExportColumn

#: Columns every export starts with, before the declared ones; `metadata` comes last.
ENVELOPE = (
    ExportColumn("srn", "string"),
    ExportColumn("convention", "string"),
    ExportColumn("version", "int64"),
    ExportColumn("published_at", "timestamp"),
    ExportColumn("updated_at", "timestamp"),
    ExportColumn("data_source", "string"),
    ExportColumn("extractor_version", "string"),
    ExportColumn("raw_sha256", "string"),
    ExportColumn("source", "string"),
)
_KINDS = {
    ColumnType.INTEGER: "int64",
    ColumnType.FLOAT: "float64",
    ColumnType.BOOLEAN: "bool",
    ColumnType.TIMESTAMP: "timestamp",
    ColumnType.DATE: "date",
    ColumnType.DECIMAL: "decimal",
    # GeoParquet: WKB, with the `geo` file metadata the Parquet writer adds
    ColumnType.GEOMETRY: "geometry",
}
_INT64 = range(-(2**63), 2**63)
#: decimal256 holds 76 digits: the widest Parquet decimal.
MAX_PRECISION = 76
_WIDE = Context(prec=200_000)


class ExportError(InputError):
    """A value that the export format cannot hold exactly (names column and record)."""


def envelope(record: Record) -> list[Any]:
    return [
        record.srn,
        record.convention,
        record.version,
        record.published_at,
        record.updated_at,
        record.data_source,
        record.extractor_version,
        record.raw_sha256,
        json_text(source_to_dict(record.source)),
    ]


# --- CSV -------------------------------------------------------------------------------------


def csv_header(convention: Convention) -> bytes:
    names = [c.name for c in ENVELOPE] + list(convention.column_names) + ["metadata"]
    return _csv_line(names)


def csv_rows(convention: Convention, records: Iterable[Record]) -> bytes:
    """CSV lines (RFC 4180, `\\r\\n`) of these records; an empty cell is null."""
    out = io.StringIO()
    writer = csv.writer(out)
    for record in records:
        cells = [_text(v) for v in envelope(record)]
        cells += [_text(record.columns.get(c.name), c) for c in convention.columns]
        cells.append(json_text(dict(record.metadata)))
        writer.writerow(cells)
    return out.getvalue().encode()


def _csv_line(cells: Sequence[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    return out.getvalue().encode()


def _text(value: Any, column: ColumnSpec | None = None) -> str:
    if value is None:
        return ""
    if column is not None and column.type in (ColumnType.JSON, ColumnType.GEOMETRY):
        return value if isinstance(value, str) else json_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return spell(value)
    if isinstance(value, float):
        return json_text(portable(value))
    return str(value)


# --- Parquet ---------------------------------------------------------------------------------


def parquet_columns(
    convention: Convention, shapes: dict[str, tuple[int, int]]
) -> list[ExportColumn]:
    """The typed columns; a decimal takes its declared precision/scale, else `shapes`
    (digits before the point, after it) of the largest values seen."""
    out = list(ENVELOPE)
    for column in convention.columns:
        kind = _KINDS.get(column.type, "string")
        if kind != "decimal":
            out.append(ExportColumn(column.name, kind))
            continue
        before, after = shapes.get(column.name, (1, 0))
        scale = column.scale if column.scale is not None else after
        precision = column.precision if column.precision is not None else before + scale
        precision = max(precision, scale, 1)
        if precision > MAX_PRECISION:
            raise ExportError(
                f"column '{column.name}': {precision} digits do not fit a Parquet decimal"
                f" (at most {MAX_PRECISION}); declare it json or export csv/jsonl"
            )
        out.append(ExportColumn(column.name, "decimal", precision, scale))
    out.append(ExportColumn("metadata", "string"))
    return out


def undeclared_decimals(convention: Convention) -> list[str]:
    """Decimal columns without precision or scale: their shape is read from the data."""
    return [
        c.name
        for c in convention.columns
        if c.type is ColumnType.DECIMAL and (c.precision is None or c.scale is None)
    ]


def widen(shapes: dict[str, tuple[int, int]], names: Sequence[str], record: Record) -> None:
    """Grow `shapes` (digits before, after the point) by one record's decimals."""
    for name in names:
        value = record.columns.get(name)
        if value is None:
            continue
        before, after = _shape(_decimal(value, name, record))
        old = shapes.get(name, (1, 0))
        shapes[name] = (max(old[0], before), max(old[1], after))


def _shape(value: Decimal) -> tuple[int, int]:
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    after = max(-exponent, 0)
    before = max(len(digits) + exponent, 1)
    return before, after


def _decimal(value: Any, name: str, record: Record) -> Decimal:
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise ExportError(f"column '{name}' of {record.srn}: {value!r} is not a number") from None
    if not number.is_finite():
        raise ExportError(f"column '{name}' of {record.srn}: {value} is not finite")
    return number


def parquet_batch(columns: Sequence[ExportColumn], records: Sequence[Record]) -> list[list[Any]]:
    """One list per column of these records, each value checked to fit its column."""
    out: list[list[Any]] = [[] for _ in columns]
    declared = len(ENVELOPE)
    for record in records:
        row = envelope(record)
        for i, value in enumerate(row):
            out[i].append(value)
        for i, column in enumerate(columns[declared:-1], start=declared):
            out[i].append(_cell(column, record.columns.get(column.name), record))
        out[-1].append(json_text(dict(record.metadata)))
    return out


def _cell(column: ExportColumn, value: Any, record: Record) -> Any:
    if value is None:
        return None
    kind = column.kind
    if kind == "decimal":
        return _fit(column, _decimal(value, column.name, record), record)
    if kind == "int64":
        if not isinstance(value, int) or value not in _INT64:
            raise ExportError(
                f"column '{column.name}' of {record.srn}: {value} does not fit int64;"
                " declare the column decimal (or json) to export it exactly"
            )
        return value
    if kind == "geometry":
        return wkb(value)
    if kind == "timestamp" and isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if kind == "string" and not isinstance(value, str):
        return json_text(value)
    return value


def _fit(column: ExportColumn, value: Decimal, record: Record) -> Decimal:
    scale, precision = column.scale or 0, column.precision or 1
    exact = value.quantize(Decimal(1).scaleb(-scale), context=_WIDE)
    if exact != value or len(exact.as_tuple().digits) > precision:
        raise ExportError(
            f"column '{column.name}' of {record.srn}: {spell(value)} does not fit"
            f" decimal({precision}, {scale}) without rounding; declare a wider"
            " precision/scale, or leave them out to take the largest value's"
        )
    return exact
