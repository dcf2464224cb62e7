"""Inputs from files and stdin: opened here, framed by the pure framing functions.

JSON Lines are read by bytes (`lines.LineReader`): lines too long to hold are spilled,
not gathered. A JSON document that does not frame raises `UnframeableError`; for a raw
source the ingest then takes the file whole (`whole`) as one quarantined payload.
Standard input holding a JSON document is copied to a temporary file first, so it can
be read again that way.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import sys
import tempfile
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any, BinaryIO

from ingestry.adapters.containers import Container, compression_of
from ingestry.adapters.lines import (
    READ_MAX,
    LineReader,
    Region,
    file_region,
    spool_region,
    verified,
)
from ingestry.adapters.tables import parquet_table, xlsx_table
from ingestry.domain.errors import InputError
from ingestry.domain.reading import Reading
from ingestry.domain.sources import MAX_PAYLOAD_BYTES, SourceFormat
from ingestry.extract.csvblocks import blocks_apply, csv_blocks
from ingestry.extract.csvframes import CSVFrames, HeaderError, framed_csv
from ingestry.extract.framing import (
    Frame,
    JSONFrameError,
    LineBlock,
    block_frames,
    json_frames,
)
from ingestry.extract.tabular import table_frames
from ingestry.services.ports import ReadOptions, Spilled, UnframeableError

READ_CHUNK = 1 << 20
#: Formats read by a library from the file's path, row by row (`adapters.tables`).
TABLE_FORMATS = (SourceFormat.PARQUET, SourceFormat.XLSX)
#: Lines per block when JSON Lines are framed in this process (the batch size decides
#: how many frames go together; this only bounds a block's lines).
INLINE_BLOCK_LINES = 5000


class _CountingReader:
    """Wraps a binary stream to count the bytes handed out (for the progress bar)."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.position = 0

    def lines(self) -> Iterator[bytes]:
        for line in self.stream:
            self.position += len(line)
            yield line

    def chunks(self) -> Iterator[bytes]:
        while chunk := self.stream.read(READ_CHUNK):
            self.position += len(chunk)
            yield chunk


