"""`ingestry import PATH`: load a records export (JSON Lines in the shape of
`records list --json`) into this store.

By default a record keeps its provenance, so its srn, its data source, its metadata
and its columns are those of the exporting store (moving a store). With `as_import`
(`--as-import [NODE]`) each record is published with `import` provenance instead:
`source_node` the exporting node (the one given, else the one each file's manifest
names: `nodes`), `id` the original srn. Either way the records go
through the publish path's upsert, so importing the same export twice changes
nothing (all unchanged). Lines are read in order and published in batches of one
convention each.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ingestry.domain.errors import IngestryError
from ingestry.domain.provenance import ImportSource, RecordSource
from ingestry.extract.jsonio import loads
from ingestry.services.publish import ImportItem, PublishService, PublishSummary

#: Records per publish call (each writes in its own batches and transactions).
CHUNK = 5000

#: (file name, line number, the line's bytes)
Line = tuple[str, int, bytes]


@dataclass(slots=True)
class ImportSummary:
    path: str
    records_created: int = 0
    records_updated: int = 0
    records_unchanged: int = 0
    raw_stored: int = 0
    raw_duplicates: int = 0
    received: int = 0
    rejected: int = 0
    #: raw bundle payloads kept in quarantine (bytes kept; see `quarantine list`)
    quarantined: int = 0
    errors: list[str] = field(default_factory=list)
    conventions: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "records_created": self.records_created,
            "records_updated": self.records_updated,
            "records_unchanged": self.records_unchanged,
            "raw_stored": self.raw_stored,
            "raw_duplicates": self.raw_duplicates,
            "received": self.received,
            "rejected": self.rejected,
            "quarantined": self.quarantined,
            "errors": self.errors,
            "conventions": self.conventions,
            "seconds": self.seconds,
        }


def _item(data: Any, node: str | None) -> tuple[str, ImportItem]:
    """(convention, import item) of one exported record; ValueError/KeyError if not one."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    convention, srn = data["convention"], data["srn"]
    metadata, columns = data.get("metadata") or {}, data.get("columns") or {}
    if not isinstance(convention, str) or not isinstance(srn, str):
        raise ValueError("'convention' and 'srn' must be text")
    if not isinstance(metadata, dict) or not isinstance(columns, dict):
        raise ValueError("'metadata' and 'columns' must be objects")
    if node is not None:
        source: RecordSource | dict[str, Any] = ImportSource(id=srn, source_node=node)
        return convention, (source, None, metadata, columns)
    return convention, (data["source"], data.get("data_source"), metadata, columns)


class ImportService:
    def __init__(self, publisher: PublishService) -> None:
        self.publisher = publisher

    def import_lines(
        self,
        path: str,
        lines: Iterable[Line],
        *,
        as_import: str | None = None,
        nodes: Mapping[str, str] | None = None,
    ) -> ImportSummary:
        """`as_import`: one node for every line; `nodes`: per file name (its manifest's)."""
        started = time.perf_counter()
        summary = ImportSummary(path)
        for convention, chunk in self._chunks(lines, summary, as_import, nodes or {}):
            where = [origin for origin, _ in chunk]
            try:
                done = self.publisher.import_records(convention, [item for _, item in chunk])
            except IngestryError as exc:  # an unknown convention: the whole chunk
                summary.rejected += len(chunk)
                summary.errors.append(f"{where[0]}: {exc}")
                continue
            self._count(summary, done, where)
            if convention not in summary.conventions:
                summary.conventions.append(convention)
        summary.seconds = round(time.perf_counter() - started, 3)
        return summary

    def _chunks(
        self,
        lines: Iterable[Line],
        summary: ImportSummary,
        node: str | None,
        nodes: Mapping[str, str],
    ) -> Iterator[tuple[str, list[tuple[str, ImportItem]]]]:
        current: str | None = None
        chunk: list[tuple[str, ImportItem]] = []
        for name, number, data in lines:
            if not data.strip():
                continue
            summary.received += 1
            where = f"{name} line {number}"
            try:
                convention, item = _item(loads(data), nodes.get(name, node))
            except (IngestryError, ValueError, KeyError, TypeError) as exc:
                summary.rejected += 1
                summary.errors.append(f"{where}: not an exported record ({exc!s})")
                continue
            if chunk and (convention != current or len(chunk) >= CHUNK):
                yield current or "", chunk
                chunk = []
            current = convention
            chunk.append((where, item))
        if chunk:
            yield current or "", chunk

    @staticmethod
    def _count(summary: ImportSummary, done: PublishSummary, where: list[str]) -> None:
        summary.records_created += done.created
        summary.records_updated += done.updated
        summary.records_unchanged += done.unchanged
        summary.rejected += done.rejected
        summary.errors += [f"{where[e.index]}: {e.reason}" for e in done.errors]
