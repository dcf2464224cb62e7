"""The Input port: a named stream of frames (file, stdin, HTTP body) with progress."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ingestry.domain.sources import DataSource, SourceFormat
from ingestry.extract.framing import Frame, LineBlock


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """What an input needs to know of its source to frame it (files, stdin, bodies)."""

    format: SourceFormat = SourceFormat.JSONL
    #: CSV: columns the header must name (the id's), or the file is refused whole
    required_columns: tuple[str, ...] = ()

    @classmethod
    def of(cls, source: DataSource) -> ReadOptions:
        # a Python extractor may make the id from anything: only declared ids are checked
        ids = () if source.extractor else tuple(dict.fromkeys(p[0] for p in source.id_paths))
        required = ids if source.format is SourceFormat.CSV else ()
        return cls(source.format, required)


class Input(Protocol):
    """Where frames come from; adapters open files, the API wraps request bodies."""

    name: str
    size: int | None  # bytes in all, when known (drives the progress bar)

    def frames(self) -> Iterator[Frame]: ...

    @property
    def header(self) -> tuple[bytes, bytes] | None:
        """(sha256, exact bytes) of a CSV header once read, else None."""
        ...

    @property
    def position(self) -> int:
        """Bytes consumed so far."""
        ...


@runtime_checkable
class BlockInput(Protocol):
    """An input that can also hand out whole lines in blocks, to be framed by the
    preparation workers instead of the reading process (JSON Lines files)."""

    def line_blocks(self, lines: int) -> Iterator[tuple[LineBlock, int]] | None:
        """Blocks of `lines` lines with their line counts, or None when this input is
        not line-framed."""
        ...
