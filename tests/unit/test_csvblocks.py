"""A CSV input cut into blocks (`extract.csvblocks`) frames exactly as read whole: the
same line numbers, exact bytes, rows and errors, whatever the reads and block sizes,
quoted line ends, stray or unterminated quotes, bad bytes, CRLF and blank lines."""

from __future__ import annotations

import csv

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestry.domain.reading import CSVDialect, Reading
from ingestry.extract.csvblocks import (
    _nth_line_end,
    _unquoted_frames,
    blocks_apply,
    csv_block_frames,
    csv_block_slices,
    csv_blocks,
)
from ingestry.extract.csvframes import CSVFrames
from ingestry.extract.framing import Frame

CELLS = st.sampled_from(
    ["a", "", "12", " x ", '"q"', '"a,b"', '"two\nlines"', '"open', 'in"side', '"x""y"',
     '"end"z', "é", "\r", '"\r\n"', "N/A"]
)  # fmt: skip
ROWS = st.lists(st.lists(CELLS, min_size=1, max_size=4), max_size=25)
ENDINGS = st.sampled_from([b"\n", b"\r\n"])


def _whole(data: bytes, reading: Reading) -> list[Frame]:
    return list(CSVFrames(_lines(data), (), reading))


def _lines(data: bytes) -> list[bytes]:
    parts = data.split(b"\n")
    last = parts.pop()
    return [p + b"\n" for p in parts] + ([last] if last else [])


