"""A CSV input as blocks of whole rows: the reading process cuts, a worker frames.

Framing a narrow CSV row (decoding, the csv module, the exact bytes, the row dict) costs
more than anything else the reading process did per row, and the frames, row dicts
and all, were then pickled to a preparation worker. For a file read with preparation
workers, the reading process now only reads the header line and cuts the rest into
blocks of whole rows (one `bytes.find` per block where the block holds no quote
character); the worker frames a block with the same `CSVFrames`, given the header's
names and the block's first line number, so every frame (line, exact bytes, row,
error) is the one reading the whole input at once gives.

A cut is only made at a row boundary: a line end where the csv reader, reading from
the previous cut, stands between rows. Without a quote character in a block every line
end is one (the dialects read this way have no escape character, and a line end ends
an unquoted field); a block holding a quote is read by the csv reader once, here,
to find the last line end that ends a row (a quoted field may hold line ends).
"""

from __future__ import annotations

import csv
import operator
from collections.abc import Iterable, Iterator
from functools import cache
from itertools import compress, count, repeat
from typing import Any

from ingestry.domain.reading import Reading
from ingestry.extract.csvcells import CellKeys, cell_part
from ingestry.extract.csvframes import CSVFrames, row_of
from ingestry.extract.framing import Frame, LineBlock
from ingestry.extract.textlines import Codec

#: Bytes of an unfinished row (a quoted field left open) after which the cutter stops
#: looking for a row boundary and takes the rest of the input as one block: reading it
#: again for every read would cost quadratic time, and framing it whole is exact.
OPEN_ROW_MAX = 32 << 20

_new: Any = tuple.__new__  # a Frame made without its Python-level __new__


def blocks_apply(reading: Reading) -> bool:
    """Whether an input read this way can be cut into blocks: a header line first (no
    preamble, no comments), a fixed delimiter, no escape character, and an encoding
    whose lines decode alone (not UTF-16, not `auto`)."""
    dialect = reading.dialect
    return (
        dialect.header
        and dialect.delimiter != "auto"
        and dialect.escape is None
        and dialect.skip_rows == 0
        and dialect.comment is None
        and Codec(reading.encoding, reading.fallback_encoding).plain_encoding is not None
    )


def header_names(header: bytes, reading: Reading) -> list[str] | None:
    """The column names of a stored header line (what `CSVFrames` read from it)."""
    frames = CSVFrames([header + b"\n"], (), reading)
    for _ in frames:  # an unreadable header: no names
        return None
    return frames.names


_NAMES: dict[tuple[bytes, Reading], list[str] | None] = {}


def csv_block_slices(
    block: LineBlock, header: bytes, reading: Reading, lines: int,
    keys: CellKeys | None = None,
) -> Iterator[list[Frame]]:  # fmt: skip
    """The frames of `csv_block_frames`, as parts of about `lines` lines each framed
    when asked for (`services.batch.prepare_batch` extracts a part while its rows are
    in cache). A block holding a quote character (a row may go on over lines) is
    framed whole and handed out in parts; otherwise every line is a row, and parts are
    cut at line ends. With the columnar path's `keys`, a part of full-width rows is a
    `csvcells.CellPart` (its rows hold only the metadata)."""
    first, data = block
    if reading.dialect.quote.encode() in data:
        frames = csv_block_frames(block, header, reading)
        for k in range(0, len(frames), lines):
            yield frames[k : k + lines]
        return
    start = 0
    while start < len(data):
        end = _nth_line_end(data, lines, lines * 128, start)  # a first guess: 128 B a line
        if end < 0:
            end = len(data)
        yield csv_block_frames((first, data[start:end]), header, reading, keys)
        first += data.count(b"\n", start, end)
        start = end


def csv_block_frames(
    block: LineBlock, header: bytes, reading: Reading, keys: CellKeys | None = None
) -> list[Frame]:
    """The frames of a block cut by `csv_blocks`, as reading the whole input gives them
    (with `keys`, maybe as a `CellPart`: see `csv_block_slices`)."""
    names = _NAMES.get((header, reading))
    if names is None:
        names = _NAMES[header, reading] = header_names(header, reading)
    if names is None:
        raise ValueError("a CSV block needs a readable header")
    first, data = block
    quick = _unquoted_frames(first, data, names, reading, keys)
    if quick is not None:
        return quick
    return list(CSVFrames(_lines(data), (), reading, names=names, first_line=first))


