"""How adapters read a source's data (see `services.inputs`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, runtime_checkable

from ingestry.domain.errors import InputError
from ingestry.domain.reading import Reading
from ingestry.domain.sources import DEFAULT_MAX_LINE_BYTES, DataSource, SourceFormat
from ingestry.extract.framing import Frame, LineBlock


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """What an input needs to know of its source to frame it (files, stdin, bodies)."""

    format: SourceFormat = SourceFormat.JSONL
    #: CSV: columns the header must name (the id's), or the file is refused whole
    required_columns: tuple[str, ...] = ()
    #: the longest line held in memory and parsed (see `DataSource.max_line_bytes`)
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    #: dialect, encoding, records_path, sheet (see `domain.reading`)
    reading: Reading = field(default_factory=Reading)

    @classmethod
    def of(cls, source: DataSource) -> ReadOptions:
        # a Python extractor may make the id from anything: only declared ids are checked
        ids = () if source.extractor else tuple(dict.fromkeys(p[0] for p in source.id_paths))
        tables = (SourceFormat.CSV, SourceFormat.PARQUET, SourceFormat.XLSX)
        required = ids if source.format in tables else ()
        return cls(source.format, required, source.max_line_bytes, source.reading)


#: The bytes of a spilled payload, in order, read again from where they were received
#: (raises InputError if they changed since: a file rewritten during the ingest).
Chunks = Callable[[], Iterator[bytes]]


class Spilled(NamedTuple):
    """A payload too long to hold: quarantined with `reason`; the storage streams its
    bytes from `chunks` (length and sha256 known from the first read)."""

    line: int
    length: int
    sha256: bytes
    reason: str
    chunks: Chunks


class UnframeableError(InputError):
    """A JSON document that does not frame (ends early, is not an array or object, has
    content after it). A simple source refuses the file; a raw source keeps it whole as
    one quarantined payload (`WholeDocument.whole`)."""

    def __init__(self, source: object, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.input = source
        self.reason = reason


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
    preparation workers instead of the reading process (JSON Lines and CSV files)."""

    def line_blocks(self, lines: int) -> Iterator[tuple[list[Frame] | LineBlock, int]] | None:
        """Blocks of `lines` lines with their line counts (or frames, where the input
        found it cannot be cut), or None when this input is not line-framed."""
        ...


@runtime_checkable
class SpillingInput(Protocol):
    """An input that leaves payloads too long to hold out of its frames."""

    @property
    def spilled(self) -> list[Spilled]:
        """The payloads left out so far (complete once the frames are exhausted)."""
        ...


@runtime_checkable
class WholeDocument(Protocol):
    """An input whose whole content can stand in as one quarantined payload."""

    def whole(self, reason: str) -> Input:
        """The same bytes as one payload failing with `reason` (a frame with an error,
        or a `Spilled` payload when longer than `max_line_bytes`)."""
        ...


@runtime_checkable
class DescribedInput(Protocol):
    """An input that says what reading it decided or found (encoding used, delimiter,
    the compressed container's sha256): kept in the run summary's `inputs`."""

    def describe(self) -> dict[str, Any] | None: ...


@runtime_checkable
class ContainedInput(Protocol):
    """An input read out of a compressed file: its receipts name the file and its sha256."""

    def container_of(self) -> tuple[str, bytes] | None: ...
