"""Framing: exact payload bytes and line numbers, whatever the chunking."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestry.adapters.lines import LineReader
from ingestry.extract.csvframes import CSVFrames, HeaderError, csv_row_from_bytes
from ingestry.extract.framing import (
    Frame,
    JSONFrameError,
    block_frames,
    json_frames,
    jsonl_frames,
)

FAST = settings(database=None, deadline=None, max_examples=150)
CHUNK_SIZES = (1, 2, 3, 7, 64)


def _chunks(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _lines(data: bytes) -> list[bytes]:
    """Lines as a binary file yields them: split after each LF only."""
    return list(io.BytesIO(data))


def _json(data: bytes, array_key: str | None = None) -> list[Frame]:
    """Frames of `data`, checked to be identical for every chunk size."""
    whole = list(json_frames([data], array_key=array_key))
    for size in CHUNK_SIZES:
        assert list(json_frames(_chunks(data, size), array_key=array_key)) == whole, size
    return whole


# --- JSON Lines ---


def test_jsonl_strips_lf_and_crlf_and_numbers_lines() -> None:
    frames = list(jsonl_frames([b'{"a":1}\n', b'{"b":2}\r\n', b"\n", b"  \t\r\n", b'{"c":3}', b""]))
    assert frames == [
        Frame(1, b'{"a":1}'),
        Frame(2, b'{"b":2}'),
        Frame(5, b'{"c":3}'),
    ]
    assert all(f.row is None and f.error is None for f in frames)


def test_jsonl_keeps_inner_bytes_exactly() -> None:
    line = b'  {"s": "tab\\there\\r\\n", "u": "\xc3\xa9"}  \r\n'
    assert list(jsonl_frames([line])) == [
        Frame(1, b'  {"s": "tab\\there\\r\\n", "u": "\xc3\xa9"}  ')
    ]


def test_jsonl_keeps_invalid_lines_for_quarantine() -> None:
    assert list(jsonl_frames([b"not json\n"])) == [Frame(1, b"not json")]


def test_jsonl_empty_input() -> None:
    assert list(jsonl_frames([])) == []
    assert list(jsonl_frames([b"\n", b"\r\n"])) == []


# --- CSV ---


def test_csv_header_rows_and_line_numbers() -> None:
    frames_source = CSVFrames(_lines(b"id,name,qty\n1,apple,3\n2,pear,\n"))
    frames = list(frames_source)
    assert frames_source.header == b"id,name,qty"
    assert frames == [
        Frame(2, b"1,apple,3", {"id": "1", "name": "apple", "qty": "3"}),
        Frame(3, b"2,pear,", {"id": "2", "name": "pear", "qty": None}),
    ]


def test_csv_header_keeps_bom_bytes_but_names_do_not() -> None:
    frames_source = CSVFrames(_lines(b"\xef\xbb\xbfid,name\r\n1,x\r\n"))
    frames = list(frames_source)
    assert frames_source.header == b"\xef\xbb\xbfid,name"
    assert frames == [Frame(2, b"1,x", {"id": "1", "name": "x"})]


def test_csv_header_names_are_stripped() -> None:
    frames = list(CSVFrames(_lines(b" id , name \n1,x\n")))
    assert frames[0].row == {"id": "1", "name": "x"}


def test_csv_quoted_newlines_keep_exact_bytes_and_start_line() -> None:
    data = b'id,note\r\n1,"line one\r\nline two\nline three"\r\n2,"a,b ""q"""\r\n3,end'
    frames = list(CSVFrames(_lines(data)))
    assert frames == [
        Frame(
            2,
            b'1,"line one\r\nline two\nline three"',
            {"id": "1", "note": "line one\r\nline two\nline three"},
        ),
        Frame(5, b'2,"a,b ""q"""', {"id": "2", "note": 'a,b "q"'}),
        Frame(6, b"3,end", {"id": "3", "note": "end"}),
    ]


def test_csv_empty_cells_are_none_quoted_too() -> None:
    frames = list(CSVFrames(_lines(b'a,b,c\n,"",x\n')))
    assert frames == [Frame(2, b',"",x', {"a": None, "b": None, "c": "x"})]


def test_csv_blank_lines_are_skipped_but_counted() -> None:
    frames = list(CSVFrames(_lines(b"a,b\n\n1,2\n\r\n   \n3,4\n")))
    assert [(f.line, f.payload) for f in frames] == [(3, b"1,2"), (6, b"3,4")]


@pytest.mark.parametrize(("row", "count"), [(b"1,2,3", 3), (b"1", 1)])
def test_csv_wrong_field_count_is_a_frame_error(row: bytes, count: int) -> None:
    frames = list(CSVFrames(_lines(b"a,b\n" + row + b"\n4,5\n")))
    assert frames[0] == Frame(2, row, None, f"row has {count} fields, header has 2")
    assert frames[1] == Frame(3, b"4,5", {"a": "4", "b": "5"})


