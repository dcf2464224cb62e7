"""Compiled extractors: payload → Draft, and every failure is an ExtractionError."""

from __future__ import annotations

from typing import Any

import pytest

from ingestry.domain.conventions import ColumnSpec, ColumnType, Convention
from ingestry.domain.errors import ExtractionError
from ingestry.domain.sources import DataSource, SourceFormat, StorageStrategy
from ingestry.extract.compiler import Draft, Extractor, extractor_version
from ingestry.extract.registry import PythonExtractor

T = ColumnType

ORDER = Convention(
    "order",
    (
        ColumnSpec("order_number", ("order_number",), T.TEXT),
        ColumnSpec("created_at", ("created_at",), T.TIMESTAMP, required=True),
        ColumnSpec("total", ("total_price",), T.DECIMAL),
        ColumnSpec("email", ("customer", "email"), T.TEXT, index=True),
        ColumnSpec("first_sku", ("line_items", "0", "sku"), T.TEXT),
        ColumnSpec("paid", ("paid",), T.BOOLEAN),
    ),
)


def _source(
    *,
    fmt: SourceFormat = SourceFormat.JSONL,
    ids: tuple[tuple[str, ...], ...] = (("id",),),
    entity: tuple[str, ...] | None = None,
    strategy: StorageStrategy = StorageStrategy.RAW,
) -> DataSource:
    return DataSource(
        name="customer_orders",
        strategy=strategy,
        convention="order",
        rationale="Customer data",
        format=fmt,
        id_paths=ids,
        entity_type_path=entity,
    )


def _order(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": 1001,
        "order_number": "A-1",
        "created_at": "2024-01-02T03:04:05Z",
        "total_price": "12.50",
        "customer": {"email": "a@b.c", "name": "Ann"},
        "line_items": [{"sku": "SKU-1"}, {"sku": "SKU-2"}],
        "paid": True,
        "note": "keep me",
    }
    doc.update(overrides)
    return doc


def test_columns_extracted_in_declaration_order() -> None:
    draft = Extractor(_source(), ORDER)(_order())
    assert isinstance(draft, Draft)
    assert draft.columns == (
        "A-1",
        "2024-01-02T03:04:05.000000+00:00",
        "12.50",
        "a@b.c",
        "SKU-1",
        True,
    )
    assert len(draft.columns) == len(ORDER.columns)
    assert draft.source_id == "1001"
    assert draft.entity_type == "order"


def test_single_segment_paths_leave_metadata_nested_ones_stay() -> None:
    draft = Extractor(_source(), ORDER)(_order())
    assert draft.metadata == {
        "id": 1001,
        "customer": {"email": "a@b.c", "name": "Ann"},
        "line_items": [{"sku": "SKU-1"}, {"sku": "SKU-2"}],
        "note": "keep me",
    }
    for consumed in ("order_number", "created_at", "total_price", "paid"):
        assert consumed not in draft.metadata


def test_absent_optional_column_is_none_and_absent_from_metadata() -> None:
    doc = _order()
    del doc["order_number"]
    doc["total_price"] = None
    draft = Extractor(_source(), ORDER)(doc)
    assert draft.columns[0] is None
    assert draft.columns[2] is None
    assert "total_price" not in draft.metadata


@pytest.mark.parametrize(("value", "what"), [(None, "null"), ("MISSING", "missing")])
def test_required_column_missing_or_null(value: Any, what: str) -> None:
    doc = _order()
    if value == "MISSING":
        del doc["created_at"]
    else:
        doc["created_at"] = value
    with pytest.raises(ExtractionError) as info:
        Extractor(_source(), ORDER)(doc)
    message = str(info.value)
    assert "'created_at'" in message
    assert what in message
    assert "path created_at" in message


@pytest.mark.parametrize(
    ("field", "value", "column", "path"),
    [
        ("created_at", "not a time", "created_at", "created_at"),
        ("total_price", "twelve", "total", "total_price"),
        ("paid", "maybe", "paid", "paid"),
        ("customer", {"email": ["x"]}, "email", "customer.email"),
        ("line_items", [{"sku": {"a": 1}}], "first_sku", "line_items.0.sku"),
    ],
)
def test_coercion_failure_names_column_and_path(
    field: str, value: Any, column: str, path: str
) -> None:
    with pytest.raises(ExtractionError) as info:
        Extractor(_source(), ORDER)(_order(**{field: value}))
    message = str(info.value)
    assert f"column '{column}'" in message
    assert f"(path {path})" in message


def test_composite_id_is_joined_with_pipe() -> None:
    source = _source(ids=(("shop",), ("customer", "email"), ("id",)))
    draft = Extractor(source, ORDER)(_order(shop="s1"))
    assert draft.source_id == "s1|a@b.c|1001"


