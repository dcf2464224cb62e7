"""Export files: where an export's bytes and Parquet batches go.

A file appears under its final name only when its block ends without error (written
beside it and renamed), and the service names it at the end, once it knows the
records' time range (`{source}_{entity}_{start}_{end}.parquet`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, NamedTuple, Protocol


class ExportColumn(NamedTuple):
    """A typed column of a Parquet export. `kind` is one of `string`, `int64`,
    `float64`, `bool`, `timestamp` (microseconds, UTC), `date`, `decimal`
    (`precision`, `scale`), `geometry` (WKB bytes; GeoParquet metadata, CRS84)."""

    name: str
    kind: str
    precision: int | None = None
    scale: int | None = None


class FileSink(Protocol):
    """Bytes of one export file (JSON Lines, CSV, a raw bundle's file)."""

    def write(self, data: bytes) -> None: ...

    def rename(self, name: str) -> None:
        """The file's final name in its directory (before the block ends)."""
        ...


class ColumnSink(Protocol):
    """Row groups of one Parquet file: each `write` is a batch, one list per column
    (in the order of the columns it was opened with), values already checked to fit."""

    def write(self, columns: Sequence[Sequence[Any]]) -> None: ...

    def rename(self, name: str) -> None: ...


#: Opens `directory/name` for bytes; the file appears (under its final name) only
#: when the block ends without error.
OpenFile = Callable[[Path, str], AbstractContextManager[FileSink]]

#: Opens a Parquet file with these columns, atomic as `OpenFile`.
OpenColumns = Callable[[Path, str, Sequence[ExportColumn]], AbstractContextManager[ColumnSink]]
