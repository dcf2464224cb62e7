"""A source's raw payloads as a byte-exact bundle: every byte and every receipt.

The format is fixed in `docs/export.md` ("The raw bundle"): `{source}_raw.jsonl` (one
payload a line: base64 bytes, sha256, receipts), `{source}_raw_headers.jsonl` (the CSV
headers the rows point at) and `manifest.json` (counts and each file's sha256), the
manifest written last so a bundle without one is incomplete. Read in `(received_at,
id)` keyset batches through `RawOperations`: memory holds one batch."""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from ingestry.domain.clock import utc_now
from ingestry.services.export import ExportProgress
from ingestry.services.ports import (
    FileSink,
    OpenFile,
    RawOperations,
    RawWindow,
    StoredRaw,
    StoredReceipt,
)

FORMAT = "ingestry-raw-bundle"
FORMAT_VERSION = 1
BATCH = 2_000


@dataclass(slots=True)
class RawExportSummary:
    source: str
    convention: str
    files: list[str] = field(default_factory=list)
    payloads: int = 0
    receipts: int = 0
    headers: int = 0
    bytes: int = 0
    seconds: float = 0.0
    format: str = "raw"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def moment(text: str) -> str:
    """An ISO timestamp as the bundle writes it: UTC, `+00:00`, microseconds."""
    return datetime.fromisoformat(text).astimezone(UTC).isoformat(timespec="microseconds")


def _hex(value: bytes | None) -> str | None:
    return None if value is None else value.hex()


def receipt_document(receipt: StoredReceipt) -> dict[str, Any]:
    return {
        "run_srn": receipt.run_srn,
        "received_at": moment(receipt.received_at),
        "origin": receipt.origin,
        "line": receipt.line,
        "container": receipt.container,
        "container_sha256": _hex(receipt.container_sha256),
    }


def payload_document(
    source: str, row: StoredRaw, header_sha256: str | None, receipts: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "source": source,
        "entity_type": row.entity_type,
        "source_id": row.source_id,
        "sha256": row.sha256.hex(),
        "size": len(row.payload),
        "bytes": base64.b64encode(row.payload).decode("ascii"),
        "header_sha256": header_sha256,
        "received_at": moment(row.received_at),
        "extractor_version": row.extractor_version,
        "error": row.error,
        "line": row.line,
        "origin": row.origin,
        "synthesized": row.synthesized,
        "receipts": receipts,
    }


class _Hashed:
    """A sink that also counts and hashes what it writes (for the manifest)."""

    def __init__(self, sink: FileSink, name: str) -> None:
        self.sink, self.name = sink, name
        self.sha, self.size, self.lines = hashlib.sha256(), 0, 0

    def line(self, document: dict[str, Any]) -> None:
        data = orjson.dumps(document) + b"\n"
        self.sink.write(data)
        self.sha.update(data)
        self.size += len(data)
        self.lines += 1

    def entry(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha.hexdigest(), "size": self.size,
                "lines": self.lines}  # fmt: skip


@dataclass(frozen=True, slots=True)
class RawExport:
    source: str
    convention: str
    window: RawWindow
    directory: Path
    #: the exporting store's node id (in the manifest)
    node_id: str | None = None


def export_raw(
    job: RawExport,
    raw: RawOperations,
    open_file: OpenFile,
    *,
    progress: ExportProgress | None = None,
    batch: int = BATCH,
) -> RawExportSummary:
    """Write the bundle; returns where, and how many payloads and receipts."""
    started = time.perf_counter()
    summary = RawExportSummary(job.source, job.convention)
    headers: dict[bytes, bytes] = {}  # distinct CSV headers: a few per source
    entity_types: set[str] = set()
    names = (f"{job.source}_raw.jsonl", f"{job.source}_raw_headers.jsonl", "manifest.json")
    with open_file(job.directory, names[0]) as sink:
        out = _Hashed(sink, names[0])
        after: tuple[str, int] | None = None
        while rows := raw.window_batch(job.window, after, batch):
            after = (rows[-1].received_at, rows[-1].id)
            receipts: dict[int, list[dict[str, Any]]] = {}
            for receipt in raw.receipts([r.id for r in rows]):
                receipts.setdefault(receipt.raw_id, []).append(receipt_document(receipt))
            for row in rows:
                header_sha = None
                if row.header is not None:
                    digest = hashlib.sha256(row.header).digest()
                    headers.setdefault(digest, row.header)
                    header_sha = digest.hex()
                mine = receipts.get(row.id, [])
                out.line(payload_document(job.source, row, header_sha, mine))
                entity_types.add(row.entity_type)
                summary.payloads += 1
                summary.receipts += len(mine)
                summary.bytes += len(row.payload)
            if progress is not None:
                progress(summary.payloads)
    with open_file(job.directory, names[1]) as sink:
        head = _Hashed(sink, names[1])
        for digest, header in headers.items():
            head.line({"sha256": digest.hex(), "bytes": base64.b64encode(header).decode()})
    summary.headers = len(headers)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "source": job.source,
        "convention": job.convention,
        "node_id": job.node_id,
        "entity_types": sorted(entity_types),
        "exported_at": utc_now().isoformat(),
        "window": {"since": job.window.since, "until": job.window.until},
        "payloads": summary.payloads,
        "receipts": summary.receipts,
        "headers": summary.headers,
        "bytes": summary.bytes,
        "files": [out.entry(), head.entry()],
    }
    with open_file(job.directory, names[2]) as sink:
        sink.write(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
    summary.files = [str(job.directory / n) for n in names]
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary
