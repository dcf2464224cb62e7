"""Export records of a source or a convention as JSON Lines, CSV or Parquet.

One pass over the records (a streaming keyset read), in batches: each batch becomes
lines or one Parquet row group, so memory holds one batch whatever the export's size.
The file is named at the end, once the records' time range is known
(`{source}_{entity}_{start}_{end}.{ext}`), and appears only when complete."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from ingestry.domain.clock import iso, utc_now
from ingestry.domain.conventions import Convention
from ingestry.domain.deletion import Deletion
from ingestry.domain.records import Record
from ingestry.services import export_cells as cells
from ingestry.services.export import ExportProgress, ExportSummary
from ingestry.services.ports import OpenColumns, OpenFile

FORMATS = ("jsonl", "csv", "parquet")
#: Rows per Parquet row group, gathered as plain cells (far smaller than records).
ROW_GROUP = 10_000


@dataclass(frozen=True, slots=True)
class ExportFiles:
    """Where export files go (adapters, wired by bootstrap)."""

    open_file: OpenFile
    open_columns: OpenColumns


#: A page of a column scan: one list per name asked for.
Page = list[list[Any]]


@dataclass(frozen=True, slots=True)
class RecordExport:
    """What to export: `scan(names)` streams the (filtered) records' columns in identity
    order, a page at a time (`Storage.scan_columns`: no Record object per row)."""

    convention: Convention
    label: str  # the source's name, or the convention's for a whole convention
    source: str | None
    format: str
    directory: Path
    scan: Callable[[Sequence[str]], Iterable[Page]]
    #: decimal columns' widest (digits before, after the point) over the convention's
    #: records (a superset of the export's: every value fits); None: read the records
    decimal_shapes: Callable[[list[str]], dict[str, tuple[int, int]]] | None = None
    #: the exporting store's node id, written to the sidecar manifest (None: no manifest)
    node_id: str | None = None
    #: the earlier versions of these srns (`Storage.earlier_versions`): written before
    #: each record, oldest first (the version history); None: current versions only
    history: Callable[[Sequence[str]], dict[str, list[Record]]] | None = None
    #: `include_deleted`: which (srn, version) are tombstones (`tombstones` of the
    #: deletion port); each row then carries a `deleted` cell (JSON text or None) last.
    #: None: the scan leaves deleted records out and no row has the cell
    deletions: Callable[[Sequence[tuple[str, int]]], Mapping[tuple[str, int], Deletion]] | None = (
        None
    )


def stamp(moment: datetime | None) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ") if moment is not None else "empty"


class _Range:
    """The records' published_at range, for the file name."""

    def __init__(self) -> None:
        self.start: datetime | None = None
        self.end: datetime | None = None

    def see(self, published: Sequence[datetime]) -> None:
        low, high = min(published), max(published)
        self.start = low if self.start is None else min(self.start, low)
        self.end = high if self.end is None else max(self.end, high)

    def name(self, job: RecordExport) -> str:
        return f"{job.label}_{job.convention.name}_{stamp(self.start)}_{stamp(self.end)}"


def export_records(
    job: RecordExport,
    files: ExportFiles,
    *,
    progress: ExportProgress | None = None,
) -> ExportSummary:
    """Write the export's one file; returns the summary (files, records, seconds)."""
    started = time.perf_counter()
    summary = ExportSummary("", job.convention.name, job.source, format=job.format)
    span = _Range()
    names = cells.export_names(job.convention)
    published = names.index("published_at")
    version = names.index("version")

    def counted() -> Iterator[Page]:
        for page in job.scan(names):
            if not page[0]:
                continue
            records = len(page[0])
            # only a record past version 1 has earlier versions: a page of first
            # versions (a store never updated) asks the database nothing
            later = [srn for srn, v in zip(page[0], page[version], strict=True) if v > 1]
            if job.history is not None and later:
                page = with_history(page, job.history(later), names)
            span.see(page[published])
            if job.deletions is not None:
                page = [*page, deleted_cells(page[0], page[version], job.deletions)]
            yield page
            summary.records += records
            summary.versions += len(page[0])
            if progress is not None:
                progress(summary.records)

    if job.format == "parquet":
        name = _parquet(job, files, counted(), span)
    else:
        name = _lines(job, files, counted(), span)
    summary.path = str(job.directory / name)
    summary.files = [summary.path]
    if job.node_id is not None:
        summary.manifest = str(job.directory / _manifest(job, files, name, summary.records))
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