class StreamInput:
    """One file (or stdin) read as a stream of frames in the source's format."""

    def __init__(
        self,
        name: str,
        path: Path | None,
        options: ReadOptions,
        size: int | None,
        container: Container | None = None,
    ) -> None:
        self.name = name
        self.path = path
        self.container = container
        self.options = options
        self.format = options.format
        self.size = size
        self._reader: _CountingReader | LineReader | None = None
        self._csv: CSVFrames | None = None
        self._spool: IO[bytes] | None = None  # stdin holding a JSON document
        self._done = 0  # a table file's bytes, once read

    @property
    def position(self) -> int:
        if self.format in TABLE_FORMATS:
            return self._done
        if self.container is not None:  # compressed bytes, against the file's size
            return self.container.position
        return self._reader.position if self._reader else 0

    @property
    def header(self) -> tuple[bytes, bytes] | None:
        return self._csv.keyed_header if self._csv is not None else None

    def container_of(self) -> tuple[str, bytes] | None:
        """(name, sha256) of the compressed file this input is (its receipts name it)."""
        if self.container is None:
            return None
        return self.name, self.container.digest

    def describe(self) -> dict[str, Any] | None:
        """What reading this input decided (see `services.inputs.DescribedInput`)."""
        out: dict[str, Any] = {}
        if self.container is not None:
            out["container"] = self.name
            out["container_sha256"] = self.container.sha256
            out["compression"] = self.container.compression
        if self._csv is not None and self.options.reading != Reading():
            out.update(self._csv.describe())
        if not out:
            return None
        return {"file": self.name, **out}

    @property
    def spilled(self) -> list[Spilled]:
        reader = self._reader
        return reader.spilled if isinstance(reader, LineReader) else []

    def frames(self) -> Iterator[Frame]:
        with self._open() as stream:
            if self.format is SourceFormat.JSONL:
                limit = self.options.max_line_bytes
                for block, _ in self._blocks_of(stream, INLINE_BLOCK_LINES):
                    yield from block_frames(block, limit)
            else:
                yield from self._frames(stream)

    def line_blocks(self, lines: int) -> Iterator[tuple[list[Frame] | LineBlock, int]] | None:
        """The input as blocks of whole lines (framed later: `block_frames`, or for CSV
        `csv_block_frames`) with their line counts; None unless it is JSON Lines or a
        CSV read in a way blocks can be cut (`csvblocks.blocks_apply`)."""
        if self.format is SourceFormat.CSV and blocks_apply(self.options.reading):
            return self._csv_blocks(lines)
        if self.format is not SourceFormat.JSONL:
            return None
        return self._line_blocks(lines)

    def _csv_blocks(self, lines: int) -> Iterator[tuple[list[Frame] | LineBlock, int]]:
        """The header line read and checked here, the rest cut into blocks of rows; a
        header line holding a quote character (it may go on over lines) is framed here,
        with the rest, as before."""
        reading = self.options.reading
        with self._open() as stream:
            reader = self._reader = _CountingReader(stream)
            first = stream.readline()
            reader.position += len(first)
            if not first:
                return
            if reading.dialect.quote.encode() not in first:
                self._csv = CSVFrames([first], self.options.required_columns, reading)
                if not list(framed_csv(self._csv, self.name)) and self._csv.header is not None:
                    yield from csv_blocks(reader.chunks(), 2, lines, reading)
                    return
            self._csv = CSVFrames(
                chain([first], reader.lines()), self.options.required_columns, reading
            )
            frames = framed_csv(self._csv, self.name)
            while chunk := list(islice(frames, lines)):
                yield chunk, len(chunk)

    def whole(self, reason: str) -> WholeInput:
        """The input as one payload failing with `reason` (an unframeable document)."""
        return WholeInput(self.name, self._open, self._region(), self.options, reason)

    def _line_blocks(self, lines: int) -> Iterator[tuple[LineBlock, int]]:
        with self._open() as stream:
            yield from self._blocks_of(stream, lines)

    def _blocks_of(self, stream: BinaryIO, lines: int) -> Iterator[tuple[LineBlock, int]]:
        plain = self.path is not None and self.container is None
        region = file_region(str(self.path)) if plain else None
        reader = self._reader = LineReader(stream, self.name, self.options.max_line_bytes, region)
        yield from reader.blocks(lines)

    def _open(self) -> AbstractContextManager[BinaryIO]:
        if self.format in TABLE_FORMATS:
            return nullcontext(io.BytesIO())  # read by its library, from the path
        if self.path is not None and self.container is None:
            try:
                return self.path.open("rb")
            except OSError as exc:
                raise InputError(f"cannot read {self.name}: {exc.strerror}") from None
        if self.format not in (SourceFormat.JSON, SourceFormat.GEOJSON):
            if self.container is not None:
                return self.container.open()
            return nullcontext(sys.stdin.buffer)
        if self._spool is None:  # a document may have to be read again: keep it
            self._spool = tempfile.SpooledTemporaryFile(max_size=READ_MAX)  # noqa: SIM115
            weakref.finalize(self, self._spool.close)
            if self.container is not None:
                with self.container.open() as stream:
                    shutil.copyfileobj(stream, self._spool, READ_CHUNK)
            else:
                shutil.copyfileobj(sys.stdin.buffer, self._spool, READ_CHUNK)
        self._spool.seek(0)
        return nullcontext(self._spool)  # type: ignore[arg-type]

    def _region(self) -> Region:
        if self.path is not None and self.container is None:
            return file_region(str(self.path))
        assert self._spool is not None, "stdin is kept only for a JSON document"
        return spool_region(self._spool)

    def _table_frames(self) -> Iterator[Frame]:
        """A Parquet or Excel file: each row a canonical JSON payload (`extract.tabular`)."""
        if self.path is None or self.container is not None:
            raise InputError(
                f"cannot read {self.name}: a {self.format.value} source reads files "
                "(not standard input, not compressed: the format compresses itself)"
            )
        if self.format is SourceFormat.PARQUET:
            names, rows = parquet_table(self.path, self.name)
        else:
            names, rows = xlsx_table(self.path, self.options.reading.sheet, self.name)
        try:
            yield from table_frames(names, rows, self.options.required_columns, self.name)
        except HeaderError as exc:
            raise InputError(f"{self.name}: {exc}") from None
        self._done = self.size or 0

    def _frames(self, stream: BinaryIO) -> Iterator[Frame]:
        if self.format in TABLE_FORMATS:
            yield from self._table_frames()
            return
        reader = self._reader = _CountingReader(stream)
        if self.format is SourceFormat.CSV:
            self._csv = CSVFrames(
                reader.lines(), self.options.required_columns, self.options.reading
            )
            yield from framed_csv(self._csv, self.name)
        else:
            key = "features" if self.format is SourceFormat.GEOJSON else None
            try:
                yield from json_frames(
                    reader.chunks(), array_key=key, records_path=self.options.reading.records_path
                )
            except JSONFrameError as exc:
                raise UnframeableError(self, self.name, str(exc)) from None


