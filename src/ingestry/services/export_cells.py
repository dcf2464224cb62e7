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

import orjson

from ingestry.domain.conventions import ColumnSpec, ColumnType, Convention
from ingestry.domain.errors import InputError
from ingestry.domain.provenance import source_to_dict
from ingestry.domain.records import Record
from ingestry.extract.decimals import spell
from ingestry.extract.geometry import wkb
from ingestry.extract.portable import default, json_text, portable
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
#: Last in an export with `include_deleted`: who/when/why of a tombstone version as
#: JSON text (`{"version", "deleted_at", "by", "reason"}`), null for content.
DELETED = ExportColumn("deleted", "string")
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


def export_names(convention: Convention) -> list[str]:
    """What an export reads of each record: the envelope, the declared columns, metadata."""
    return [c.name for c in ENVELOPE] + list(convention.column_names) + ["metadata"]


def record_cells(record: Record, names: Sequence[str]) -> list[Any]:
    """A Record's values under these names, as a column scan hands them over
    (`Storage.scan_columns`: source and metadata as canonical JSON text)."""
    out: list[Any] = []
    for name in names:
        if name == "source":
            out.append(json_text(source_to_dict(record.source)))
        elif name == "metadata":
            out.append(json_text(dict(record.metadata)))
        elif name in _RECORD_FIELDS:
            out.append(getattr(record, name))
        else:
            out.append(record.columns.get(name))
    return out


_RECORD_FIELDS = frozenset(c.name for c in ENVELOPE)


def record_page(records: Iterable[Record], names: Sequence[str]) -> list[list[Any]]:
    """Records as a page of columns (what a column scan yields)."""
    rows = [record_cells(r, names) for r in records]
    return [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in names]


def json_lines(
    convention: Convention,
    page: Sequence[Sequence[Any]],
    deleted: Sequence[str | None] | None = None,
) -> list[bytes]:
    """A page (`export_names` order) as JSON lines in the shape of `records list --json`
    (`record_line`): the stored JSON texts go in as they are (orjson Fragments). A
    tombstone's line (`deleted`, one cell per row) ends with `"deleted": {…}`."""
    declared = convention.column_names
    width = len(ENVELOPE)
    out = []
    marks = deleted if deleted is not None else [None] * len(page[0])
    for row, mark in zip(zip(*page, strict=True), marks, strict=True):
        document = {
            "srn": row[0],
            "convention": row[1],
            "source": orjson.Fragment(row[8]),
            "version": row[2],
            "published_at": row[3].isoformat(),
            "updated_at": row[4].isoformat(),
            "data_source": row[5],
            "extractor_version": row[6],
            "raw_sha256": row[7],
            "columns": portable(dict(zip(declared, row[width:-1], strict=True))),
            "metadata": orjson.Fragment(row[-1]),
        }
        if mark is not None:
            document["deleted"] = orjson.Fragment(mark)
        out.append(orjson.dumps(document, default=default) + b"\n")
    return out


# --- CSV -------------------------------------------------------------------------------------


def csv_header(convention: Convention, *, deleted: bool = False) -> bytes:
    names = [c.name for c in ENVELOPE] + list(convention.column_names) + ["metadata"]
    return _csv_line([*names, DELETED.name] if deleted else names)


def csv_rows(
    convention: Convention,
    page: Sequence[Sequence[Any]],
    deleted: Sequence[str | None] | None = None,
) -> bytes:
    """CSV lines (RFC 4180, `\\r\\n`) of a page (`export_names` order); an empty
    cell is null. `deleted` (with `include_deleted`): a last cell per row."""
    out = io.StringIO()
    writer = csv.writer(out)
    width = len(ENVELOPE)
    specs = [None] * width + list(convention.columns) + [None]
    texts = [[_text(v, spec) for v in values] for values, spec in zip(page, specs, strict=True)]
    texts[-1] = list(page[-1])  # metadata: JSON text already
    if deleted is not None:
        texts.append([_text(v) for v in deleted])
    writer.writerows(zip(*texts, strict=True))
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
    widen_page(shapes, names, record_page([record], ["srn", *names]))


def widen_page(
    shapes: dict[str, tuple[int, int]], names: Sequence[str], page: Sequence[Sequence[Any]]
) -> None:
    """Grow `shapes` by a page of (srn, then the `names` columns)."""
    for name, values in zip(names, page[1:], strict=True):
        for at, value in enumerate(values):
            if value is None:
                continue
            before, after = _shape(_decimal(value, name, page[0][at]))
            old = shapes.get(name, (1, 0))
            shapes[name] = (max(old[0], before), max(old[1], after))


def _shape(value: Decimal) -> tuple[int, int]:
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    after = max(-exponent, 0)
    before = max(len(digits) + exponent, 1)
    return before, after


def _decimal(value: Any, name: str, srn: str) -> Decimal:
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise ExportError(f"column '{name}' of {srn}: {value!r} is not a number") from None
    if not number.is_finite():
        raise ExportError(f"column '{name}' of {srn}: {value} is not finite")
    return number


def parquet_batch(columns: Sequence[ExportColumn], records: Sequence[Record]) -> list[list[Any]]:
    """One list per column of these records, each value checked to fit its column."""
    return parquet_page(columns, record_page(records, [c.name for c in columns]))


def parquet_page(columns: Sequence[ExportColumn], page: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """A page (the columns' order, `srn` first) with each value checked to fit its
    column, column by column."""
    srns = page[0]
    return [_cells(column, values, srns) for column, values in zip(columns, page, strict=True)]


def _cells(column: ExportColumn, values: Sequence[Any], srns: Sequence[str]) -> list[Any]:
    kind = column.kind
    if kind == "decimal":
        return [
            None if v is None else _fit(column, _decimal(v, column.name, srns[i]), srns[i])
            for i, v in enumerate(values)
        ]
    if kind == "int64":
        for i, v in enumerate(values):
            if v is not None and (type(v) is not int or v not in _INT64):
                raise ExportError(
                    f"column '{column.name}' of {srns[i]}: {v} does not fit int64;"
                    " declare the column decimal (or json) to export it exactly"
                )
        return list(values)
    if kind == "geometry":
        return [None if v is None else wkb(v) for v in values]
    if kind == "timestamp":
        return [
            v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v
            for v in values
        ]
    if kind == "string":
        return [v if v is None or type(v) is str else json_text(v) for v in values]
    return list(values)


def _fit(column: ExportColumn, value: Decimal, srn: str) -> Decimal:
    scale, precision = column.scale or 0, column.precision or 1
    _, digits, exponent = value.as_tuple()
    if exponent == -scale and len(digits) <= precision:
        return value  # the stored scale already (the common case): nothing to check
    exact = value.quantize(Decimal(1).scaleb(-scale), context=_WIDE)
    if exact != value or len(exact.as_tuple().digits) > precision:
        raise ExportError(
            f"column '{column.name}' of {srn}: {spell(value)} does not fit"
            f" decimal({precision}, {scale}) without rounding; declare a wider"
            " precision/scale, or leave them out to take the largest value's"
        )
    return exact
