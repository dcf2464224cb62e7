"""The JSON shape of a record (`records list --json`, a JSONL export, the API) and the
export summary; `export_run` writes the files, `export_cells` holds CSV/Parquet cells."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

from ingestry.domain.provenance import source_to_dict
from ingestry.domain.records import Record
from ingestry.extract.decimals import spell

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
        return spell(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot serialize {type(value).__name__}")


_INT_RANGE = range(-(2**63), 2**64)  # what orjson writes itself


def portable(value: Any) -> Any:
    """`value` with its numbers spelled as PostgreSQL prints them, so a record renders
    to the same bytes whichever backend it was read from: jsonb keeps numbers as
    `numeric`, so a float written `1e16` comes back from PostgreSQL as the integer
    10000000000000000 while SQLite gives the float back. Every float is therefore
    written in positional notation (`1e16` -> 10000000000000000, `1e-7` -> 0.0000001,
    no negative zero), which is the integer PostgreSQL returns where the value is
    integral; integers beyond 64 bits are written exactly (orjson refuses them)."""
    kind = type(value)
    if kind is dict:
        return {k: portable(v) for k, v in value.items()}
    if kind is list:
        return [portable(v) for v in value]
    if kind is float:
        if not math.isfinite(value):
            return None
        return orjson.Fragment(spell(Decimal(repr(value))).encode())
    if kind is int and value not in _INT_RANGE:
        return orjson.Fragment(str(value).encode())
    return value


def record_line(record: Record) -> bytes:
    """A record as one JSON line: the shape of `records list --json` and of an export,
    byte for byte the same on SQLite and PostgreSQL (see `portable`)."""
    return orjson.dumps(portable(record_document(record)), default=_default) + b"\n"


def json_text(value: Any) -> str:
    """`value` as JSON text, numbers exact and spelled alike from either backend."""
    return orjson.dumps(portable(value), default=_default).decode()