def _unquoted_frames(
    first: int, data: bytes, names: list[str], reading: Reading, keys: CellKeys | None = None
) -> list[Frame] | None:
    """The frames of a block without a quote character, a NUL, a CR that does not end
    a line or a byte that does not decode (None for any other): one line is one row, so
    the block is decoded and split in one pass each, and the frames are built by C-level
    passes where every row has the header's width (what `CSVFrames` gives, ~2x faster:
    it decodes, joins and strips line by line)."""
    dialect = reading.dialect
    plain = Codec(reading.encoding, reading.fallback_encoding).plain_encoding
    if plain is None or not _stateless(plain) or dialect.quote.encode() in data or b"\x00" in data:
        return None
    try:
        text = data.decode(plain)
    except UnicodeDecodeError:
        return None
    if "\r" in text:
        if text.count("\r") != text.count("\r\n"):
            return None
        # every CR ends a line: the rows and payloads are the lines without it
        text, data = text.replace("\r\n", "\n"), data.replace(b"\r\n", b"\n")
    texts, payloads = text.split("\n"), data.split(b"\n")
    if len(texts) != len(payloads):
        return None
    if not payloads[-1]:  # what follows the last LF
        texts.pop()
        payloads.pop()
    width = len(names)
    if max(map(len, texts), default=0) <= csv.field_size_limit():
        # no quote, no escape (blocks_apply), no CR: the csv module splits a line
        # at each delimiter, as str.split does (an empty line: [] there, [''] here,
        # both skipped below)
        cells = list(map(str.split, texts, repeat(dialect.delimiter)))
        if width > 1 and set(map(len, cells)) == {width}:
            # (searched in the bytes: a stateless encoding writes an ASCII character as
            # its byte and no other character with one, so the bytes tell)
            separator = dialect.delimiter.encode(plain)
            empty = _may_hold_empty_cells(data, separator)
            part = None
            if keys is not None:
                as_json = _plain_json_bytes(data, separator)
                part = cell_part(first, payloads, cells, names, keys, empty, as_json)
            return part if part is not None else _full_frames(first, payloads, cells, names, empty)
    else:  # a field may be over the csv module's limit: as CSVFrames reads it
        try:
            delimiter, quote = dialect.delimiter, dialect.quote
            cells = list(csv.reader(texts, delimiter=delimiter, quotechar=quote, strict=True))
        except csv.Error:
            return None
    frames: list[Frame] = []
    append = frames.append
    for number, payload, row in zip(count(first), payloads, cells):
        if not row or (len(row) == 1 and not row[0].strip()):  # a blank line
            continue
        if len(row) == width:
            append(Frame(number, payload, row_of(names, row)))
        else:
            wrong = f"row has {len(row)} fields, header has {width}"
            append(Frame(number, payload, None, wrong))
    return frames


def _may_hold_empty_cells(data: bytes, delimiter: bytes) -> bool:
    """Whether a block's lines (split at each delimiter) may hold an empty cell: two
    delimiters side by side, or one at a line's start or end. A few C-level searches of
    the block instead of a scan of every row's cells (~150 ns a 19-column row)."""
    edges = (delimiter * 2, b"\n" + delimiter, delimiter + b"\n")
    return data.startswith(delimiter) or data.endswith(delimiter) or any(e in data for e in edges)


@cache
def _json_unsafe(delimiter: bytes) -> bytes:
    """A `bytes.translate` table: 0 for a byte a cell would have to escape in JSON (a
    quote, a backslash, a control character, less line ends and the delimiter, which
    no cell holds), 1 for any other."""
    unsafe = {*range(0x20), ord('"'), ord("\\")} - {ord("\n"), *delimiter[:1]}
    return bytes(0 if b in unsafe else 1 for b in range(256))


def _plain_json_bytes(data: bytes, delimiter: bytes) -> bool:
    """Whether every cell of a block's lines is its own JSON string's body (orjson
    writes it unescaped): one C-level pass over the block (a regular expression's
    character class took ~40 instructions a character)."""
    return b"\x00" not in data.translate(_json_unsafe(delimiter))


def _full_frames(
    first: int, payloads: list[bytes], cells: list[list[str]], names: list[str], empty: bool
) -> list[Frame]:
    """The frames of rows that all have the header's width, built without a Python
    loop per row: a row's dict, then (only for rows with an empty cell, when the block
    `may` hold one) its empty cells made None, as `row_of` does."""
    rows: list[dict[str, str | None]] = list(map(dict, map(zip, repeat(names), cells)))
    for n in compress(count(), map(operator.contains, cells, repeat(""))) if empty else ():
        rows[n] = row_of(names, cells[n])
    return list(map(_new, repeat(Frame), zip(count(first), payloads, rows, repeat(None))))


