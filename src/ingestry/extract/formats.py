"""Parse options of a column, compiled into its coercer once (issue 16): date formats
(strptime patterns, `epoch_s`, `epoch_ms`), a time zone for naive timestamps, numbers
with a decimal comma or thousands separators, and declared boolean spellings.

Each wraps the column's plain coercer (`coerce.coercer_for`) only when the column has
something to parse: plain columns pay nothing. Decimals stay exact: the text is
rewritten with a point and handed to the exact decimal coercer, never through a float.
"""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from ingestry.domain.conventions import ColumnType
from ingestry.domain.reading import ColumnParse, ValueSpelling
from ingestry.extract.coerce import (
    _FALSE,
    _NUMBER,
    _TRUE,
    Coercer,
    CoercionError,
    _kind,
    to_boolean,
    to_decimal,
    to_float,
    to_integer,
    to_timestamp,
)

#: Wrapped coercers whose spelling the columnar path (`extract.columnar`) reads in
#: C-level passes: ("comma", base) for a decimal comma without thousands separators
#: over the plain integer, float or decimal coercer; ("date", separator) for a date
#: pattern `%Y<sep>%m<sep>%d`. Weak keys: an extractor compiled again leaves no entry.
FAST_SPELLINGS: weakref.WeakKeyDictionary[Coercer, tuple[str, Any]] = weakref.WeakKeyDictionary()
_YMD = re.compile(r"%Y([/.-])%m\1%d\Z")


def parsed_coercer(
    column_type: ColumnType, base: Coercer, parse: ColumnParse | None, spelling: ValueSpelling
) -> Coercer:
    """`base` wrapped for the column's format, time zone and spelling of numbers and
    booleans; `base` itself when the column has none (no cost for plain columns)."""
    fmt = parse.format if parse else None
    zone = parse.timezone if parse else None
    if column_type is ColumnType.TIMESTAMP and (fmt or zone):
        return _timestamp_coercer(fmt, ZoneInfo(zone) if zone else UTC)
    if column_type is ColumnType.DATE and fmt:
        return _date_coercer(fmt)
    if column_type in (ColumnType.INTEGER, ColumnType.FLOAT, ColumnType.DECIMAL):
        decimal, thousands = spelling.decimal or ".", spelling.thousands
        if decimal != "." or thousands:
            return _number_coercer(base, decimal, thousands)
    if column_type is ColumnType.BOOLEAN and (spelling.true_values or spelling.false_values):
        return _boolean_coercer(spelling.true_values, spelling.false_values)
    return base


def _number_coercer(base: Coercer, decimal: str, thousands: str | None) -> Coercer:
    """Numbers written with a decimal comma and/or thousands separators. A cell holding
    the separator must be grouped by threes; a point where the decimal mark is a comma
    (and no thousands separator) is refused, never guessed; then the text goes to
    `base` with a point, exactly. Cells without separators pay one `in` test."""
    d, t = re.escape(decimal), re.escape(thousands) if thousands else None
    grouped = rf"[0-9]{{1,3}}(?:{t}[0-9]{{3}})+" if t else "(?!)"
    shape = re.compile(
        rf"[+-]?(?:{grouped}|[0-9]+)(?:{d}[0-9]*)?(?:[eE][+-]?[0-9]+)?\Z|[+-]?{d}[0-9]+\Z"
    )
    spelled = f"decimal {decimal!r}" + (f", thousands {thousands!r}" if thousands else "")
    foreign = "." if decimal != "." and thousands != "." else None

    def refuse(value: Any) -> CoercionError:
        return CoercionError(f"expected a number ({spelled}), got {_kind(value)}")

    def coerce(value: Any) -> Any:
        if type(value) is not str:
            return base(value)
        text = value
        if thousands is not None and thousands in text:
            text = text.strip()
            if not shape.match(text):
                raise refuse(value)
            text = text.replace(thousands, "")
        elif foreign is not None and foreign in text:
            raise refuse(value)
        if decimal != ".":
            text = text.replace(decimal, ".")
        try:
            return base(text)
        except CoercionError:
            raise refuse(value) from None

    if decimal == "," and thousands is None and base in (to_integer, to_float, to_decimal):
        FAST_SPELLINGS[coerce] = ("comma", base)
    return coerce


