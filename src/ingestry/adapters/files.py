"""Inputs from files and stdin: opened here, framed by the pure framing functions."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import BinaryIO

from ingestry.domain.errors import InputError
from ingestry.domain.sources import SourceFormat
from ingestry.extract.framing import (
    CSVFrames,
    Frame,
    JSONFrameError,
    LineBlock,
    json_frames,
    jsonl_frames,
)

READ_CHUNK = 1 << 20


class _CountingReader:
    """Wraps a binary stream to count the bytes handed out (for the progress bar)."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.position = 0

    def lines(self) -> Iterator[bytes]:
        for line in self.stream:
            self.position += len(line)
            yield line

    def line_blocks(self, lines: int) -> Iterator[LineBlock]:
        """`lines` whole lines at a time, joined: the stream's own line iteration (C),
        no per-line Python beyond it."""
        first = 1
        while block := list(islice(self.stream, lines)):
            data = b"".join(block)
            self.position += len(data)
            yield first, data
            first += len(block)

    def chunks(self) -> Iterator[bytes]:
        while chunk := self.stream.read(READ_CHUNK):
            self.position += len(chunk)
            yield chunk


class StreamInput:
    """One file (or stdin) read as a stream of frames in the source's format."""

    def __init__(self, name: str, path: Path | None, fmt: SourceFormat, size: int | None) -> None:
        self.name = name
        self.path = path
        self.format = fmt
        self.size = size
        self._reader: _CountingReader | None = None
        self._csv: CSVFrames | None = None

    @property
    def position(self) -> int:
        return self._reader.position if self._reader else 0

    @property
    def header(self) -> tuple[bytes, bytes] | None:
        if self._csv is None or self._csv.header is None:
            return None
        return hashlib.sha256(self._csv.header).digest(), self._csv.header

    def frames(self) -> Iterator[Frame]:
        stream: BinaryIO
        if self.path is None:
            stream = sys.stdin.buffer
            yield from self._frames(stream)
            return
        try:
            stream = self.path.open("rb")
        except OSError as exc:
            raise InputError(f"cannot read {self.name}: {exc.strerror}") from None
        with stream:
            yield from self._frames(stream)

    def line_blocks(self, lines: int) -> Iterator[LineBlock] | None:
        """The input as blocks of whole lines, framed later (`block_frames`); None
        unless it is JSON Lines."""
        if self.format is not SourceFormat.JSONL:
            return None
        return self._line_blocks(lines)

    def _line_blocks(self, lines: int) -> Iterator[LineBlock]:
        if self.path is None:
            yield from self._blocks_of(sys.stdin.buffer, lines)
            return
        try:
            stream = self.path.open("rb")
        except OSError as exc:
            raise InputError(f"cannot read {self.name}: {exc.strerror}") from None
        with stream:
            yield from self._blocks_of(stream, lines)

    def _blocks_of(self, stream: BinaryIO, lines: int) -> Iterator[LineBlock]:
        reader = self._reader = _CountingReader(stream)
        yield from reader.line_blocks(lines)

    def _frames(self, stream: BinaryIO) -> Iterator[Frame]:
        reader = self._reader = _CountingReader(stream)
        if self.format is SourceFormat.JSONL:
            yield from jsonl_frames(reader.lines())
        elif self.format is SourceFormat.CSV:
            self._csv = CSVFrames(reader.lines())
            yield from self._csv
        else:
            key = "features" if self.format is SourceFormat.GEOJSON else None
            try:
                yield from json_frames(reader.chunks(), array_key=key)
            except JSONFrameError as exc:
                raise InputError(f"{self.name}: {exc}") from None


def open_inputs(paths: Sequence[str], fmt: SourceFormat) -> list[StreamInput]:
    """Check every path before anything is read, so a bad one writes nothing."""
    inputs = []
    for raw in paths:
        if raw == "-":
            inputs.append(StreamInput("<stdin>", None, fmt, None))
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
        inputs.append(StreamInput(raw, path, fmt, path.stat().st_size))
    if not inputs:
        raise InputError("no input files given")
    return inputs