def csv_blocks(
    chunks: Iterable[bytes], first: int, lines: int, reading: Reading
) -> Iterator[tuple[LineBlock, int]]:
    """`chunks` (the input after its header line, which is line `first` - 1) as blocks
    of about `lines` whole lines ending at a row boundary, with their line counts."""
    quote = reading.dialect.quote.encode()
    buf = b""
    settled = False  # a row left open past OPEN_ROW_MAX: the rest is one block
    span = 0  # the last block's bytes: where the next one's n-th line end is sought

    def cut_blocks(more: bool) -> Iterator[tuple[LineBlock, int]]:
        nonlocal buf, first, settled, span
        while not settled:
            cut, count = _next_cut(buf, lines, quote, reading, more, span)
            if cut <= 0:
                settled = more and cut == 0 and len(buf) > OPEN_ROW_MAX
                return
            yield (first, buf[:cut]), count
            first += count
            buf, span = buf[cut:], cut

    for chunk in chunks:
        buf = buf + chunk if buf else chunk
        yield from cut_blocks(more=True)
    yield from cut_blocks(more=False)  # the end: rows of what is left, the last line whole
    if buf:
        yield (first, buf), buf.count(b"\n") + (not buf.endswith(b"\n"))


def _next_cut(
    buf: bytes, lines: int, quote: bytes, reading: Reading, more: bool, span: int = 0
) -> tuple[int, int]:
    """Where the next block of `buf` ends, and the lines it holds: after about `lines`
    whole lines (sought from `span` bytes in), at a row boundary; -1 while fewer lines
    are buffered, 0 when none of them ends a row. With `more` input to come, such a
    block is cut at the buffer's last row boundary instead."""
    end = _nth_line_end(buf, lines, span)
    if end < 0:
        return -1, 0
    cut = _row_end(buf, end, quote, reading)
    if cut == 0 and more:
        cut = _row_end(buf, buf.rfind(b"\n") + 1, quote, reading)
    return cut, lines if cut == end else buf.count(b"\n", 0, cut)


def _nth_line_end(data: bytes, n: int, span: int = 0, start: int = 0) -> int:
    """The offset after the `n`-th LF of `data` from `start`, or -1 when it holds
    fewer. Counted in a window (from `span` bytes, the last block's size, or 64 KiB;
    doubled until it holds `n` LFs), not the whole buffer, then a guess in proportion
    corrected by a few `find`s: the reading process cuts every block, and a `find` per
    line, then a count of the whole buffer, cost a narrow CSV ingest's writer ~2% each."""
    if n <= 0:
        return start
    seen, window = 0, max(span + (span >> 3), 1 << 16)
    while True:
        stop = min(len(data), start + window)
        found = data.count(b"\n", start, stop)
        if seen + found >= n:
            break
        if stop == len(data):
            return -1
        seen, start, window = seen + found, stop, window * 2
    want = n - seen  # 1 <= want <= found: the n-th LF is in data[start:stop]
    end = start + (stop - start) * want // found
    have = data.count(b"\n", start, end)
    while have >= want:  # too far: back to the n-th LF
        end = data.rindex(b"\n", start, end)
        have -= 1
    while have < want:
        end = data.index(b"\n", end) + 1
        have += 1
    return end


def _row_end(data: bytes, end: int, quote: bytes, reading: Reading) -> int:
    """The last row boundary in `data[:end]` (whole lines from a row boundary): `end`
    itself when no quote character occurs before it, 0 when no row ends there."""
    if end <= 0 or data.find(quote, 0, end) < 0:  # no copy of the block to ask
        return end
    lines = _lines(data[:end])
    codec = Codec(reading.encoding, reading.fallback_encoding)
    plain = codec.plain_encoding
    assert plain is not None, "blocks_apply holds"

    def texts() -> Iterator[str]:
        for raw in lines:
            try:
                yield raw.decode(plain)
            except UnicodeDecodeError:  # as CSVFrames reads it
                yield raw.decode("utf-8", "replace")

    dialect = reading.dialect
    reader = csv.reader(texts(), delimiter=dialect.delimiter, quotechar=dialect.quote, strict=True)
    done = 0  # lines read when the last row (or a malformed one) ended
    while True:
        try:
            next(reader)
        except StopIteration:
            break
        except csv.Error:
            if reader.line_num >= len(lines):  # maybe only cut short: not a boundary
                break
        done = reader.line_num
    return sum(map(len, lines[:done]))


def _stateless(encoding: str) -> bool:
    """Whether a block decodes as its lines do, one by one (no BOM, no shift state)."""
    return encoding in ("utf-8", "ascii") or encoding.startswith(("iso8859-", "cp125"))


def _lines(data: bytes) -> list[bytes]:
    """`data` split after each LF (a CR alone is no line end: as a binary file reads)."""
    parts = data.split(b"\n")
    last = parts.pop()
    lines = [p + b"\n" for p in parts]
    if last:
        lines.append(last)
    return lines