def test_csv_header_only_and_empty() -> None:
    header_only = CSVFrames(_lines(b"a,b\n"))
    assert list(header_only) == []
    assert header_only.header == b"a,b"
    empty = CSVFrames([])
    assert list(empty) == []
    assert empty.header is None


def test_csv_row_from_bytes_matches_frames() -> None:
    data = b'\xef\xbb\xbf id ,note,n\r\n1,"multi\r\nline",\r\n2,"x ""y""",3\n'
    source = CSVFrames(_lines(data))
    frames = list(source)
    assert source.header is not None
    for frame in frames:
        assert csv_row_from_bytes(source.header, frame.payload) == frame.row


def test_csv_row_from_bytes_wrong_field_count() -> None:
    with pytest.raises(ValueError, match="row has 3 fields, header has 2"):
        csv_row_from_bytes(b"a,b", b"1,2,3")
    with pytest.raises(ValueError, match="row has 0 fields"):
        csv_row_from_bytes(b"a,b", b"")


CSV_CELL = st.one_of(
    st.just(""),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n\x00"), max_size=8),
    st.text(alphabet='ab ,"\n\r', max_size=6),
)


def _csv_cell(value: str) -> str:
    if any(c in value for c in ',"\r\n') or value != value.strip():
        return '"' + value.replace('"', '""') + '"'
    return value


@FAST
@given(st.lists(st.lists(CSV_CELL, min_size=2, max_size=2), max_size=6))
def test_csv_frames_property(rows: list[list[str]]) -> None:
    text = "h1,h2\r\n" + "".join(",".join(_csv_cell(c) for c in row) + "\r\n" for row in rows)
    source = CSVFrames(_lines(text.encode()))
    frames = list(source)
    expected = [r for r in rows if not all(c == "" for c in r) or len(r) != 1]
    assert [f.row for f in frames] == [{"h1": r[0] or None, "h2": r[1] or None} for r in expected]
    assert source.header is not None
    for frame in frames:
        assert frame.error is None
        assert csv_row_from_bytes(source.header, frame.payload) == frame.row
        # the payload is an exact slice of the input
        assert frame.payload in text.encode()


def test_csv_unterminated_quote_is_an_error() -> None:
    frames = list(CSVFrames(_lines(b'id,name\n1,"abc\n2,def\n3,ghi\n')))
    assert any(f.error is not None for f in frames)


def test_csv_replay_of_invalid_utf8_matches_ingest() -> None:
    source = CSVFrames(_lines(b"id,name\n1,caf\xe9\n"))
    frames = list(source)
    assert source.header is not None
    assert frames[0].error is not None and "UTF-8" in frames[0].error
    with pytest.raises(ValueError, match="UTF-8"):
        csv_row_from_bytes(source.header, frames[0].payload)


# --- JSON documents ---


def test_json_array_of_objects_exact_bytes_and_lines() -> None:
    data = b'[\n  {"id": 1, "a": [1, 2]},\n  {"id": 2},\n\n  {"id": 3,\n   "b": {}}\n]\n'
    assert _json(data) == [
        Frame(2, b'{"id": 1, "a": [1, 2]}'),
        Frame(3, b'{"id": 2}'),
        Frame(5, b'{"id": 3,\n   "b": {}}'),
    ]


def test_json_leading_whitespace_lines() -> None:
    assert _json(b'\n\n  [{"id": 1}]') == [Frame(3, b'{"id": 1}')]


def test_json_tricky_strings() -> None:
    data = (
        b'[{"s": "a]b[c{d}e,f:g"}, {"q": "say \\"hi\\", ok]"}, '
        b'{"bs": "C:\\\\dir\\\\"}, {"u": "\\u005d\\"\\\\"}, {"k,]": 1}]'
    )
    frames = _json(data)
    assert [f.payload for f in frames] == [
        b'{"s": "a]b[c{d}e,f:g"}',
        b'{"q": "say \\"hi\\", ok]"}',
        b'{"bs": "C:\\\\dir\\\\"}',
        b'{"u": "\\u005d\\"\\\\"}',
        b'{"k,]": 1}',
    ]
    assert [json.loads(f.payload) for f in frames] == json.loads(data)


def test_json_nested_arrays_and_scalars() -> None:
    data = b'[[1, [2, 3]], 4, "five", null, true, {"x": [[]]}, -1.5e3]'
    assert [f.payload for f in _json(data)] == [
        b"[1, [2, 3]]",
        b"4",
        b'"five"',
        b"null",
        b"true",
        b'{"x": [[]]}',
        b"-1.5e3",
    ]