def _blocked(data: bytes, reads: list[int], lines: int, reading: Reading) -> list[Frame]:
    header, _, rest = data.partition(b"\n")
    chunks, at = [], 0
    for size in reads * (len(rest) // max(1, sum(reads)) + 1):
        chunks.append(rest[at : at + size])
        at += size
    chunks = [c for c in chunks if c]
    assert b"".join(chunks) == rest
    frames: list[Frame] = []
    blocks = list(csv_blocks(chunks, 2, lines, reading))
    assert b"".join(b[0][1] for b in blocks) == rest
    stripped = header.removesuffix(b"\r")
    for block, count in blocks:
        assert count == block[1].count(b"\n") + (not block[1].endswith(b"\n"))
        frames.extend(csv_block_frames(block, stripped, reading))
    return frames


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=ROWS,
    ending=ENDINGS,
    reads=st.lists(st.integers(1, 40), min_size=1, max_size=5),
    lines=st.integers(1, 6),
    encoding=st.sampled_from(["utf-8", "latin-1", "cp1252"]),
    bad=st.booleans(),
    tail=st.booleans(),
)
def test_blocks_frame_as_the_whole_input(
    rows: list[list[str]],
    ending: bytes,
    reads: list[int],
    lines: int,
    encoding: str,
    bad: bool,
    tail: bool,
) -> None:
    reading = Reading(encoding=encoding)
    assert blocks_apply(reading)
    text = [",".join(["id", "b", "c"]), *(",".join(r) for r in rows)]
    data = ending.join(t.encode(encoding, "replace") for t in text) + (ending if tail else b"")
    if bad and rows:  # a byte that is not UTF-8 (nor cp1252) past the header
        at = max(data.index(b"\n") + 1, len(data) // 2)
        data = data[:at] + b"\x81" + data[at:]
    if b"\n" not in data:
        return
    assert _blocked(data, reads, lines, reading) == _whole(data, reading)


def test_a_quoted_field_over_a_cut_stays_one_row() -> None:
    reading = Reading()
    data = b'id,b\n1,"x\ny\nz"\n2,w\n3,"open\n4,v\n'
    blocks = list(csv_blocks([data[5:]], 2, 1, reading))
    # no row ends within one line: the block runs to the buffer's last row end
    assert [b[0] for b in blocks] == [(2, b'1,"x\ny\nz"\n2,w\n'), (6, b'3,"open\n4,v\n')]
    frames = [f for b, _ in blocks for f in csv_block_frames(b, b"id,b", reading)]
    assert frames[0] == Frame(2, b'1,"x\ny\nz"', {"id": "1", "b": "x\ny\nz"})
    assert frames[1] == Frame(5, b"2,w", {"id": "2", "b": "w"})
    assert frames[2].error is not None and frames[2].payload == b'3,"open\n4,v'
    assert frames == _whole(data, reading)


def test_dialects_that_cannot_be_cut() -> None:
    assert not blocks_apply(Reading(encoding="utf-16"))
    assert not blocks_apply(Reading(encoding="auto"))
    assert not blocks_apply(Reading(dialect=CSVDialect(delimiter="auto")))
    assert not blocks_apply(Reading(dialect=CSVDialect(escape="\\")))
    assert not blocks_apply(Reading(dialect=CSVDialect(skip_rows=1)))
    assert not blocks_apply(Reading(dialect=CSVDialect(comment="#")))
    assert not blocks_apply(Reading(dialect=CSVDialect(header=False, names=("a",))))
    assert blocks_apply(Reading(dialect=CSVDialect(delimiter=";", quote="'")))


PLAIN_CELLS = st.sampled_from(["a", "", "12", " x ", "é", "N/A", "\r", "\x00", "b\rc", " "])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.lists(PLAIN_CELLS, min_size=1, max_size=4), min_size=1, max_size=12),
    ending=ENDINGS,
    encoding=st.sampled_from(["utf-8", "latin-1", "cp1252"]),
    tail=st.booleans(),
)
def test_a_block_without_quotes_frames_as_read_line_by_line(
    rows: list[list[str]], ending: bytes, encoding: str, tail: bool
) -> None:
    """The one-pass reading of a block without quote characters (when it applies)."""
    reading = Reading(encoding=encoding)
    data = ending.join(",".join(r).encode(encoding) for r in rows) + (ending if tail else b"")
    names = ["id", "b", "c"]
    quick = _unquoted_frames(7, data, names, reading)
    whole = list(CSVFrames(_lines(data), (), reading, names=names, first_line=7))
    assert quick is None or quick == whole
    if b"\r" not in data.replace(b"\r\n", b"") and b"\x00" not in data:
        assert quick == whole


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.lists(PLAIN_CELLS, min_size=3, max_size=3), min_size=1, max_size=12),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    ending=ENDINGS,
    tail=st.booleans(),
)
def test_rows_of_the_headers_width_split_as_the_csv_module_reads_them(
    rows: list[list[str]], delimiter: str, ending: bytes, tail: bool
) -> None:
    """Every row as wide as the header: the rows are split at the delimiter and built
    in C-level passes (`_full_frames`), and frame as the csv module reads them."""
    reading = Reading(dialect=CSVDialect(delimiter=delimiter))
    data = ending.join(delimiter.join(r).encode() for r in rows) + (ending if tail else b"")
    names = ["id", "b", "c"]
    quick = _unquoted_frames(3, data, names, reading)
    whole = list(CSVFrames(_lines(data), (), reading, names=names, first_line=3))
    if b"\r" not in data.replace(b"\r\n", b"") and b"\x00" not in data:
        assert quick == whole
    else:
        assert quick is None


def test_a_field_over_the_csv_modules_limit_frames_as_read_whole() -> None:
    """A line longer than the csv module's field limit is read by the csv module (which
    refuses the field), not split: the block takes the line-by-line reader."""
    reading = Reading()
    data = b"1,a,b\n2," + b"x" * (csv.field_size_limit() + 1) + b",c\n"
    assert _unquoted_frames(2, data, ["id", "b", "c"], reading) is None
    whole = list(CSVFrames(_lines(data), (), reading, names=["id", "b", "c"], first_line=2))
    blocked = csv_block_frames((2, data), b"id,b,c", reading)
    assert blocked == whole


def _walked(data: bytes, n: int) -> int:
    walked = -1
    if data.count(b"\n") >= n:
        walked = 0
        for _ in range(n):
            walked = data.index(b"\n", walked) + 1
    return walked


@given(
    data=st.binary(max_size=60).map(lambda b: b.replace(b"\x00", b"\n")),
    n=st.integers(0, 20),
    span=st.integers(0, 80),
)
def test_the_nth_line_end_is_found_as_by_walking_the_lines(data: bytes, n: int, span: int) -> None:
    assert _nth_line_end(data, n, span) == _walked(data, n)


