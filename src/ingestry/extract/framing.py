"""Split a byte stream into payload frames, keeping each frame's exact bytes.

Pure functions over iterables of bytes (a file object is an iterable of lines), so
reading stays in the adapters and memory stays flat whatever the file size.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple


class Frame(NamedTuple):
    """One payload: where it starts (1-based line), its exact bytes, and for CSV the row."""

    line: int
    payload: bytes
    row: dict[str, str | None] | None = None
    error: str | None = None


def line_too_long(length: int, limit: int, what: str = "line") -> str:
    """The quarantine reason of a line (or another payload) longer than the source's
    `max_line_bytes`: the same whether it was held in memory or streamed, or replayed."""
    return f"{what} of {length:,} bytes is longer than max_line_bytes ({limit:,})"


def jsonl_frames(lines: Iterable[bytes], limit: int | None = None) -> Iterator[Frame]:
    """One frame per non-blank line; the line terminator (LF or CRLF) is framing, not
    data. A line longer than `limit` bytes is a frame with an error (quarantined)."""
    for number, line in enumerate(lines, 1):
        if line.endswith(b"\n"):
            line = line[:-2] if line.endswith(b"\r\n") else line[:-1]
        if not line or line.isspace():
            continue
        if limit is not None and len(line) > limit:
            yield Frame(number, line, None, line_too_long(len(line), limit))
            continue
        yield Frame(number, line)


#: Whole lines of a JSON Lines input read as one block: (number of its first line, bytes).
#: A reader can cut these without looking at each line; the frames are made where the
#: batch is prepared (a worker process), by `block_frames`.
LineBlock = tuple[int, bytes]


def block_frames(block: LineBlock, limit: int | None = None) -> list[Frame]:
    """The frames `jsonl_frames` gives for the same lines (and `limit`), numbered from
    the block's first."""
    first, data = block
    lines = data.split(b"\n")
    ended = lines.pop() == b""  # the last element is what follows the final LF
    if not ended:
        lines.append(data[data.rfind(b"\n") + 1 :])
    frames = []
    last = len(lines) - 1
    for index, line in enumerate(lines):
        if line.endswith(b"\r") and (ended or index < last):
            line = line[:-1]  # CRLF: the CR is framing too
        if line and not line.isspace():
            frames.append(Frame(first + index, line))
    if limit is not None and len(data) > limit:  # else no line can be longer: no check
        frames = [
            f if len(f.payload) <= limit else f._replace(error=line_too_long(len(f.payload), limit))
            for f in frames
        ]
    return frames


# --- JSON documents: a single object, an array of objects, or a GeoJSON FeatureCollection ---

_SPECIAL = re.compile(rb'["\\\[\]{},:\n]')
#: Outside a string: a whole string (no raw newline inside, as JSON requires) is one
#: token, so its quotes and the colons and commas in it cost no Python step (a page of
#: 1,000 API items framed ~2x faster, bench/harvest_bench.py); a string the buffer cuts
#: short (or that breaks the rule) falls back to its opening quote alone.
_TOKEN = re.compile(rb'"[^"\\\n]*(?:\\.[^"\\\n]*)*"|["\\\[\]{},:\n]')
#: An element that is a flat object (no object or array inside), followed by the `,` or
#: `]` that ends it: skipped in one step (API items mostly are; others take the tokens).
_FLAT = re.compile(
    rb'[ \t\r\n]*\{(?:[^{}\[\]"]|"[^"\\\n]*(?:\\.[^"\\\n]*)*")*\}(?=[ \t\r\n]*[,\]])'
)
_WS = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"
_WS_BYTES = (b" ", b"\t", b"\r", b"\n")


class JSONFrameError(ValueError):
    """The document is not a JSON array or object, or it ends early."""


def json_frames(
    chunks: Iterable[bytes],
    *,
    array_key: str | None = None,
    records_path: tuple[str, ...] | None = None,
) -> Iterator[Frame]:
    """Frames of a JSON document read in chunks.

    A top-level array yields one frame per element. A top-level object yields itself,
    unless `array_key` names a member array (GeoJSON `features`) or `records_path` the
    array down a path of members (`data.items`): then its elements are yielded (a
    document without that array does not frame). Element bytes are exact slices of
    the input; memory holds one element.
    """
    path = records_path or ((array_key,) if array_key else None)
    scanner = _ArrayScanner(tuple(p.encode() for p in path) if path else None)
    scanner.required = records_path is not None
    for chunk in chunks:
        if chunk:
            yield from scanner.feed(chunk)
    yield from scanner.close()


