"""CSV rows as frames, in the source's dialect and encoding, each with its exact bytes.

Quoting is parsed strictly: a malformed row (a stray quote, an unterminated quoted
field, bytes that do not decode, the wrong number of fields) becomes a frame with an
`error` and its exact bytes, so it is quarantined rather than guessed at. The dialect
is compiled into one `csv.reader` per input; nothing is looked up per row.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ingestry.domain.errors import InputError
from ingestry.domain.reading import DELIMITER_CANDIDATES, CSVDialect, Reading
from ingestry.extract.framing import Frame
from ingestry.extract.textlines import Codec

#: Bytes `delimiter: auto` looks at when there is no header line to read it from.
SNIFF_BYTES = 64 << 10


class HeaderError(ValueError):
    """A CSV header without a column the source needs (its id): the file does not fit
    the source, so it is refused whole, before its first row."""


#: Header names a HeaderError lists before it says "…".
_NAMES_SHOWN = 10


def check_header(names: Sequence[str], required: Sequence[str]) -> None:
    """Raise HeaderError naming the `required` columns `names` lacks, and what it has."""
    missing = [n for n in required if n not in names]
    if not missing:
        return
    found = ", ".join(names[:_NAMES_SHOWN]) + (", …" if len(names) > _NAMES_SHOWN else "")
    lacking = ", ".join(f"'{n}'" for n in missing)
    raise HeaderError(f"header has no {lacking} (found: {found or 'nothing'})")


def delimiter_of_header(text: str) -> str:
    """`delimiter: auto` with a header: the candidate found most often outside quotes
    in the header line (ties and none: a comma). A function of the header alone, so a
    replay, which has the stored header, chooses as the ingest did."""
    counts = dict.fromkeys(DELIMITER_CANDIDATES, 0)
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITER_CANDIDATES, key=lambda c: counts[c])
    return best if counts[best] > 0 and list(counts.values()).count(counts[best]) == 1 else ","


def sniff_delimiter(sample: str) -> str:
    """`delimiter: auto` without a header: csv.Sniffer over the first block."""
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(DELIMITER_CANDIDATES)).delimiter
    except csv.Error:
        return ","


def _reader_args(dialect: CSVDialect, delimiter: str) -> dict[str, Any]:
    return {
        "delimiter": delimiter,
        "quotechar": dialect.quote,
        "escapechar": dialect.escape,
        "strict": True,
    }


class CSVFrames:
    """CSV rows as frames; the header's exact bytes are kept in `header` (with
    `header: none`, a header line written from the declared names, so stored rows can
    be read again the same way). A header without a `required` column raises
    HeaderError before any row is framed."""

    def __init__(
        self,
        lines: Iterable[bytes],
        required: Sequence[str] = (),
        reading: Reading | None = None,
        *,
        names: list[str] | None = None,
        first_line: int = 1,
    ) -> None:
        """`names` and `first_line`: the lines are a block cut at a row boundary after
        the header (`extract.csvblocks`), read with that header's names."""
        self.reading = reading or Reading()
        self.dialect = self.reading.dialect
        self.codec = Codec(self.reading.encoding, self.reading.fallback_encoding)
        self.header: bytes | None = None
        self.delimiter: str | None = None
        self.skipped = 0  # preamble and comment lines
        self._lines = self.codec.lines(lines)
        self._number = first_line - 1
        self._required = required
        self.names = names  # the header's, once read

    @property
    def keyed_header(self) -> tuple[bytes, bytes] | None:
        """(sha256, exact bytes) of the header once read (how raw rows refer to it)."""
        if self.header is None:
            return None
        return hashlib.sha256(self.header).digest(), self.header

    def describe(self) -> dict[str, Any]:
        """What reading this input decided (for the run summary)."""
        out: dict[str, Any] = {"delimiter": self.delimiter}
        if self.codec.used:
            out["encoding"] = "+".join(sorted(self.codec.used))
        if self.skipped:
            out["skipped_lines"] = self.skipped
        return out

    def __iter__(self) -> Iterator[Frame]:
        consumed: list[bytes] = []
        undecodable: list[int] = []
        codec = self.codec
        dialect = self.dialect
        comment = dialect.comment.encode() if dialect.comment else None
        head: list[bytes] = []  # lines read ahead (to sniff a delimiter)

        def raw_lines() -> Iterator[bytes]:
            yield from head
            yield from self._lines

        plain = codec.plain_encoding  # lines past the first: bytes.decode alone

        def text_lines() -> Iterator[str]:
            decoded = 0  # lines the fast branch decoded (counted into codec.used once)
            skip = dialect.skip_rows
            try:
                for raw in raw_lines():
                    self._number += 1
                    if self._number <= skip or (
                        comment is not None and not consumed and raw.startswith(comment)
                    ):
                        self.skipped += 1
                        continue
                    consumed.append(raw)
                    try:
                        if plain is not None and self._number > 1:
                            text = raw.decode(plain)
                            decoded += 1
                            yield text
                        else:
                            yield codec.decode(raw, self._number == 1)
                    except UnicodeDecodeError as exc:
                        undecodable.append(exc.start)
                        yield raw.decode("utf-8", "replace")
            finally:
                if decoded and plain is not None:
                    codec.used[plain] = codec.used.get(plain, 0) + decoded

        names: list[str] | None = self.names
        if dialect.header or names is not None:
            delimiter = dialect.delimiter
        else:
            names = list(dialect.names)
            delimiter = dialect.delimiter
            if delimiter == "auto":
                delimiter = self._sniff(head)
            self.header = codec.encode(_joined(names, dialect, delimiter))
        self.delimiter = None if delimiter == "auto" else delimiter
        narrow = not codec.wide
        lines = text_lines()
        if delimiter == "auto":  # read from the header line, once it is read
            reader = None
        else:
            reader = csv.reader(lines, **_reader_args(dialect, delimiter))
        while True:
            error = None
            try:
                if reader is None:
                    header_text = next(lines)
                    self.delimiter = delimiter = delimiter_of_header(header_text)
                    reader = csv.reader(
                        _chain(header_text, lines), **_reader_args(dialect, delimiter)
                    )
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                cells = []
                error = f"malformed CSV: {exc}"
            chunk = consumed[0] if len(consumed) == 1 else b"".join(consumed)
            start = self._number - len(consumed) + 1
            consumed.clear()
            if undecodable:
                error = f"not valid {codec.what()} (byte {undecodable[0]} of a line)"
                undecodable.clear()
            if names is None and error is None:
                names = self.names = [c.strip() for c in cells]
                check_header(names, self._required)
                self.header = codec.strip_eol(chunk)
                continue
            if narrow:  # LF or CRLF, inline: no call per row
                payload = chunk[:-2] if chunk.endswith(b"\r\n") else chunk.removesuffix(b"\n")
            else:
                payload = codec.strip_eol(chunk)
            if error is None and (not cells or (len(cells) == 1 and not cells[0].strip())):
                continue
            if error is None and names is not None and len(cells) != len(names):
                error = f"row has {len(cells)} fields, header has {len(names)}"
            if error is not None or names is None:
                yield Frame(start, payload, None, error or "no CSV header")
                continue
            yield Frame(start, payload, row_of(names, cells))

    def _sniff(self, head: list[bytes]) -> str:
        size = 0
        for raw in self._lines:
            head.append(raw)
            size += len(raw)
            if size >= SNIFF_BYTES:
                break
        text = b"".join(head[self.dialect.skip_rows :]).decode("utf-8", "replace")
        return sniff_delimiter(text)


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _joined(names: Sequence[str], dialect: CSVDialect, delimiter: str) -> str:
    out = io.StringIO()
    csv.writer(
        out,
        delimiter=delimiter,
        quotechar=dialect.quote,
        escapechar=dialect.escape,
        lineterminator="",
    ).writerow(names)
    return out.getvalue()


