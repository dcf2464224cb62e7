"""Coercion of payload values to column types: storage-ready, exact, or a CoercionError."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestry.domain.conventions import ColumnSpec, ColumnType
from ingestry.extract.coerce import (
    COERCERS,
    INT64_MAX,
    INT64_MIN,
    CoercionError,
    coercer_for,
    parse_column_value,
    to_boolean,
    to_date,
    to_decimal,
    to_float,
    to_geometry,
    to_integer,
    to_json,
    to_text,
    to_timestamp,
)
from ingestry.extract.decimals import NumberText, SourceTextNeeded

FAST = settings(database=None, deadline=None, max_examples=200)
TS_LEN = len("2024-01-02T03:04:05.000000+00:00")


def test_every_column_type_has_a_coercer() -> None:
    assert set(COERCERS) == set(ColumnType)
    for column_type in ColumnType:
        assert coercer_for(column_type) is COERCERS[column_type]


# --- text ---


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("abc", "abc"),
        ("", ""),
        (" x ", " x "),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (-1, "-1"),
        (1.5, "1.5"),
        (123456789012345678901234567890, "123456789012345678901234567890"),
    ],
)
def test_to_text(value: Any, expected: str) -> None:
    assert to_text(value) == expected


@pytest.mark.parametrize("value", [{"a": 1}, [1], None, b"bytes"])
def test_to_text_rejects_containers(value: Any) -> None:
    with pytest.raises(CoercionError, match="expected text"):
        to_text(value)


# --- integer ---


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (42, 42),
        (-7, -7),
        (3.0, 3),
        (-2.0, -2),
        ("42", 42),
        (" 42 ", 42),
        ("-42", -42),
        ("3.0", 3),
        ("1e3", 1000),
        (INT64_MAX, INT64_MAX),
        (INT64_MIN, INT64_MIN),
        (str(INT64_MAX), INT64_MAX),
        (str(INT64_MIN), INT64_MIN),
    ],
)
def test_to_integer(value: Any, expected: int) -> None:
    result = to_integer(value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    "value",
    [3.5, "3.5", "abc", "", "nan", "inf", True, False, None, [1], {"a": 1}, float("nan")],
)
def test_to_integer_rejects(value: Any) -> None:
    with pytest.raises(CoercionError, match="expected integer"):
        to_integer(value)


@pytest.mark.parametrize(
    "value", [INT64_MAX + 1, INT64_MIN - 1, str(INT64_MAX + 1), str(INT64_MIN - 1), 2**100, 1e300]
)
def test_to_integer_rejects_out_of_64_bit_range(value: Any) -> None:
    with pytest.raises(CoercionError, match="64-bit range"):
        to_integer(value)


def test_to_integer_from_integral_decimal_text_is_exact() -> None:
    assert to_integer("9007199254740993.0") == 9007199254740993


# --- float ---


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1.5, 1.5), (2, 2.0), ("2.5", 2.5), (" -1e3 ", -1000.0), (0, 0.0), ("0", 0.0)],
)
def test_to_float(value: Any, expected: float) -> None:
    result = to_float(value)
    assert result == expected
    assert type(result) is float


@pytest.mark.parametrize(
    "value", ["nan", "NaN", "inf", "-inf", "Infinity", "1e400", float("nan"), float("inf")]
)
def test_to_float_rejects_non_finite(value: Any) -> None:
    with pytest.raises(CoercionError, match=r"not finite|expected"):
        to_float(value)


@pytest.mark.parametrize("value", ["abc", "", True, None, [1.0], {"x": 1}])
def test_to_float_rejects_non_numbers(value: Any) -> None:
    with pytest.raises(CoercionError, match="expected float"):
        to_float(value)


def test_to_float_rejects_int_too_large_for_float() -> None:
    with pytest.raises(CoercionError):
        to_float(10**400)


# --- decimal ---


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.50", "12.50"),
        (" 12.50 ", "12.50"),
        ("0.10", "0.10"),
        ("-0.001", "-0.001"),
        ("12345678901234567890.123456789", "12345678901234567890.123456789"),
        (12, "12"),
        (123456789012345678901234567890, "123456789012345678901234567890"),
        (12.5, "12.5"),
        (0.1, "0.1"),
    ],
)
def test_to_decimal_is_exact_text(value: Any, expected: str) -> None:
    result = to_decimal(value)
    assert result == expected
    assert Decimal(result) == Decimal(expected)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-inf", "sNaN", float("inf"), float("nan")])
def test_to_decimal_rejects_non_finite(value: Any) -> None:
    with pytest.raises(CoercionError, match=r"not finite|expected"):
        to_decimal(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1E2", "100"),
        ("1.0E+2", "100"),
        ("1.5E-3", "0.0015"),
        ("-0", "0"),
        ("-0.00", "0.00"),
        ("+5", "5"),
        ("007.50", "7.50"),
        (".5", "0.5"),
        (-0.0, "0.0"),
        (1e16, "10000000000000000"),
        (NumberText("12345678901234567890.123456789"), "12345678901234567890.123456789"),
        (NumberText("1E400"), "1" + "0" * 400),
    ],
)
def test_decimals_are_spelled_as_postgresql_prints_numeric(value: Any, expected: str) -> None:
    """One text on every backend: positional, the scale written, no negative zero."""
    assert to_decimal(value) == expected


@pytest.mark.parametrize("value", ["1e999999999", "1e-20000", NumberText("-1E131072")])
def test_decimals_beyond_numeric_are_refused_not_stored(value: Any) -> None:
    with pytest.raises(CoercionError, match="out of range: at most 131072 digits"):
        to_decimal(value)


def test_a_float_from_a_payload_asks_for_the_source_text() -> None:
    coerce = coercer_for(ColumnType.DECIMAL, source_text=True)
    with pytest.raises(SourceTextNeeded):
        coerce(12.5)
    assert coerce(NumberText("12.50")) == "12.50"
    assert coercer_for(ColumnType.DECIMAL, source_text=True, text_cells=True)(12.5) == "12.5"


@pytest.mark.parametrize(
    ("precision", "scale", "value", "expected"),
    [
        (10, 2, "12.5", "12.50"),
        (10, 2, "12.500", "12.50"),
        (10, 2, "1E2", "100.00"),
        (5, 2, "999.99", "999.99"),
        (5, 2, "-0.5", "-0.50"),
        (None, 3, "1", "1.000"),
        (3, None, "123", "123"),
    ],
)
def test_precision_and_scale_fix_the_digits(
    precision: int | None, scale: int | None, value: str, expected: str
) -> None:
    column = ColumnSpec("total", ("total",), ColumnType.DECIMAL, precision=precision, scale=scale)
    assert coercer_for(ColumnType.DECIMAL, column=column)(value) == expected


@pytest.mark.parametrize(
    ("precision", "scale", "value", "reason"),
    [
        (10, 2, "12.345", "more than 2 digits after the point"),
        (5, 2, "1000", "4 digits before the point; precision 5 with scale 2 allows 3"),
        (3, None, "1.5", "more than 0 digits"),
    ],
)
def test_a_value_that_would_round_is_refused(
    precision: int, scale: int | None, value: str, reason: str
) -> None:
    column = ColumnSpec("total", ("total",), ColumnType.DECIMAL, precision=precision, scale=scale)
    with pytest.raises(CoercionError, match=reason):
        coercer_for(ColumnType.DECIMAL, column=column)(value)


@pytest.mark.parametrize("value", ["abc", "", "1,5", True, None, [1]])
def test_to_decimal_rejects_junk(value: Any) -> None:
    with pytest.raises(CoercionError, match="expected decimal"):
        to_decimal(value)


# --- boolean ---


@pytest.mark.parametrize(
    "value", [True, 1, "true", "TRUE", " True ", "t", "yes", "Y", "1", "on", "ON"]
)
def test_to_boolean_true(value: Any) -> None:
    assert to_boolean(value) is True


@pytest.mark.parametrize("value", [False, 0, "false", "F", "no", "n", "0", "off", " Off "])
def test_to_boolean_false(value: Any) -> None:
    assert to_boolean(value) is False


@pytest.mark.parametrize("value", [2, -1, 1.0, 0.0, "", "maybe", "2", "yess", None, [True]])
def test_to_boolean_rejects(value: Any) -> None:
    with pytest.raises(CoercionError, match="expected boolean"):
        to_boolean(value)


# --- timestamp ---


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-02T03:04:05Z", "2024-01-02T03:04:05.000000+00:00"),
        ("2024-01-02T03:04:05+00:00", "2024-01-02T03:04:05.000000+00:00"),
        ("2024-01-02T05:04:05+02:00", "2024-01-02T03:04:05.000000+00:00"),
        ("2024-01-01T22:00:00-05:30", "2024-01-02T03:30:00.000000+00:00"),
        ("2024-01-02T03:04:05", "2024-01-02T03:04:05.000000+00:00"),  # naive is UTC
        ("2024-01-02 03:04:05.123456", "2024-01-02T03:04:05.123456+00:00"),
        ("2024-01-02T03:04:05.5Z", "2024-01-02T03:04:05.500000+00:00"),
        ("2024-01-02", "2024-01-02T00:00:00.000000+00:00"),
        (" 2024-01-02T03:04:05Z ", "2024-01-02T03:04:05.000000+00:00"),
        (0, "1970-01-01T00:00:00.000000+00:00"),
        (1700000000, "2023-11-14T22:13:20.000000+00:00"),
        (1700000000.5, "2023-11-14T22:13:20.500000+00:00"),
        (1700000000123, "2023-11-14T22:13:20.123000+00:00"),  # epoch milliseconds
        (-1, "1969-12-31T23:59:59.000000+00:00"),
        ("0005-01-01T00:00:00", "0005-01-01T00:00:00.000000+00:00"),
    ],
)
def test_to_timestamp(value: Any, expected: str) -> None:
    result = to_timestamp(value)
    assert result == expected
    assert len(result) == TS_LEN


def test_epoch_seconds_and_milliseconds_agree() -> None:
    assert to_timestamp(1700000000) == to_timestamp(1700000000000)
    assert to_timestamp(99_999_999_999) == "5138-11-16T09:46:39.000000+00:00"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "yesterday",
        "2024-13-01T00:00:00",
        "2024-01-02T25:00:00",
        True,
        None,
        [1],
        {"t": 1},
        float("nan"),
        float("inf"),
    ],
)
def test_to_timestamp_rejects(value: Any) -> None:
    with pytest.raises(CoercionError):
        to_timestamp(value)


def test_to_timestamp_rejects_epoch_out_of_range() -> None:
    with pytest.raises(CoercionError, match="out of range"):
        to_timestamp(10**20)


def test_to_timestamp_out_of_range_after_utc_shift_is_coercion_error() -> None:
    with pytest.raises(CoercionError):
        to_timestamp("0001-01-01T00:00:00+05:00")


def test_to_timestamp_huge_integer_epoch_is_coercion_error() -> None:
    with pytest.raises(CoercionError):
        to_timestamp(10**400)


@FAST
@given(
    st.datetimes(
        min_value=datetime(1900, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
        ),
    )
)
def test_to_timestamp_round_trips_any_aware_datetime(moment: datetime) -> None:
    stored = to_timestamp(moment.isoformat())
    assert len(stored) == TS_LEN
    assert stored.endswith("+00:00")
    parsed = parse_column_value(ColumnType.TIMESTAMP, stored)
    assert parsed == moment
    assert parsed.utcoffset() == timedelta(0)


@FAST
@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1)))
def test_stored_timestamps_sort_like_instants(moment: datetime) -> None:
    later = moment + timedelta(microseconds=1)
    assert to_timestamp(moment.isoformat()) < to_timestamp(later.isoformat())


# --- date ---


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-02-29", "2024-02-29"),
        (" 2024-02-29 ", "2024-02-29"),
        ("20240229", "2024-02-29"),
        ("2024-02-29T23:59:59", "2024-02-29"),
        ("2024-02-29T23:00:00-05:00", "2024-02-29"),  # the date as written, not in UTC
    ],
)
def test_to_date(value: Any, expected: str) -> None:
    assert to_date(value) == expected


@pytest.mark.parametrize("value", ["2023-02-29", "02/29/2024", "", "today", 20240229, None, True])
def test_to_date_rejects(value: Any) -> None:
    with pytest.raises(CoercionError, match="expected ISO 8601 date"):
        to_date(value)


# --- json ---


def test_to_json_is_canonical() -> None:
    assert to_json({"b": [1, {"d": 1, "c": 2}], "a": None}) == '{"a":null,"b":[1,{"c":2,"d":1}]}'
    assert to_json("s") == '"s"'
    assert to_json(123456789012345678901234567890) == "123456789012345678901234567890"
    assert to_json([]) == "[]"


# --- geometry ---


@pytest.mark.parametrize(
    "value",
    [
        {"type": "Point", "coordinates": [10.5, 59.9]},
        {"coordinates": [[0, 0], [1, 1]], "type": "LineString"},
        {"type": "GeometryCollection", "geometries": []},
    ],
)
def test_to_geometry_accepts_and_canonicalizes(value: dict[str, Any]) -> None:
    out = to_geometry(value)
    assert out == to_json(value)
    assert out.startswith(('{"coordinates"', '{"geometries"'))


@pytest.mark.parametrize(
    "value",
    [
        {"coordinates": [1, 2]},
        {"type": 1, "coordinates": [1, 2]},
        "POINT(1 2)",
        [1, 2],
        42,
    ],
)
def test_to_geometry_rejects_non_geometry(value: Any) -> None:
    with pytest.raises(CoercionError, match="GeoJSON geometry object"):
        to_geometry(value)


def test_to_geometry_needs_coordinates_or_geometries() -> None:
    with pytest.raises(CoercionError, match="'coordinates' or 'geometries'"):
        to_geometry({"type": "Point"})


# --- text cells (CSV) ---


def test_text_cells_parse_json_text() -> None:
    coerce = coercer_for(ColumnType.JSON, text_cells=True)
    assert coerce('{"b": 1, "a": [true]}') == '{"a":[true],"b":1}'
    assert coerce("123456789012345678901234567890") == "123456789012345678901234567890"
    assert coerce({"already": "parsed"}) == '{"already":"parsed"}'


def test_text_cells_reject_non_json_text() -> None:
    with pytest.raises(CoercionError, match="expected JSON as JSON text"):
        coercer_for(ColumnType.JSON, text_cells=True)("not json")


def test_text_cells_parse_geometry_text() -> None:
    coerce = coercer_for(ColumnType.GEOMETRY, text_cells=True)
    assert coerce('{"type":"Point","coordinates":[1,2]}') == '{"coordinates":[1,2],"type":"Point"}'
    with pytest.raises(CoercionError, match="GeoJSON geometry as JSON text"):
        coerce("POINT(1 2)")
    with pytest.raises(CoercionError, match="GeoJSON geometry object"):
        coerce('"a string"')


def test_without_text_cells_json_text_is_a_string_value() -> None:
    assert coercer_for(ColumnType.JSON)('{"a":1}') == '"{\\"a\\":1}"'
    with pytest.raises(CoercionError):
        coercer_for(ColumnType.GEOMETRY)('{"type":"Point","coordinates":[1,2]}')


@pytest.mark.parametrize(
    "column_type",
    [t for t in ColumnType if t not in (ColumnType.JSON, ColumnType.GEOMETRY)],
)
def test_text_cells_do_not_change_scalar_coercers(column_type: ColumnType) -> None:
    assert coercer_for(column_type, text_cells=True) is COERCERS[column_type]


# --- parse_column_value ---


@pytest.mark.parametrize(
    ("column_type", "raw", "expected"),
    [
        (ColumnType.TEXT, "x", "x"),
        (ColumnType.INTEGER, " 7 ", 7),
        (ColumnType.FLOAT, "2.5", 2.5),
        (ColumnType.DECIMAL, "12.50", Decimal("12.50")),
        (ColumnType.BOOLEAN, "yes", True),
        (ColumnType.BOOLEAN, "no", False),
        (
            ColumnType.TIMESTAMP,
            "2024-01-02T05:04:05+02:00",
            datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        ),
        (ColumnType.DATE, "2024-02-29", date(2024, 2, 29)),
        (ColumnType.JSON, {"b": 1, "a": [1]}, {"a": [1], "b": 1}),
        (
            ColumnType.GEOMETRY,
            {"type": "Point", "coordinates": [1, 2]},
            {"type": "Point", "coordinates": [1, 2]},
        ),
    ],
)
def test_coerce_then_parse_round_trip(column_type: ColumnType, raw: Any, expected: Any) -> None:
    stored = coercer_for(column_type)(raw)
    assert isinstance(stored, str | int | float | bool)
    parsed = parse_column_value(column_type, stored)
    assert parsed == expected
    assert type(parsed) is type(expected)


def test_parse_column_value_keeps_decimal_scale() -> None:
    parsed = parse_column_value(ColumnType.DECIMAL, to_decimal("12.50"))
    assert str(parsed) == "12.50"


def test_parse_column_value_none_and_native_values() -> None:
    for column_type in ColumnType:
        assert parse_column_value(column_type, None) is None
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_column_value(ColumnType.TIMESTAMP, moment) is moment
    assert parse_column_value(ColumnType.DATE, date(2024, 1, 1)) == date(2024, 1, 1)
    assert parse_column_value(ColumnType.BOOLEAN, 1) is True
    assert parse_column_value(ColumnType.BOOLEAN, 0) is False
    assert parse_column_value(ColumnType.JSON, b'{"a":1}') == {"a": 1}
    assert parse_column_value(ColumnType.JSON, [1]) == [1]
    assert parse_column_value(ColumnType.DECIMAL, 3) == Decimal(3)


@FAST
@given(st.decimals(allow_nan=False, allow_infinity=False, places=4))
def test_decimal_text_round_trips_exactly(value: Decimal) -> None:
    stored = to_decimal(str(value))
    parsed = parse_column_value(ColumnType.DECIMAL, stored)
    assert parsed == value
    assert str(parsed) == str(value)


@FAST
@given(st.integers(min_value=INT64_MIN, max_value=INT64_MAX))
def test_integer_text_round_trips(value: int) -> None:
    assert to_integer(str(value)) == value
    assert to_integer(value) == value


# --- compiled date patterns (issue 16): the same answers as strptime, faster ---

from datetime import datetime as _datetime  # noqa: E402

from hypothesis import given as _given  # noqa: E402
from hypothesis import settings as _settings  # noqa: E402
from hypothesis import strategies as _st  # noqa: E402

from ingestry.extract.formats import pattern_reader  # noqa: E402

_PATTERNS = ["%Y/%m/%d", "%d.%m.%Y %H:%M", "%Y-%m-%dT%H:%M:%S", "%m/%d/%Y", "%d-%m-%Y %H"]


@_settings(deadline=None)  # no timing in unit tests: a loaded machine took 606 ms once
@_given(
    _st.sampled_from(_PATTERNS),
    _st.datetimes(min_value=_datetime(1000, 1, 1), max_value=_datetime(9999, 12, 31)),
    _st.sampled_from(["", " ", "x", "0", "/1"]),
    _st.booleans(),
)
def test_a_compiled_pattern_reads_what_strptime_reads(
    fmt: str, moment: _datetime, noise: str, unpadded: bool
) -> None:
    text = moment.strftime(fmt)
    if unpadded:
        text = text.replace("/0", "/").replace(".0", ".")
    for candidate in (text, text + noise, noise + text, text.replace("1", "13", 1)):
        try:
            expected: object = _datetime.strptime(candidate, fmt)
        except ValueError:
            expected = ValueError
        try:
            got: object = pattern_reader(fmt)(candidate)
        except ValueError:
            got = ValueError
        assert got == expected, (fmt, candidate)
