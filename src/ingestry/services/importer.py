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

Version history: an export writes each record's earlier versions just before it,
oldest first (lines of one srn in a row). Those are published in order, one version
per batch "layer" (a batch holds each srn once: the publish path keeps only the last
line of an id within a batch), so a fresh store numbers them 1, 2, 3 as the exporting
store did (a version exists only where content changed, so each line is an update).
An earlier version the target already holds (its current version is that one or
later) is skipped: importing twice changes nothing. With `as_import` only the
current version of each record is published (import provenance has no history).

Lines are parsed, and their rows built (`PublishExtractor.import_row`: canonical
metadata, columns, content hash), a block of lines at a time by `parse_block`: inline,
or for a large export in worker processes (`ProcessMap.ordered`, as a file ingest
prepares its batches) while this process only orders, publishes and writes. Blocks
come back in file order, so everything above holds either way, and a bad line is
reported with its file and line number wherever it was parsed.

Deletions (`export --include-deleted`): a tombstone's line carries `deleted` (who,
when, why) and the record's last content. Its content is published as any line
(nothing changes when the version before it was imported; a record the target lacks
is created from it), then the record is soft-deleted in the target with the
exported who/when/why, so the tombstone gets the version number it had. Deleting a
deleted record changes nothing: importing twice stays idempotent.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ingestry.domain.deletion import DeletionDraft
from ingestry.domain.errors import IngestryError
from ingestry.services.import_lines import (
    Block as Block,
)
from ingestry.services.import_lines import (
    BlockMap as BlockMap,
)
from ingestry.services.import_lines import (
    Line as Line,
)
from ingestry.services.import_lines import (
    Parsed as Parsed,
)
from ingestry.services.import_lines import (
    ParsedBlock as ParsedBlock,
)
from ingestry.services.import_lines import (
    parse_block as parse_block,
)
from ingestry.services.ports import RecordRow
from ingestry.services.publish import PublishService, PublishSummary
from ingestry.services.writemode import gc_paused

#: Records per publish call (each writes in its own batches and transactions, as many
#: rows a transaction as the storage asks for: `PublishService.import_rows_per_commit`).
CHUNK = 20_000


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
    #: records soft-deleted in the target (tombstones of an `--include-deleted` export)
    records_deleted: int = 0
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
            "records_deleted": self.records_deleted,
            "errors": self.errors,
            "conventions": self.conventions,
            "seconds": self.seconds,
        }


class Entry(NamedTuple):
    """One exported line: where it was, its record's srn and version, what to publish
    (a tuple: a million of them are made for a million lines)."""

    file: str
    line: int
    srn: str
    version: int
    #: the row to publish, the reason it cannot be, or None (an unknown convention)
    row: RecordRow | str | None
    #: the exported (published_at, updated_at), normalized; None when the line has none
    times: tuple[str, str] | None = None
    #: a tombstone's who/when/why (the line's `deleted`); None for content
    deleted: DeletionDraft | None = None

    @property
    def where(self) -> str:
        return f"{self.file} line {self.line}"


#: The current version a store holds of (convention, srn); None when it has no record.
CurrentVersion = Callable[[str, str], int | None]
#: Soft-delete (convention, srn) as the draft says: True when a tombstone was written,
#: False when the record was deleted already, None when there is no such record.
Delete = Callable[[str, str, DeletionDraft], bool | None]