class _ArrayScanner:
    """A state machine over the structural bytes of a JSON text; strings need care."""

    def __init__(self, path: tuple[bytes, ...] | None) -> None:
        self.path = path
        self.key = path[-1] if path else None
        self.matched = 0  # members of the path entered so far
        self.required = False  # a document without the array does not frame
        self.buf = bytearray()
        self.pos = 0
        self.line = 1
        self.depth = 0
        self.in_string = False
        self.escape = False
        self.string_start = 0
        self.root = b""
        self.target: int | None = None  # depth inside the array being split
        self.done = False  # the split array has closed
        self.member_key: bytes | None = None  # last object key at depth 1
        self.last_string = b""
        self.elem_from = 0  # index just after the last '[' or ',' of the split array
        self.elem_line = 1
        self.finished = False  # the top-level value has closed
        self.end = 0  # where it closed, in buf

    def feed(self, chunk: bytes) -> Iterator[Frame]:
        if self.finished:
            self._expect_nothing_more(chunk)
            return
        self.buf += chunk
        if not self.root:
            if len(self.buf) < len(_BOM) and _BOM.startswith(self.buf):
                return  # maybe a BOM split across chunks
            if self.buf.startswith(_BOM):
                del self.buf[: len(_BOM)]
            head = bytes(self.buf).lstrip(_WS)
            if not head:
                return
            self.root = head[:1]
            if self.root not in (b"[", b"{"):
                raise JSONFrameError("expected a JSON array or object")
        yield from self._scan()
        self._compact()

    def close(self) -> Iterator[Frame]:
        if not self.root:
            if bytes(self.buf).strip(_WS):
                raise JSONFrameError("expected a JSON array or object")
            return
        if self.in_string or self.depth != 0:
            raise JSONFrameError(f"unexpected end of JSON document at line {self.line}")
        if self.required and not self.done:
            dotted = ".".join(p.decode() for p in self.path or ())
            raise JSONFrameError(f"no array at records_path '{dotted}'")
        if self.root == b"{" and self.target is None and not self.done:
            body = bytes(self.buf[: self.end]).strip(_WS)
            yield Frame(1 + _leading_newlines(self.buf), body)

    def _compact(self) -> None:
        if self.target is None and not self.done:
            return  # not inside the split array yet: the head (or whole object) is kept
        keep = self.elem_from if self.target is not None else self.pos
        if self.in_string:
            keep = min(keep, self.string_start)
        if keep > 0:
            del self.buf[:keep]
            self.pos -= keep
            self.elem_from -= keep
            self.string_start -= keep
            self.end -= keep

    def _scan(self) -> Iterator[Frame]:
        buf = self.buf
        if self.escape and self.pos < len(buf):
            self.escape = False
            self.pos += 1
        while True:
            if self.in_string:  # byte by byte to its end (cut short by a chunk)
                match = _SPECIAL.search(buf, self.pos)
                if match is None:
                    return
                at = match.start()
                self.pos = at + 1
                self._in_string(buf, at)
                continue
            if self.pos == self.elem_from and self.target == self.depth:
                flat = _FLAT.match(buf, self.pos)
                if flat is not None:
                    self.line += buf.count(b"\n", self.pos, flat.end())
                    self.pos = flat.end()
            match = _TOKEN.search(buf, self.pos)
            if match is None:
                return
            at, end = match.span()
            if end - at > 1:  # a whole string
                self.pos = end
                if self.depth == self.matched + 1 and self.key is not None:
                    self.last_string = bytes(buf[at + 1 : end - 1])
                continue
            self.pos = at + 1
            ch = buf[at]
            if ch == 0x0A:
                self.line += 1
            elif ch == 0x22:
                self.in_string = True
                self.string_start = at
            elif ch == 0x3A:
                if self.depth == self.matched + 1:
                    self.member_key = self.last_string
            elif ch == 0x5B or ch == 0x7B:
                self.depth += 1
                if ch == 0x5B and self._opens_split_array():
                    self.target = self.depth
                    self._start_element(at + 1)
                elif ch == 0x7B and self._enters_path():
                    self.matched += 1
                    self.member_key = None
            elif ch == 0x5D or ch == 0x7D:
                if self.matched and self.depth == self.matched + 1:
                    self.matched -= 1  # left an object of the path
                if self.target is not None and self.depth == self.target:
                    yield from self._end_element(at)
                    self.target = None
                    self.done = True
                self.depth -= 1
                if self.depth == 0:
                    self.finished = True
                    self.end = at + 1
                    self._expect_nothing_more(bytes(buf[at + 1 :]))
                    return
            elif ch == 0x2C and self.target is not None and self.depth == self.target:
                yield from self._end_element(at)
                self._start_element(at + 1)

    def _in_string(self, buf: bytearray, at: int) -> None:
        ch = buf[at]
        if ch == 0x0A:
            self.line += 1
        elif ch == 0x5C:
            if at + 1 < len(buf):
                self.pos = at + 2
            else:
                self.escape = True
        elif ch == 0x22:
            self.in_string = False
            if self.depth == self.matched + 1 and self.key is not None:
                self.last_string = bytes(buf[self.string_start + 1 : at])

    def _expect_nothing_more(self, rest: bytes) -> None:
        if rest.strip(_WS):
            raise JSONFrameError(
                f"unexpected content after the JSON document at line {self.line}"
                " (one JSON document per file; use jsonl for a stream of documents)"
            )

    def _opens_split_array(self) -> bool:
        if self.done or self.target is not None:
            return False
        if self.root == b"[":
            return self.depth == 1 and not self.required
        path = self.path
        return (
            path is not None
            and self.matched == len(path) - 1
            and self.depth == self.matched + 2
            and self.member_key == self.key
        )

    def _enters_path(self) -> bool:
        """A `{` opening the object of the path's next member (`data` of `data.items`)."""
        path = self.path
        return (
            path is not None
            and not self.done
            and self.matched < len(path) - 1
            and self.depth == self.matched + 2
            and self.member_key == path[self.matched]
        )

    def _start_element(self, at: int) -> None:
        self.elem_from = at
        self.elem_line = self.line

    def _end_element(self, at: int) -> Iterator[Frame]:
        segment = self.buf[self.elem_from : at]
        body = bytes(segment).strip(_WS)
        if body:
            lead = _leading_newlines(segment) if segment[:1] in _WS_BYTES else 0
            yield Frame(self.elem_line + lead, body)


def _leading_newlines(segment: bytes | bytearray) -> int:
    lead = len(segment) - len(segment.lstrip(_WS))
    return segment.count(b"\n", 0, lead)