@pytest.mark.parametrize("bad", ["MISSING", None, ""])
def test_missing_id_is_an_error(bad: Any) -> None:
    doc = _order()
    if bad == "MISSING":
        del doc["id"]
    else:
        doc["id"] = bad
    with pytest.raises(ExtractionError, match="missing id at path 'id'"):
        Extractor(_source(), ORDER)(doc)


def test_missing_part_of_composite_id_names_the_path() -> None:
    source = _source(ids=(("id",), ("customer", "phone")))
    with pytest.raises(ExtractionError, match=r"missing id at path 'customer\.phone'"):
        Extractor(source, ORDER)(_order())


@pytest.mark.parametrize("bad", [True, False, {"a": 1}, [1]])
def test_non_scalar_id_is_an_error(bad: Any) -> None:
    with pytest.raises(ExtractionError, match="must be a string or number"):
        Extractor(_source(), ORDER)(_order(id=bad))


@pytest.mark.parametrize(
    ("value", "expected"),
    [("abc", "abc"), (0, "0"), (123456789012345678901234567890, "123456789012345678901234567890")],
)
def test_id_values_become_text(value: Any, expected: str) -> None:
    assert Extractor(_source(), ORDER)(_order(id=value)).source_id == expected


def test_entity_type_from_path_and_default() -> None:
    with_path = Extractor(_source(entity=("meta", "kind")), ORDER)
    assert with_path(_order(meta={"kind": "refund"})).entity_type == "refund"
    assert with_path(_order(meta={"kind": 7})).entity_type == "7"
    for missing in ({}, {"kind": None}, {"kind": ""}):
        assert with_path(_order(meta=missing)).entity_type == "order"
    assert Extractor(_source(), ORDER)(_order(meta={"kind": "refund"})).entity_type == "order"


def test_non_object_documents_are_rejected() -> None:
    extractor = Extractor(_source(), ORDER)
    for doc in ([_order()], "x", 1, None):
        with pytest.raises(ExtractionError, match="expected a JSON object"):
            extractor(doc)


def test_parse_valid_bytes() -> None:
    payload = (
        b'{"id": 123456789012345678901234567890, "created_at": "2024-01-02T03:04:05Z", '
        b'"total_price": 12.5}'
    )
    draft = Extractor(_source(), ORDER).parse(payload)
    assert draft.source_id == "123456789012345678901234567890"
    assert draft.columns[2] == "12.5"
    assert draft.metadata == {"id": 123456789012345678901234567890}


@pytest.mark.parametrize("payload", [b"", b"{", b"{'id': 1}", b'{"id": NaN}', b"\xff\xfe"])
def test_parse_rejects_invalid_json(payload: bytes) -> None:
    with pytest.raises(ExtractionError, match="invalid JSON"):
        Extractor(_source(), ORDER).parse(payload)


@pytest.mark.parametrize("payload", [b"[]", b"[{}]", b'"s"', b"1", b"null", b"true"])
def test_parse_rejects_non_objects(payload: bytes) -> None:
    with pytest.raises(ExtractionError, match="expected a JSON object"):
        Extractor(_source(), ORDER).parse(payload)


# --- CSV sources: text cells ---

CSV_CONV = Convention(
    "row",
    (
        ColumnSpec("n", ("n",), T.INTEGER),
        ColumnSpec("attrs", ("attrs",), T.JSON),
        ColumnSpec("geom", ("geom",), T.GEOMETRY),
    ),
)


def test_csv_source_parses_json_cells() -> None:
    extractor = Extractor(_source(fmt=SourceFormat.CSV), CSV_CONV)
    row: dict[str, Any] = {
        "id": "r1",
        "n": "42",
        "attrs": '{"b":1,"a":2}',
        "geom": '{"type":"Point","coordinates":[1,2]}',
        "x": None,
    }
    draft = extractor(row)
    point = '{"coordinates":[1,2],"type":"Point"}'
    # then the point's measures: bbox and representative point (no length, no area)
    assert draft.columns == (42, '{"a":2,"b":1}', point, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0, None, None)
    assert draft.metadata == {"id": "r1", "x": None}


def test_json_source_keeps_json_strings_as_strings() -> None:
    extractor = Extractor(_source(fmt=SourceFormat.JSONL), CSV_CONV)
    draft = extractor({"id": "r1", "attrs": '{"a":1}'})
    assert draft.columns[1] == '"{\\"a\\":1}"'


# --- Python extractors ---


