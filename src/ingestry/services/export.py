"""The JSON shape of a record (`records list --json`, a JSONL export, the API) and the
export summary; `export_run` writes the files, `export_cells` holds CSV/Parquet cells."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from ingestry.domain.provenance import source_to_dict
from ingestry.domain.records import Record
from ingestry.extract.portable import default, portable

#: Called with the number of records written so far; may raise to stop the export.
ExportProgress = Callable[[int], None]


@dataclass(slots=True)
class ExportSummary:
    """What an export wrote: `files` (paths, in the order written) and `records`
    (`payloads` for a raw bundle); `path` is the first file (the API job's result)."""

    path: str
    convention: str
    source: str | None
    records: int = 0
    seconds: float = 0.0
    format: str = "jsonl"
    files: list[str] = field(default_factory=list)
    #: the sidecar `{file}.manifest.json` naming the exporting node (`import --as-import`)
    manifest: str | None = None
    #: rows written: the records and their earlier versions (= records with
    #: `current_only`, or when no record was ever updated)
    versions: int = 0

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
        # only on a tombstone version (docs/deleting.md): live records read as before
        **({"deleted": record.deleted.as_dict()} if record.deleted is not None else {}),
    }


def record_line(record: Record) -> bytes:
    """A record as one JSON line: the shape of `records list --json` and of an export,
    byte for byte the same on SQLite and PostgreSQL (see `portable`)."""
    return orjson.dumps(portable(record_document(record)), default=default) + b"\n"