def framed_csv(frames: CSVFrames, name: str) -> Iterator[Frame]:
    """The frames of a CSV input; a header without the id's columns refuses the input
    whole (InputError naming it), before its first row."""
    try:
        yield from frames
    except HeaderError as exc:
        raise InputError(f"{name}: {exc}") from None


def row_of(names: list[str], cells: list[str]) -> dict[str, str | None]:
    """The row by column name, an empty cell null (a repeated name: its last cell, in
    its first place). `dict(zip(...))` runs in C; only a row with an empty cell pays a
    second pass."""
    row: dict[str, str | None] = dict(zip(names, cells, strict=True))
    if "" in cells:
        return {k: (v if v != "" else None) for k, v in row.items()}
    return row


def csv_row_from_bytes(
    header: bytes, payload: bytes, reading: Reading | None = None
) -> dict[str, str | None]:
    """Re-read one stored CSV row with its header (replay of raw CSV payloads), in the
    source's dialect and encoding.

    Raises ValueError with the same reasons ingest gives, so replay and ingest agree.
    """
    reading = reading or Reading()
    codec = Codec(reading.encoding, reading.fallback_encoding)
    # the stored header stands first whatever preamble the file had: read it as line 1
    dialect = reading.dialect
    stored = Reading(
        dialect=CSVDialect(dialect.delimiter, dialect.quote, dialect.escape),
        encoding=reading.encoding,
        fallback_encoding=reading.fallback_encoding,
    )
    if not dialect.header and dialect.delimiter == "auto":
        # the header was written from the names with the sniffed delimiter
        text = Codec(reading.encoding, reading.fallback_encoding).decode(header, True)
        stored = Reading(
            dialect=CSVDialect(delimiter_of_header(text), dialect.quote, dialect.escape),
            encoding=reading.encoding,
            fallback_encoding=reading.fallback_encoding,
        )
    newline = codec.newline
    frames = list(CSVFrames([header + newline, payload + newline], (), stored))
    if not frames:
        try:
            text = codec.decode(header, True)
        except UnicodeDecodeError:
            text = ""
        width = len(next(csv.reader([text], delimiter=stored.dialect.delimiter), []))
        raise ValueError(f"row has 0 fields, header has {width}")
    if len(frames) != 1:
        raise ValueError("not one CSV row")
    frame = frames[0]
    if frame.error is not None or frame.row is None:
        raise ValueError(frame.error or "not a CSV row")
    return frame.row
