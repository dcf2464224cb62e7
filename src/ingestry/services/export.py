"""Export a source's or a convention's records as JSON Lines (one record per line, the
shape of `ingestry records list --json`), written through an atomic file port."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

import orjson

from ingestry.domain.provenance import source_to_dict
from ingestry.domain.records import Record

#: Called with the number of records written so far; may raise to stop the export.
ExportProgress = Callable[[int], None]


class LineSink(Protocol):
    def write(self, data: bytes) -> None: ...


#: Opens the destination; the file appears only when the block ends without error.
OpenSink = Callable[[], AbstractContextManager[LineSink]]


@dataclass(slots=True)
class ExportSummary:
    path: str
    convention: str
    source: str | None
    records: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def record_document(record: Record) -> dict[str, Any]:
    """A record as a JSON-able mapping (columns keep Decimal/date values for the encoder)."""
    return {
        "srn": record.srn,
        "convention": record.convention,
        "source": source_to_dict(record.source),
        "version": record.version,
        "published_at": record.published_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
        "data_source": record.data_source,
        "extractor_version": record.extractor_version,
        "raw_sha256": record.raw_sha256,
        "columns": dict(record.columns),
        "metadata": dict(record.metadata),
    }


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot serialize {type(value).__name__}")


def record_line(record: Record) -> bytes:
    return orjson.dumps(record_document(record), default=_default) + b"\n"


def export_records(
    records: Iterable[Record],
    open_sink: OpenSink,
    summary: ExportSummary,
    *,
    progress: ExportProgress | None = None,
    every: int = 1000,
) -> ExportSummary:
    started = time.perf_counter()
    with open_sink() as sink:
        for record in records:
            if summary.source is not None and record.data_source != summary.source:
                continue
            sink.write(record_line(record))
            summary.records += 1
            if progress is not None and summary.records % every == 0:
                progress(summary.records)
    summary.seconds = round(time.perf_counter() - started, 3)
    if progress is not None:
        progress(summary.records)
    return summary