@pytest.mark.parametrize("data", [b"[]", b"  [ ]  ", b"[\n\n]\n", b"", b"   \n"])
def test_json_empty_documents_give_no_frames(data: bytes) -> None:
    assert _json(data) == []


def test_json_single_object_is_one_frame() -> None:
    data = b'\n  {"id": 1, "items": [1, 2], "s": "]"}  \n'
    assert _json(data) == [Frame(2, b'{"id": 1, "items": [1, 2], "s": "]"}')]


def test_json_single_object_with_array_key_absent_is_one_frame() -> None:
    data = b'{"type": "Feature", "id": 1, "geometry": null}'
    assert _json(data, array_key="features") == [Frame(1, data)]


def test_geojson_feature_collection_yields_features() -> None:
    data = (
        b'{"type": "FeatureCollection",\n'
        b' "name": "features",\n'
        b' "crs": {"features": [{"not": "this"}]},\n'
        b' "features": [\n'
        b'  {"type": "Feature", "id": 1, "geometry": {"type": "Point", "coordinates": [1, 2]}},\n'
        b'  {"type": "Feature", "id": 2, "properties": {"features": [9]}}\n'
        b" ],\n"
        b' "bbox": [0, 0, 1, 1]}\n'
    )
    frames = _json(data, array_key="features")
    assert frames == [
        Frame(
            5, b'{"type": "Feature", "id": 1, "geometry": {"type": "Point", "coordinates": [1, 2]}}'
        ),
        Frame(6, b'{"type": "Feature", "id": 2, "properties": {"features": [9]}}'),
    ]
    assert [json.loads(f.payload) for f in frames] == json.loads(data)["features"]


def test_geojson_empty_features() -> None:
    assert _json(b'{"type": "FeatureCollection", "features": []}', array_key="features") == []


def test_object_without_array_key_is_whole() -> None:
    data = b'{"type": "FeatureCollection", "features": [{"id": 1}]}'
    assert _json(data) == [Frame(1, data)]


def test_array_root_ignores_array_key() -> None:
    data = b'[{"features": [1, 2]}, {"id": 2}]'
    assert [f.payload for f in _json(data, array_key="features")] == [
        b'{"features": [1, 2]}',
        b'{"id": 2}',
    ]


@pytest.mark.parametrize(
    "data",
    [
        b"[",
        b'[{"id": 1},',
        b'[{"id": 1}',
        b'[{"id": "abc',
        b'[{"id": "abc\\',
        b'{"a": 1',
        b'{"features": [{"id": 1}',
    ],
)
def test_truncated_document_is_an_error(data: bytes) -> None:
    for size in (*CHUNK_SIZES, len(data)):
        with pytest.raises(JSONFrameError, match="unexpected end"):
            list(json_frames(_chunks(data, size), array_key="features"))


@pytest.mark.parametrize("data", [b"hello", b'"string"', b"42", b"null", b"  true", b"<xml/>"])
def test_non_json_document_is_an_error(data: bytes) -> None:
    with pytest.raises(JSONFrameError, match="expected a JSON array or object"):
        list(json_frames([data]))


def test_unbalanced_close_is_an_error() -> None:
    with pytest.raises(JSONFrameError, match=r"unbalanced|unexpected content"):
        list(json_frames([b"[1]]"]))


def test_json_frames_skip_empty_chunks() -> None:
    assert list(json_frames([b"", b"[1", b"", b",2]", b""])) == [Frame(1, b"1"), Frame(1, b"2")]


def test_trailing_content_after_array_is_an_error() -> None:
    with pytest.raises(JSONFrameError):
        list(json_frames([b'[{"id": 1}][{"id": 2}]']))


JSON_LEAF: st.SearchStrategy[Any] = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.sampled_from('ab"\\[]{},: \n\té\x00'), max_size=8)
)
JSON_VALUE: st.SearchStrategy[Any] = st.recursive(
    JSON_LEAF,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(alphabet='k"\\[],{}:', max_size=4), children, max_size=4)
    ),
    max_leaves=12,
)


@FAST
@given(
    st.lists(JSON_VALUE, max_size=6),
    st.sampled_from([None, 0, 1, 2]),
    st.sampled_from(["", " ", "\n", "\r\n  "]),
    st.sampled_from([False, True]),
)
def test_json_frames_chunk_invariance_property(
    elements: list[Any], indent: int | None, lead: str, as_feature_collection: bool
) -> None:
    body = json.dumps(elements, indent=indent, ensure_ascii=bool(indent and indent % 2))
    if as_feature_collection:
        document = (
            '{"type": "FeatureCollection", "meta": {"features": [0]}, "features": '
            + body
            + ', "tail": ["x"]}'
        )
        array_key: str | None = "features"
    else:
        document, array_key = body, None
    data = (lead + document).encode()
    frames = _json(data, array_key=array_key)
    assert [json.loads(f.payload) for f in frames] == elements
    for frame in frames:
        # exact slice of the input, starting on the line it claims
        assert frame.payload in data
        offset = data.index(frame.payload) if len(frames) == 1 else None
        if offset is not None:
            assert data.count(b"\n", 0, offset) + 1 == frame.line
        assert frame.payload == frame.payload.strip(b" \t\r\n")