def _reshape(doc: Any) -> Any:
    return {"id": doc["ref"], "created_at": doc["when"], "order_number": doc["ref"].upper()}


def test_python_extractor_transforms_before_columns() -> None:
    python = PythonExtractor("legacy", "2", _reshape)
    extractor = Extractor(_source(), ORDER, python)
    draft = extractor({"ref": "ab", "when": "2024-01-02T03:04:05Z"})
    assert draft.source_id == "ab"
    assert draft.columns[0] == "AB"
    assert draft.columns[1] == "2024-01-02T03:04:05.000000+00:00"
    assert draft.metadata == {"id": "ab"}
    assert extractor.version.startswith("legacy@2+")


def test_python_extractor_failure_is_an_extraction_error() -> None:
    extractor = Extractor(_source(), ORDER, PythonExtractor("legacy", "2", _reshape))
    with pytest.raises(ExtractionError) as info:
        extractor({"nothing": "here"})
    assert "extractor 'legacy' failed" in str(info.value)
    assert "KeyError" in str(info.value)


def test_python_extractor_returning_non_object() -> None:
    extractor = Extractor(_source(), ORDER, PythonExtractor("lister", "1", lambda doc: [doc]))
    with pytest.raises(ExtractionError, match="expected a JSON object, got list"):
        extractor({"id": 1})


# --- versions ---


def _version(convention: Convention, **source_kw: Any) -> str:
    return Extractor(_source(**source_kw), convention).version


def _with_column(convention: Convention, index: int, column: ColumnSpec) -> Convention:
    columns = list(convention.columns)
    columns[index] = column
    return Convention(convention.name, tuple(columns), convention.hooks)


def test_version_is_stable() -> None:
    assert _version(ORDER) == _version(ORDER)
    assert _version(ORDER) == extractor_version(_source(), ORDER, None)
    assert _version(ORDER).startswith("decl+")
    same = Convention("order", tuple(ORDER.columns))
    assert _version(same) == _version(ORDER)


def test_version_ignores_things_that_do_not_shape_output() -> None:
    # index flag, rationale, strategy: the draft is the same, so is the version
    no_index = _with_column(ORDER, 3, ColumnSpec("email", ("customer", "email"), T.TEXT))
    assert _version(no_index) == _version(ORDER)
    assert _version(ORDER, strategy=StorageStrategy.SIMPLE) == _version(ORDER)


@pytest.mark.parametrize(
    "change",
    [
        "type",
        "path",
        "name",
        "required",
        "order",
        "extra_column",
        "convention_name",
    ],
)
def test_version_changes_with_column_spec(change: str) -> None:
    base = ORDER.columns[2]  # total: decimal
    if change == "type":
        conv = _with_column(ORDER, 2, ColumnSpec(base.name, base.path, T.FLOAT))
    elif change == "path":
        conv = _with_column(ORDER, 2, ColumnSpec(base.name, ("total",), base.type))
    elif change == "name":
        conv = _with_column(ORDER, 2, ColumnSpec("total2", base.path, base.type))
    elif change == "required":
        conv = _with_column(ORDER, 2, ColumnSpec(base.name, base.path, base.type, required=True))
    elif change == "order":
        conv = Convention("order", tuple(reversed(ORDER.columns)))
    elif change == "extra_column":
        conv = Convention("order", (*ORDER.columns, ColumnSpec("x", ("x",), T.TEXT)))
    else:
        conv = Convention("order2", ORDER.columns)
    assert _version(conv) != _version(ORDER)


def test_version_changes_with_source_shape() -> None:
    base = _version(ORDER)
    assert _version(ORDER, fmt=SourceFormat.CSV) != base
    assert _version(ORDER, ids=(("id",), ("shop",))) != base
    assert _version(ORDER, entity=("type",)) != base


def test_version_changes_with_python_extractor_version() -> None:
    v1 = extractor_version(_source(), ORDER, PythonExtractor("legacy", "1", _reshape))
    v2 = extractor_version(_source(), ORDER, PythonExtractor("legacy", "2", _reshape))
    assert v1 != v2
    assert v1.startswith("legacy@1+")
    assert v1.split("+")[1] == _version(ORDER).split("+")[1]


# --- bugs ---


FLOATY = Convention("m", (ColumnSpec("v", ("v",), T.FLOAT),))


def test_overflowing_number_is_an_extraction_error() -> None:
    with pytest.raises(ExtractionError):
        Extractor(_source(), FLOATY).parse(b'{"id": 1, "v": ' + b"9" * 400 + b"}")


def test_huge_integer_payload_is_an_extraction_error() -> None:
    with pytest.raises(ExtractionError):
        Extractor(_source(), FLOATY).parse(b'{"id": 1, "x": ' + b"9" * 5000 + b"}")