def _boolean_coercer(
    true_values: tuple[str, ...] | None, false_values: tuple[str, ...] | None
) -> Coercer:
    trues = frozenset(v.lower() for v in true_values) if true_values else _TRUE
    falses = frozenset(v.lower() for v in false_values) if false_values else _FALSE

    def coerce(value: Any) -> bool:
        if type(value) is str:
            text = value.strip().lower()
            if text in trues:
                return True
            if text in falses:
                return False
            raise CoercionError(f"expected boolean, got {_kind(value)}")
        return to_boolean(value)

    return coerce


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _epoch(value: Any, per_second: int) -> datetime:
    """A moment from a count of seconds or milliseconds, exact to the microsecond."""
    kind = type(value)
    if kind is str and _NUMBER.match(value.strip()):
        number = Decimal(value.strip())
    elif kind is int:
        number = Decimal(value)
    elif kind is float and math.isfinite(value):
        number = Decimal(repr(value))
    else:
        unit = "seconds" if per_second == 1 else "milliseconds"
        raise CoercionError(f"expected epoch {unit}, got {_kind(value)}")
    try:
        micros = int((number * 1_000_000 / per_second).to_integral_value())
        return _EPOCH + timedelta(microseconds=micros)
    except (OverflowError, InvalidOperation):
        raise CoercionError(f"epoch {_kind(value)} is out of range") from None


_FIELDS = {"%Y": "([0-9]{4})", "%m": "([0-9]{1,2})", "%d": "([0-9]{1,2})",
           "%H": "([0-9]{1,2})", "%M": "([0-9]{1,2})", "%S": "([0-9]{1,2})"}  # fmt: skip
_DIRECTIVE = re.compile(r"%.")


def pattern_reader(fmt: str) -> Callable[[str], datetime]:
    """A reader of `fmt`: strptime, or, for patterns made only of %Y %m %d %H %M %S and
    literal text (most real ones: `%Y/%m/%d`, `%d.%m.%Y %H:%M`), a compiled regex and
    the datetime constructor, ~8x faster than strptime and as strict (ASCII digits;
    whitespace in the pattern matches any run of it, as in strptime). Raises ValueError."""
    parts = _DIRECTIVE.split(fmt)
    directives = _DIRECTIVE.findall(fmt)
    if any(d not in _FIELDS for d in directives) or len(set(directives)) != len(directives):
        return lambda text: datetime.strptime(text, fmt)
    regex = "".join(
        re.sub(r"\\\s+|\\ ", r"\\s+", re.escape(part)) + (_FIELDS[d] if i < len(directives) else "")
        for i, (part, d) in enumerate(zip(parts, [*directives, ""], strict=True))
    )
    match = re.compile(regex + r"\Z", re.IGNORECASE).match
    order = [d[1] for d in directives]
    wanted = "YmdHMS"[: len(order)]
    if set(order) != set(wanted) or len(order) < 3:  # a pattern without the year, or the day, …
        return lambda text: datetime.strptime(text, fmt)
    positions = tuple(order.index(k) for k in wanted)

    def read(text: str) -> datetime:
        found = match(text)
        if found is None:
            raise ValueError(f"time data {text!r} does not match format {fmt!r}")
        cells = found.groups()
        parts = [int(cells[i]) for i in positions] + [0] * (6 - len(positions))
        return datetime(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5])

    return read


def _timestamp_coercer(fmt: str | None, zone: tzinfo) -> Coercer:
    """A naive moment is in `zone` (UTC unless the column names one)."""
    per_second = {"epoch_s": 1, "epoch_ms": 1000}.get(fmt or "")
    parse = pattern_reader(fmt) if fmt and per_second is None else datetime.fromisoformat

    def coerce(value: Any) -> str:
        if per_second is not None:
            moment = _epoch(value, per_second)
        elif type(value) is not str:
            if fmt is not None:
                raise CoercionError(f"expected timestamp like {fmt}, got {_kind(value)}")
            return to_timestamp(value)
        else:
            try:
                text = value.strip()
                moment = parse(text)
            except ValueError:
                like = fmt or "ISO 8601"
                raise CoercionError(f"expected timestamp like {like}, got {_kind(value)}") from None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=zone)
        try:
            return moment.astimezone(UTC).isoformat(timespec="microseconds")
        except (OverflowError, ValueError):
            raise CoercionError(f"timestamp {_kind(value)} is out of range in UTC") from None

    return coerce


def _date_coercer(fmt: str) -> Coercer:
    per_second = {"epoch_s": 1, "epoch_ms": 1000}.get(fmt)
    parse = pattern_reader(fmt) if per_second is None else datetime.fromisoformat

    def coerce(value: Any) -> str:
        if per_second is not None:
            return _epoch(value, per_second).date().isoformat()
        if type(value) is not str:
            raise CoercionError(f"expected date like {fmt}, got {_kind(value)}")
        try:
            return parse(value.strip()).date().isoformat()
        except ValueError:
            raise CoercionError(f"expected date like {fmt}, got {_kind(value)}") from None

    ymd = _YMD.match(fmt)
    if ymd is not None:
        FAST_SPELLINGS[coerce] = ("date", ymd.group(1))
    return coerce