@settings(max_examples=30, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 3000), min_size=1, max_size=400),
    n=st.integers(1, 420),
    span=st.sampled_from([0, 100, 70_000, 400_000]),
)
def test_the_nth_line_end_past_the_first_window(lengths: list[int], n: int, span: int) -> None:
    """Buffers past the first window (64 KiB): the window doubles until it holds n."""
    data = b"".join(b"x" * k + b"\n" for k in lengths) + b"tail"
    assert _nth_line_end(data, n, span) == _walked(data, n)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=ROWS,
    ending=ENDINGS,
    part=st.integers(1, 7),
    encoding=st.sampled_from(["utf-8", "latin-1", "cp1252"]),
    tail=st.booleans(),
)
def test_a_block_framed_in_parts_frames_as_framed_whole(
    rows: list[list[str]], ending: bytes, part: int, encoding: str, tail: bool
) -> None:
    """`csv_block_slices`: the parts, joined, are the block's frames (line numbers,
    bytes, rows and errors), with or without quotes, blank lines and bad bytes."""
    reading = Reading(encoding=encoding)
    data = ending.join(",".join(r).encode(encoding, "replace") for r in rows)
    data += ending if tail and rows else b""
    parts = list(csv_block_slices((4, data), b"id,b,c", reading, part))
    assert [f for p in parts for f in p] == csv_block_frames((4, data), b"id,b,c", reading)
    assert all(len(p) <= part for p in parts)


@given(
    st.lists(st.lists(st.sampled_from(["", "a", "bc", " "]), min_size=2, max_size=4), min_size=1),
    st.sampled_from([",", ";", "\t"]),
    st.booleans(),
)
def test_a_block_is_searched_for_empty_cells_without_missing_one(
    rows: list[list[str]], delimiter: str, final_newline: bool
) -> None:
    """The block-level search that lets the frames skip each row's scan for an empty
    cell says "maybe" exactly when a row holds one."""
    from ingestry.extract.csvblocks import _may_hold_empty_cells

    text = "\n".join(delimiter.join(cells) for cells in rows) + ("\n" if final_newline else "")
    found = _may_hold_empty_cells(text.encode(), delimiter.encode())
    assert found == any("" in cells for cells in rows)


@given(
    st.lists(
        st.lists(
            st.text(st.sampled_from("ab%é ü1-.:/'\x7f"), min_size=1, max_size=4),
            min_size=3,
            max_size=3,
        ),
        min_size=1,
        max_size=20,
    ),
    st.permutations(["z_col", "a%col", "Émile"]),
)
def test_a_plain_parts_metadata_is_the_json_orjson_writes(
    rows: list[list[str]], names: list[str]
) -> None:
    """A block every cell of which is its own JSON string body gets its metadata filled
    into a template; it must be byte for byte the canonical JSON of the row's dict."""
    import orjson

    from ingestry.extract.csvcells import CellKeys, cell_part
    from ingestry.extract.jsonio import dumps

    keys = CellKeys(read=(names[0],), dropped=())
    text = "\n".join(",".join(r) for r in rows) + "\n"
    from ingestry.extract.csvblocks import _plain_json_bytes

    assert _plain_json_bytes(text.encode(), b",")
    payloads = [",".join(r).encode() for r in rows]
    part = cell_part(1, payloads, rows, names, keys, empty=False, plain=True)
    assert part is not None
    for frame, cells in zip(part, rows, strict=True):
        assert frame.row.encode() == dumps(dict(zip(names, cells, strict=True)))
        assert orjson.loads(frame.row) == dict(zip(names, cells, strict=True))


@given(st.text(min_size=1, max_size=30), st.sampled_from([",", ";", "\t", "\x1f"]))
def test_a_block_is_plain_json_exactly_when_no_cell_needs_an_escape(
    text: str, delimiter: str
) -> None:
    """The bytes' search agrees with orjson: a block is plain exactly when every cell
    (the text split at line ends and the delimiter) is written by orjson unescaped."""
    import orjson

    from ingestry.extract.csvblocks import _plain_json_bytes

    cells = [c for line in text.split("\n") for c in line.split(delimiter)]
    try:
        unescaped = all(orjson.dumps(c)[1:-1] == c.encode() for c in cells)
    except orjson.JSONEncodeError:  # a lone surrogate: not a decoded file's text
        return
    assert _plain_json_bytes(text.encode(), delimiter.encode()) == unescaped