def test_paths_with_quotes_backslashes_and_newlines_are_plain_keys() -> None:
    odd = ("it's", 'say "hi"\\\n', "-1")
    conv = Convention("odd", (ColumnSpec("v", odd, T.TEXT), ColumnSpec("w", ("a'}",), T.TEXT)))
    source = _source(ids=(('k"ey',),), entity=("x\\y", "0"))
    doc: dict[str, Any] = {
        'k"ey': "id-1",
        "it's": {'say "hi"\\\n': ["first", "last"]},
        "a'}": "w",
        "x\\y": ["refund"],
    }
    draft = Extractor(source, conv)(doc)
    assert draft.source_id == "id-1"
    assert draft.entity_type == "refund"
    assert draft.columns == ("last", "w")
    assert "a'}" not in draft.metadata


def test_nested_index_paths_out_of_range_and_on_wrong_types() -> None:
    conv = Convention(
        "idx",
        (
            ColumnSpec("last", ("items", "-1"), T.INTEGER),
            ColumnSpec("third", ("items", "2"), T.INTEGER),
            ColumnSpec("too_far", ("items", "-3"), T.INTEGER),
            ColumnSpec("keyed", ("map", "0"), T.INTEGER),
            ColumnSpec("through_str", ("s", "0"), T.TEXT),
        ),
    )
    draft = Extractor(_source(), conv)({"id": 1, "items": [1, 2], "map": {"0": 7}, "s": "abc"})
    assert draft.columns == (2, None, None, 7, None)


def test_extractors_do_not_share_state() -> None:
    a = Extractor(_source(), ORDER)
    b = Extractor(_source(ids=(("order_number",),)), ORDER)
    assert a(_order()).source_id == "1001"
    assert b(_order()).source_id == "A-1"
    assert a(_order()).source_id == "1001"


@pytest.mark.parametrize("plain", [True, False])
def test_a_json_number_in_a_decimal_column_keeps_the_payloads_digits(plain: bool) -> None:
    """Issue 13, item 3: the number is read from the source text, not through a float
    (before: 1.2345678901234567e+19)."""
    convention = Convention(
        "order",
        (
            ColumnSpec("total", ("total_price",), T.DECIMAL),
            ColumnSpec("tax", ("amounts", "tax"), T.DECIMAL),
            ColumnSpec("ratio", ("ratio",), T.FLOAT),
        ),
    )
    extractor = Extractor(_source(), convention)
    payload = (
        b'{"id": 1, "total_price": 12345678901234567890.123456789, "ratio": 0.5,'
        b' "amounts": {"tax": 1.50, "fee": 2.50}, "other": 1E2}'
    )
    draft = (extractor.parse_plain if plain else extractor.parse)(payload)
    assert draft.columns == ("12345678901234567890.123456789", "1.50", 0.5)
    # the metadata is what the fast parse made of it: numbers stay numbers
    assert draft.metadata == {"id": 1, "amounts": {"tax": 1.5, "fee": 2.5}, "other": 100.0}


def test_a_python_extractors_float_is_its_shortest_repr() -> None:
    python = PythonExtractor("pass", "1", lambda doc: doc)
    convention = Convention("order", (ColumnSpec("total", ("total_price",), T.DECIMAL),))
    extractor = Extractor(_source(), convention, python)
    assert extractor.parse(b'{"id": 1, "total_price": 12.50}').columns == ("12.5",)


def test_precision_and_scale_shape_the_value_and_the_version() -> None:
    plain = Convention("order", (ColumnSpec("total", ("total_price",), T.DECIMAL),))
    fixed = Convention(
        "order", (ColumnSpec("total", ("total_price",), T.DECIMAL, precision=6, scale=2),)
    )
    extractor = Extractor(_source(), fixed)
    assert extractor.parse(b'{"id": 1, "total_price": 1.5}').columns == ("1.50",)
    with pytest.raises(ExtractionError, match=r"column 'total' .* more than 2 digits"):
        extractor.parse(b'{"id": 1, "total_price": "1.555"}')
    assert extractor.version != Extractor(_source(), plain).version


def test_the_exact_parse_of_decimals_reads_past_a_bom() -> None:
    convention = Convention("order", (ColumnSpec("total", ("total_price",), T.DECIMAL),))
    extractor = Extractor(_source(), convention)
    payload = b'\xef\xbb\xbf{"id": 1, "total_price": 12.50}'  # a JSON Lines file's first line
    assert extractor.parse(payload).columns == ("12.50",)
    assert extractor.parse_plain(payload).columns == ("12.50",)