#: `format` of a records export's sidecar manifest (`{file}.manifest.json`)
RECORDS_EXPORT = "ingestry-records-export"


def _manifest(job: RecordExport, files: ExportFiles, name: str, records: int) -> str:
    """Write `{name}.manifest.json` (after the data file is whole): the node that
    exported it, so `import --as-import` knows the `source_node` without being told."""
    manifest = {
        "format": RECORDS_EXPORT,
        "format_version": 1,
        "node_id": job.node_id,
        "file": name,
        "format_of_file": job.format,
        "convention": job.convention.name,
        "source": job.source,
        "records": records,
        "exported_at": iso(utc_now()),
    }
    path = f"{name}.manifest.json"
    with files.open_file(job.directory, path) as sink:
        sink.write(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
    return path


def with_history(page: Page, earlier: dict[str, list[Record]], names: Sequence[str]) -> Page:
    """The page with each record's earlier versions before it, oldest first (`srn` is
    the page's first column); the page itself when none has any."""
    if not earlier:
        return page
    rows: list[Sequence[Any]] = []
    for row in zip(*page, strict=True):
        rows += [cells.record_cells(r, names) for r in earlier.get(row[0], ())]
        rows.append(row)
    return [list(column) for column in zip(*rows, strict=True)]


def deleted_cells(
    srns: Sequence[str],
    versions: Sequence[int],
    deletions: Callable[[Sequence[tuple[str, int]]], Mapping[tuple[str, int], Deletion]],
) -> list[str | None]:
    """The `deleted` cell of each row: who/when/why of a tombstone version as JSON text
    (`Deletion.as_dict`), None for content."""
    found = deletions(list(zip(srns, versions, strict=True)))
    if not found:
        return [None] * len(srns)
    return [
        None if d is None else orjson.dumps(d.as_dict()).decode()
        for d in (found.get(key) for key in zip(srns, versions, strict=True))
    ]


def _lines(job: RecordExport, files: ExportFiles, pages: Iterator[Page], span: _Range) -> str:
    marked = job.deletions is not None
    with files.open_file(job.directory, f"{job.label}.{job.format}") as sink:
        if job.format == "csv":
            sink.write(cells.csv_header(job.convention, deleted=marked))
        for page in pages:
            marks = page[-1] if marked else None
            rows = page[:-1] if marked else page
            if job.format == "csv":
                sink.write(cells.csv_rows(job.convention, rows, marks))
            else:
                sink.write(b"".join(cells.json_lines(job.convention, rows, marks)))
        name = f"{span.name(job)}.{job.format}"
        sink.rename(name)
    return name


def _parquet(job: RecordExport, files: ExportFiles, pages: Iterator[Page], span: _Range) -> str:
    shapes: dict[str, tuple[int, int]] = {}
    undeclared = cells.undeclared_decimals(job.convention)
    if undeclared and job.decimal_shapes is not None:  # one aggregate in the database
        shapes = job.decimal_shapes(undeclared)
    elif undeclared:  # the largest value's shape: one read ahead of the write
        for page in job.scan(["srn", *undeclared]):
            cells.widen_page(shapes, undeclared, page)
    columns = cells.parquet_columns(job.convention, shapes)
    if job.deletions is not None:
        columns.append(cells.DELETED)
    with files.open_columns(job.directory, f"{job.label}.parquet", columns) as sink:
        pending: list[list[Any]] = [[] for _ in columns]
        for page in pages:
            for held, more in zip(pending, cells.parquet_page(columns, page), strict=True):
                held += more
            if len(pending[0]) >= ROW_GROUP:
                sink.write(pending)
                pending = [[] for _ in columns]
        if pending[0]:
            sink.write(pending)
        name = f"{span.name(job)}.parquet"
        sink.rename(name)
    return name
