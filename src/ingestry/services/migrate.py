"""MigrateStrategy use case: a simple source becomes raw (never the reverse).

Every current record of the source gets a raw row synthesized from its content: the
record's metadata with each column read from a top-level path put back at that path
(canonical JSON, so migrating twice makes the same bytes and stores nothing new). It is
marked `synthesized`, received and processed at the migration time, and extracted again
on the spot with the source's extractor (so its entity type and source id are what a
replay will see). Only then is the config changed (see `adapters.config_file`).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ingestry.domain.clock import Clock, iso, utc_now
from ingestry.domain.conventions import ColumnType, Convention
from ingestry.domain.errors import IngestryError
from ingestry.domain.records import Record, upstream_of
from ingestry.domain.sources import DataSource, StorageStrategy
from ingestry.extract.compiler import Extractor
from ingestry.extract.jsonio import dumps
from ingestry.services.ports import RawRow, Storage
from ingestry.services.reextract import extract_stored

BATCH = 5000
ORIGIN = "strategy-migration"


class StrategyMigrationError(IngestryError):
    """A strategy change that ingestry refuses (raw → simple), or one with nothing to do."""


@dataclass(slots=True)
class MigrationSummary:
    source: str
    to: str
    records: int = 0
    raw_synthesized: int = 0
    failed: int = 0  # records whose synthesized payload the current extractor refuses
    migrated_at: str = ""
    config_written: bool = False
    config_change: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def refuse(source: DataSource, to: StorageStrategy) -> None:
    """Raise unless `source` may move to `to` (only simple → raw is allowed)."""
    if to is StorageStrategy.SIMPLE and source.is_raw:
        raise StrategyMigrationError(
            f"{source.name} is raw and cannot become simple: raw data is never demoted "
            "(its payloads may be all that is left of data that cannot be fetched again)"
        )
    if source.strategy is to:
        raise StrategyMigrationError(f"{source.name} is already {to.value}: nothing to migrate")


def synthesize_payload(convention: Convention, record: Record) -> bytes:
    """The record's content as one JSON document the source's extractor reads back."""
    doc: dict[str, Any] = dict(record.metadata)
    for column in convention.columns:
        value = record.columns.get(column.name)
        if len(column.path) == 1 and value is not None:
            doc[column.path[0]] = _json_value(column.type, value)
    return dumps(doc)


def _json_value(kind: ColumnType, value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal) or kind is ColumnType.DECIMAL:
        return str(value)
    return value


class StrategyMigrationService:
    def __init__(self, storage: Storage, *, clock: Clock = utc_now) -> None:
        self.storage = storage
        self.clock = clock

    def to_raw(self, source: DataSource, extractor: Extractor) -> MigrationSummary:
        refuse(source, StorageStrategy.RAW)
        at = iso(self.clock())
        summary = MigrationSummary(source.name, StorageStrategy.RAW.value, migrated_at=at)
        ops = self.storage.raw_operations()
        after: tuple[str, str, str] | None = None
        while True:
            records = ops.source_records(extractor.convention, source.name, after, BATCH)
            if not records:
                break
            rows = [self._raw_row(source, extractor, r, at, summary) for r in records]
            with ops.session() as session:
                summary.raw_synthesized += session.append_synthesized(rows)
            summary.records += len(records)
            last = records[-1].source
            after = (last.type, upstream_of(last), last.id)
        return summary

    def _raw_row(
        self,
        source: DataSource,
        extractor: Extractor,
        record: Record,
        at: str,
        summary: MigrationSummary,
    ) -> RawRow:
        payload = synthesize_payload(extractor.convention, record)
        found = extract_stored(extractor, payload, None, synthesized=True)
        entity, error = extractor.convention.name, None
        version = record.extractor_version or extractor.version
        if isinstance(found, str):
            summary.failed += 1
            error, version = found, extractor.version
        else:
            entity = found.draft.entity_type
        sha = hashlib.sha256(payload).digest()
        return (source.name, entity, record.source.id, sha, payload, None, at, at, version,
                error, None, ORIGIN)  # fmt: skip
