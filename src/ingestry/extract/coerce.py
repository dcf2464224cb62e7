"""Coercion of payload values to the contract's column types.

Every coercer takes a value that is not None and returns a storage-ready primitive
(str, int, float or bool) or raises CoercionError with a reason. Timestamps become
fixed-width ISO 8601 strings in UTC, dates `YYYY-MM-DD`, decimals their exact text,
JSON and geometry canonical JSON text: the same representation on every backend.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ingestry.domain.conventions import ColumnSpec, ColumnType
from ingestry.extract.decimals import NumberText, SourceTextNeeded, canonical, fit, spell
from ingestry.extract.jsonio import JSONError, NestingError, dumps_str, loads

Coercer = Callable[[Any], Any]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# ASCII only: Python's int()/float() also take "1_000" and other scripts' digits.
_INTEGER = re.compile(r"[+-]?[0-9]+\Z", re.ASCII)
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\Z", re.ASCII)
_CANONICAL_UTC = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|\+00:00)\Z", re.ASCII
)
_TRUE = frozenset({"true", "t", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "off"})
#: Numbers above this are taken as epoch milliseconds (in seconds it is the year 5138).
_EPOCH_MS_THRESHOLD = 1e11


class CoercionError(ValueError):
    """A value that does not fit its column type."""


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool):
        return "a boolean"
    try:
        text = repr(value)
    except ValueError:  # an integer too long to print
        return "a very large number"
    return text if len(text) <= 60 else text[:57] + "..."


def to_text(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return str(value)
    raise CoercionError(f"expected text, got {_kind(value)}")


def to_integer(value: Any) -> int:
    kind = type(value)
    if kind is int:
        result: int = value
    elif kind is float and value.is_integer():
        result = int(value)
    elif kind is str:
        text = value.strip()
        if _INTEGER.match(text):
            result = int(text)
        elif _NUMBER.match(text):
            # "3.0" or "1e3": exact through Decimal, never through float
            number = Decimal(text)
            if number != number.to_integral_value() or abs(number.adjusted()) > 30:
                raise CoercionError(f"expected integer, got {_kind(value)}")
            result = int(number)
        else:
            raise CoercionError(f"expected integer, got {_kind(value)}")
    else:
        raise CoercionError(f"expected integer, got {_kind(value)}")
    if not INT64_MIN <= result <= INT64_MAX:
        raise CoercionError(f"integer {result} is out of the 64-bit range")
    return result


def to_float(value: Any) -> float:
    kind = type(value)
    try:
        if kind is float or kind is int:
            result = float(value)
        elif kind is str and _NUMBER.match(value.strip()):
            result = float(value.strip())
        else:
            raise CoercionError(f"expected float, got {_kind(value)}")
    except OverflowError:
        raise CoercionError(f"number {_kind(value)} is too large for a float") from None
    if not math.isfinite(result):
        raise CoercionError(f"float {value!r} is not finite")
    return result


def to_decimal(value: Any) -> str:
    """The decimal's canonical text (see `decimals`): exact for text and integers; a
    float (from a Python extractor or a published document) by its shortest repr."""
    kind = type(value)
    try:
        if kind is str or kind is NumberText:
            return canonical(value.strip())
        if kind is int:
            return spell(Decimal(value))
        if kind is float:
            return spell(Decimal(repr(value)))
    except (ValueError, InvalidOperation) as exc:
        if str(exc).startswith(("out of", "not finite")):
            raise CoercionError(f"decimal {_kind(value)} is {exc}") from None
    raise CoercionError(f"expected decimal, got {_kind(value)}")


def to_source_decimal(value: Any) -> str:
    """`to_decimal` for values parsed from a payload's JSON text: a float means the
    payload's own digits were lost in parsing, so ask for them (`SourceTextNeeded`)."""
    if type(value) is float:
        raise SourceTextNeeded
    return to_decimal(value)


def decimal_coercer(column: ColumnSpec, *, source_text: bool) -> Coercer:
    """The coercer of a decimal column: exact text (from the source's digits when
    `source_text`), fitted to the column's precision and scale when it declares them."""
    base = to_source_decimal if source_text else to_decimal
    precision, scale = column.precision, column.scale
    if precision is None and scale is None:
        return base

    def coerce(value: Any) -> str:
        text = base(value)
        try:
            return fit(text, precision, scale)
        except ValueError as exc:
            raise CoercionError(f"decimal {text} {exc}") from None

    return coerce