class ImportService:
    def __init__(
        self,
        publisher: PublishService,
        current_version: CurrentVersion | None = None,
        delete: Delete | None = None,
    ) -> None:
        self.publisher = publisher
        self.current_version = current_version
        #: None: tombstones are imported as content (the mark is ignored)
        self.delete = delete
        self.keep_times = True

    def import_lines(
        self,
        path: str,
        lines: Iterable[Line],
        *,
        as_import: str | None = None,
        nodes: Mapping[str, str] | None = None,
    ) -> ImportSummary:
        """`import_blocks` of single lines, parsed here."""
        blocks = ((name, number, data) for name, number, data in lines)
        return self.import_blocks(path, blocks, as_import=as_import, nodes=nodes)

    def import_blocks(
        self,
        path: str,
        blocks: Iterable[Block],
        *,
        as_import: str | None = None,
        nodes: Mapping[str, str] | None = None,
        parallel: BlockMap | None = None,
    ) -> ImportSummary:
        """`as_import`: one node for every line; `nodes`: per file name (its manifest's);
        `parallel`: where blocks are parsed (inline when None)."""
        started = time.perf_counter()
        summary = ImportSummary(path)
        republish = as_import is not None or bool(nodes)
        # import provenance starts its own history, at the import's time
        self.keep_times = not republish
        parse = functools.partial(parse_block, self.publisher.extractor, as_import, nodes or {})
        parsed = (parallel or map)(parse, blocks)
        try:
            # the blocks unmarshal into millions of short-lived, cycle-free tuples
            with gc_paused():
                for convention, chunk in self._chunks(parsed, summary):
                    for layer in _layers(self._history(convention, chunk, republish, summary)):
                        self._publish(convention, layer, summary)
                    if convention not in summary.conventions:
                        summary.conventions.append(convention)
        finally:
            if isinstance(parsed, Generator):  # workers: shut down now, even on an error
                parsed.close()
        summary.seconds = round(time.perf_counter() - started, 3)
        return summary

    def _publish(self, convention: str, layer: list[Entry], summary: ImportSummary) -> None:
        tombstones = [e for e in layer if e.deleted is not None] if self.delete else []
        if not tombstones:
            self._publish_content(convention, layer, summary)
            return
        self._publish_content(convention, [e for e in layer if e.deleted is None], summary)
        # a tombstone's content only creates a record the target lacks (published over
        # a record the target holds, deleted or not, it would be a new version)
        missing = [e for e in tombstones if self._version(convention, e.srn) is None]
        done = self._publish_content(convention, missing, ImportSummary(summary.path))
        summary.records_created += done.records_created
        summary.records_updated += done.records_updated
        summary.rejected += done.rejected
        summary.errors += done.errors
        if missing and done.rejected == len(missing) == len(tombstones):
            return  # not one could be published (an unknown convention): said so
        assert self.delete is not None
        for entry in tombstones:
            assert entry.deleted is not None
            try:
                written = self.delete(convention, entry.srn, entry.deleted)
            except IngestryError as exc:
                summary.rejected += 1
                summary.errors.append(f"{entry.where}: {exc}")
                continue
            if written:
                summary.records_deleted += 1
            elif written is False:
                summary.records_unchanged += 1

    def _publish_content(
        self, convention: str, layer: list[Entry], summary: ImportSummary
    ) -> ImportSummary:
        if not layer:
            return summary
        rows = [e.row for e in layer]
        try:
            if self.keep_times and any(e.times for e in layer):
                done = self.publisher.import_rows(convention, rows, times=[e.times for e in layer])
            else:
                done = self.publisher.import_rows(convention, rows)
        except IngestryError as exc:  # an unknown convention: the whole layer
            summary.rejected += len(layer)
            summary.errors.append(f"{layer[0].where}: {exc}")
            return summary
        self._count(summary, done, layer)
        return summary

    def _history(
        self, convention: str, chunk: list[Entry], republish: bool, summary: ImportSummary
    ) -> list[Entry]:
        """The chunk without the earlier versions the target holds already (or, with
        `--as-import`, without any earlier version); skipped lines count unchanged."""
        if len({e.srn for e in chunk}) == len(chunk):
            return chunk  # no record with more than one line (most chunks)
        keep: list[Entry] = []
        for index, entry in enumerate(chunk):
            later = index + 1 < len(chunk) and chunk[index + 1].srn == entry.srn
            if later and (republish or self._held(convention, entry)):
                summary.records_unchanged += not republish
                continue
            keep.append(entry)
        return keep

    def _held(self, convention: str, entry: Entry) -> bool:
        current = self._version(convention, entry.srn)
        return current is not None and current >= entry.version

    def _version(self, convention: str, srn: str) -> int | None:
        """The target's current version of `srn` (a tombstone's too); None when it has
        no such record or cannot say."""
        if self.current_version is None:
            return None
        try:
            return self.current_version(convention, srn)
        except IngestryError:  # an unknown convention: the publish says so
            return None

    def _chunks(
        self, blocks: Iterable[ParsedBlock], summary: ImportSummary
    ) -> Iterator[tuple[str, list[Entry]]]:
        """Parsed lines in chunks of one convention, a record's versions never split."""
        current: str | None = None
        chunk: list[Entry] = []
        for name, lines in blocks:
            for line in lines:
                summary.received += 1
                if len(line) == 2:
                    summary.rejected += 1
                    summary.errors.append(f"{name} line {line[0]}: {line[1]}")
                    continue
                number, convention, srn, version, times, deleted, row = line
                if chunk and (
                    convention != current or (len(chunk) >= CHUNK and chunk[-1].srn != srn)
                ):
                    yield current or "", chunk
                    chunk = []
                current = convention
                draft = None if deleted is None else DeletionDraft(*deleted)
                chunk.append(Entry(name, number, srn, version, row, times, draft))
        if chunk:
            yield current or "", chunk

    @staticmethod
    def _count(summary: ImportSummary, done: PublishSummary, layer: list[Entry]) -> None:
        summary.records_created += done.created
        summary.records_updated += done.updated
        summary.records_unchanged += done.unchanged
        summary.rejected += done.rejected
        summary.errors += [f"{layer[e.index].where}: {e.reason}" for e in done.errors]


def _layers(entries: list[Entry]) -> Iterator[list[Entry]]:
    """Batches holding each srn at most once, in order: the first line of every srn,
    then the second..., so a record's versions are published oldest first."""
    if len({e.srn for e in entries}) == len(entries):
        yield entries  # one layer: no srn twice
        return
    layers: list[list[Entry]] = []
    seen: dict[str, int] = {}
    for entry in entries:
        depth = seen.get(entry.srn, 0)
        seen[entry.srn] = depth + 1
        if depth == len(layers):
            layers.append([])
        layers[depth].append(entry)
    yield from layers