@FAST
@given(st.lists(st.dictionaries(st.sampled_from(["id", "a"]), st.integers(0, 9)), max_size=5))
def test_json_frames_lines_with_one_element_per_line(elements: list[dict[str, int]]) -> None:
    data = ("[\n" + ",\n".join(json.dumps(e) for e in elements) + "\n]").encode()
    frames = _json(data)
    assert [f.line for f in frames] == list(range(2, 2 + len(elements)))
    assert [f.payload for f in frames] == [json.dumps(e).encode() for e in elements]


@settings(database=None, deadline=None, max_examples=300)
@given(
    st.lists(
        st.sampled_from([b"{}", b'{"a":1}', b"", b"  ", b"\r", b"x\r", b"\rx", b"a\rb", b"y" * 60]),
        max_size=60,
    ),
    st.booleans(),
    st.integers(1, 7),
)
def test_line_blocks_frame_as_jsonl_frames(
    lines: list[bytes], final_newline: bool, size: int
) -> None:
    """Blocks of whole lines, framed in a worker, give the frames (numbers included) of
    framing the stream line by line."""
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    expected = list(jsonl_frames(io.BytesIO(data)))

    got: list[Frame] = []
    counted = 0
    for block, count in LineReader(io.BytesIO(data), "t", 1 << 20, None).blocks(size):
        assert block[0] == counted + 1 and 0 < count <= 2 * size
        got += block_frames(block)
        counted += count
    assert got == expected
    assert counted == data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


def test_line_blocks_stay_bounded_when_lines_get_shorter_or_longer() -> None:
    """Blocks after the first are read by bytes (the first block's average line
    length); lines that get much shorter split a block, a line longer than a block is
    read whole."""
    data = b"".join(
        [b'{"long":"' + b"x" * 500 + b'"}\n'] * 10
        + [b"{}\n"] * 1000
        + [b'{"huge":"' + b"z" * 100_000 + b'"}\n', b'{"last":1}']
    )
    reader = LineReader(io.BytesIO(data), "t", 1 << 20, None)
    blocks = list(reader.blocks(10))
    assert all(0 < count <= 20 for _, count in blocks)
    assert [b[1] for b, _ in blocks] and b"".join(b[1] for b, _ in blocks) == data
    assert [b[0] for b, _ in blocks] == [
        1 + sum(c for _, c in blocks[:i]) for i in range(len(blocks))
    ]
    assert [f for b, _ in blocks for f in block_frames(b)] == list(jsonl_frames(io.BytesIO(data)))
    assert reader.position == len(data)


def test_a_header_without_a_required_column_is_refused_before_any_row() -> None:
    frames = CSVFrames(_lines(b"code,name\nAMS,Schiphol\n"), required=("iata",))
    with pytest.raises(HeaderError, match=r"^header has no 'iata' \(found: code, name\)$"):
        next(iter(frames))
    many = CSVFrames(_lines(b",".join(b"c%d" % n for n in range(12)) + b"\n"), ("id", "c1"))
    with pytest.raises(HeaderError, match=r"no 'id' \(found: c0, c1, .*, c9, …\)$"):
        list(many)
    assert len(list(CSVFrames(_lines(b"iata,name\nAMS,x\n"), required=("iata",)))) == 1


# --- records_path: the rows of a JSON document down a path of members (issue 16) ---

PATHED = (
    b'{"items": [0], "data": {"items": "no", "meta": {"items": [9]},\n'
    b' "items": [{"id": "a,]"}, {"id": "b"}\n], "after": [8]}, "tail": {"items": [7]}}'
)


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_records_path_frames_the_array_down_the_path_whatever_the_chunking(size: int) -> None:
    frames = list(json_frames(_chunks(PATHED, size), records_path=("data", "items")))
    assert [(f.line, f.payload) for f in frames] == [(2, b'{"id": "a,]"}'), (2, b'{"id": "b"}')]


@pytest.mark.parametrize(
    "doc", [b'{"data": {"item": [1]}}', b'[{"data": {"items": [1]}}]', b'{"data": [1]}']
)
def test_a_document_without_the_records_path_does_not_frame(doc: bytes) -> None:
    with pytest.raises(JSONFrameError, match=r"no array at records_path 'data\.items'"):
        list(json_frames([doc], records_path=("data", "items")))