def to_boolean(value: Any) -> bool:
    kind = type(value)
    if kind is bool:
        return value  # type: ignore[no-any-return]
    if kind is int and value in (0, 1):
        return bool(value)
    if kind is str:
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise CoercionError(f"expected boolean, got {_kind(value)}")


def to_timestamp(value: Any) -> str:
    kind = type(value)
    canonical = _CANONICAL_UTC.match(value) if kind is str else None
    if canonical is not None:
        # Already UTC with a 'Z' or +00:00: validate, then spell it out without the
        # (slow) datetime.isoformat.
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise CoercionError(f"expected ISO 8601 timestamp, got {_kind(value)}") from None
        fraction = canonical.group(1) or "."
        return f"{value[:19]}{fraction:0<7}+00:00"
    if kind is str:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise CoercionError(f"expected ISO 8601 timestamp, got {_kind(value)}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    elif kind is int or (kind is float and math.isfinite(value)):
        try:
            seconds = value / 1000 if abs(value) > _EPOCH_MS_THRESHOLD else value
            moment = datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise CoercionError(f"epoch {_kind(value)} is out of range") from None
    else:
        raise CoercionError(f"expected timestamp, got {_kind(value)}")
    try:
        return moment.astimezone(UTC).isoformat(timespec="microseconds")
    except (OverflowError, ValueError):
        raise CoercionError(f"timestamp {_kind(value)} is out of range in UTC") from None


def to_date(value: Any) -> str:
    if type(value) is not str:
        raise CoercionError(f"expected ISO 8601 date, got {_kind(value)}")
    text = value.strip()
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).date().isoformat()
    except ValueError:
        raise CoercionError(f"expected ISO 8601 date, got {_kind(value)}") from None


def to_json(value: Any) -> str:
    return dumps_str(value)


def to_geometry(value: Any) -> str:
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise CoercionError(f"expected a GeoJSON geometry object, got {_kind(value)}")
    if "coordinates" not in value and "geometries" not in value:
        raise CoercionError("GeoJSON geometry needs 'coordinates' or 'geometries'")
    return dumps_str(value)


def _parsing(inner: Coercer, what: str) -> Coercer:
    """For text cells (CSV): parse the cell as JSON before coercing."""

    def coerce(value: Any) -> Any:
        if type(value) is str:
            try:
                value = loads(value)
            except NestingError:
                raise  # the same reason as a payload nested too deep
            except JSONError:
                raise CoercionError(f"expected {what} as JSON text, got {_kind(value)}") from None
        return inner(value)

    return coerce


COERCERS: dict[ColumnType, Coercer] = {
    ColumnType.TEXT: to_text,
    ColumnType.INTEGER: to_integer,
    ColumnType.FLOAT: to_float,
    ColumnType.DECIMAL: to_decimal,
    ColumnType.BOOLEAN: to_boolean,
    ColumnType.TIMESTAMP: to_timestamp,
    ColumnType.DATE: to_date,
    ColumnType.JSON: to_json,
    ColumnType.GEOMETRY: to_geometry,
}


def coercer_for(
    column_type: ColumnType,
    *,
    text_cells: bool = False,
    column: ColumnSpec | None = None,
    source_text: bool = False,
) -> Coercer:
    """The coercer of a type; `text_cells` when values arrive as strings (CSV);
    `column` (its precision and scale) and `source_text` for decimals (see
    `decimal_coercer`)."""
    if column_type is ColumnType.DECIMAL and (column is not None or source_text):
        spec = column or ColumnSpec("", ("",), column_type)
        return decimal_coercer(spec, source_text=source_text and not text_cells)
    if text_cells and column_type is ColumnType.JSON:
        return _parsing(to_json, "JSON")
    if text_cells and column_type is ColumnType.GEOMETRY:
        return _parsing(to_geometry, "GeoJSON geometry")
    return COERCERS[column_type]


def parse_column_value(column_type: ColumnType, stored: Any) -> Any:
    """Turn a stored primitive back into its Python type for the Python API."""
    if stored is None:
        return None
    if column_type is ColumnType.TIMESTAMP:
        return stored if isinstance(stored, datetime) else datetime.fromisoformat(stored)
    if column_type is ColumnType.DATE:
        return stored if isinstance(stored, date) else date.fromisoformat(stored)
    if column_type is ColumnType.DECIMAL:
        return Decimal(str(stored))
    if column_type is ColumnType.BOOLEAN:
        return bool(stored)
    if column_type in (ColumnType.JSON, ColumnType.GEOMETRY):
        return loads(stored) if isinstance(stored, str | bytes) else stored
    return stored