class WholeInput:
    """A whole input as one payload that fails with `reason`: held and framed when it
    fits `max_line_bytes`, else spilled (hashed now, its bytes streamed to storage)."""

    size: int | None = None
    header: tuple[bytes, bytes] | None = None

    def __init__(
        self,
        name: str,
        opener: Callable[[], AbstractContextManager[BinaryIO]],
        region: Region,
        options: ReadOptions,
        reason: str,
    ) -> None:
        self.name = name
        self._open = opener
        self._region = region
        self._limit = options.max_line_bytes
        self.reason = reason
        self.position = 0
        self.spilled: list[Spilled] = []

    def frames(self) -> Iterator[Frame]:
        self.spilled = []
        with self._open() as stream:
            head = stream.read(self._limit + 1)
            if len(head) <= self._limit:
                self.position = len(head)
                yield Frame(1, head, None, self.reason)
                return
            digest = hashlib.sha256(head)
            length = len(head)
            while chunk := stream.read(READ_MAX):
                digest.update(chunk)
                length += len(chunk)
        self.position = length
        if length > MAX_PAYLOAD_BYTES:
            raise InputError(
                f"{self.name}: {self.reason}; at {length:,} bytes it is too long to keep "
                f"whole (more than {MAX_PAYLOAD_BYTES:,})"
            )
        chunks = verified(self._region, 0, length, digest.digest(), self.name)
        self.spilled.append(Spilled(1, length, digest.digest(), self.reason, chunks))


def open_inputs(paths: Sequence[str], fmt: SourceFormat | ReadOptions) -> list[StreamInput]:
    """Check every path before anything is read, so a bad one writes nothing."""
    options = fmt if isinstance(fmt, ReadOptions) else ReadOptions(fmt)
    inputs = []
    for raw in paths:
        if raw == "-":
            inputs.append(StreamInput("<stdin>", None, options, None))
            continue
        path = Path(raw)
        if not path.exists():
            raise InputError(f"cannot read {raw}: no such file")
        if path.is_dir():
            raise InputError(f"cannot read {raw}: is a directory")
        try:
            with path.open("rb"):
                pass
        except OSError as exc:
            raise InputError(f"cannot read {raw}: {exc.strerror}") from None
        compression = compression_of(path)
        container = Container(path, compression) if compression else None
        inputs.append(StreamInput(raw, path, options, path.stat().st_size, container))
    if not inputs:
        raise InputError("no input files given")
    return inputs
