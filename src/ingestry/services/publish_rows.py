"""Published records (`publish_record`, `bulk_publish`, `update`) → record rows. Pure (no I/O).

A published record's identity comes from its provenance, and its declared columns are
read from its metadata by the convention's compiled extractor (the same code, the same
required-column and coercion rules as file ingest). Unlike a file payload, the metadata
is kept whole: the caller gave a document and gets the same document back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

from ingestry.domain.conventions import Convention
from ingestry.domain.errors import ExtractionError, InvalidSourceError
from ingestry.domain.provenance import (
    DepositionSource,
    ForkSource,
    HarvestSource,
    ImportSource,
    RecordSource,
    source_from_dict,
    source_to_dict,
)
from ingestry.domain.records import Record, upstream_of
from ingestry.domain.sources import DataSource, SourceFormat, StorageStrategy
from ingestry.extract.compiler import Extractor
from ingestry.extract.jsonio import DUMP_OPTS, NestingError, loads, too_deep
from ingestry.services.ports import RecordRow

#: Where the provenance id is put in the extractor's private copy of the metadata (a
#: key no document has), so the compiled id check applies to it unchanged.
ID_KEY = "\x1fingestry.id"

_SOURCES = (DepositionSource, HarvestSource, ForkSource, ImportSource)
_blake2b = hashlib.blake2b


def as_source(source: RecordSource | Mapping[str, Any]) -> RecordSource:
    """A provenance object, from itself or from its JSON shape (validated)."""
    if isinstance(source, _SOURCES):
        found: RecordSource = source
    elif isinstance(source, Mapping):
        found = source_from_dict(source)
    else:
        raise InvalidSourceError(
            f"source must be a RecordSource or a mapping, not {type(source).__name__}"
        )
    if not isinstance(found.id, str) or not found.id:
        raise InvalidSourceError(f"{found.type} provenance needs a non-empty string 'id'")
    return found


def _metadata_bytes(metadata: Mapping[str, Any]) -> bytes:
    if not isinstance(metadata, Mapping):
        raise ExtractionError(f"metadata must be a JSON object, not {type(metadata).__name__}")
    try:  # canonical JSON, as `extract.jsonio.dumps` writes it (equal content, equal hash)
        return orjson.dumps(metadata, option=DUMP_OPTS)
    except TypeError:
        if too_deep(metadata):
            raise ExtractionError(str(NestingError())) from None
    try:  # integers beyond 64 bits; anything else orjson refused fails here too
        return json.dumps(
            metadata, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ExtractionError(f"metadata is not JSON-serializable: {exc}") from None


def _jsonable(value: Any) -> Any:
    """A typed column value back in the JSON form its coercer reads."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


class PublishExtractor:
    """The convention's compiled extractor, fed with published metadata."""

    def __init__(self, convention: Convention) -> None:
        self.convention = convention
        source = DataSource(
            name=f"publish:{convention.name}",
            strategy=StorageStrategy.SIMPLE,
            convention=convention.name,
            rationale="records published through the API",
            format=SourceFormat.JSON,
            id_paths=((ID_KEY,),),
        )
        # a published document's floats are Python's: no source text to go back to
        self._extractor = Extractor(source, convention, source_text=False)
        self.version = self._extractor.version
        #: Columns read from a top-level key: what `update` carries over when absent.
        self._top_level = [
            (c.name, c.path[0])
            for c in convention.columns
            if len(c.path) == 1 and c.derived is None
        ]

    def row(
        self, source: RecordSource | Mapping[str, Any], metadata: Mapping[str, Any]
    ) -> RecordRow:
        """The row that publishes `metadata` under `source`; ExtractionError (or
        InvalidSourceError) says why it cannot."""
        provenance = as_source(source)
        meta = _metadata_bytes(metadata)
        doc = loads(meta)  # a private, JSON-typed copy for the extractor to consume
        doc[ID_KEY] = provenance.id
        return self._row(provenance, None, meta, self._extractor(doc).columns)

    def update_row(self, record: Record, metadata: Mapping[str, Any]) -> RecordRow:
        """The row that replaces `record`'s content with `metadata`. A column read from a
        top-level key that `metadata` lacks keeps its value (file ingest moves such keys
        out of the metadata into the column); send the key with null to clear it."""
        meta = _metadata_bytes(metadata)
        doc = loads(meta)
        for name, key in self._top_level:
            value = record.columns.get(name)
            if key not in doc and value is not None:
                doc[key] = _jsonable(value)
        doc[ID_KEY] = record.source.id
        columns = self._extractor(doc).columns
        return self._row(record.source, record.data_source, meta, columns)

    def import_row(
        self,
        source: RecordSource | Mapping[str, Any],
        data_source: str | None,
        metadata: Mapping[str, Any],
        columns: Mapping[str, Any],
        *,
        parsed: bool = False,
    ) -> RecordRow:
        """The row that imports an exported record: its metadata as it was, and the
        columns file ingest moved out of it (top-level keys) put back for the
        extractor, so the target derives the same columns from the same content.
        `parsed`: `metadata` is the caller's own, fresh from `jsonio.loads` (JSON types
        only), so a shallow copy is the extractor's private one (it only pops top-level
        keys; the canonical bytes are written first) instead of parsing those again."""
        provenance = as_source(source)
        meta = _metadata_bytes(metadata)
        doc = dict(metadata) if parsed else loads(meta)
        for name, key in self._top_level:
            value = columns.get(name)
            if key not in doc and value is not None:
                doc[key] = value
        doc[ID_KEY] = provenance.id
        return self._row(provenance, data_source, meta, self._extractor(doc).columns)

    def _row(
        self,
        source: RecordSource,
        data_source: str | None,
        meta: bytes,
        columns: tuple[Any, ...],
    ) -> RecordRow:
        content = _blake2b(orjson.dumps(columns) + b"\x1e" + meta, digest_size=16).digest()
        source_json = orjson.dumps(source_to_dict(source)).decode()
        return (
            source.type, source.id, source_json, data_source, meta.decode(), content,
            self.version, None, columns, upstream_of(source),
        )  # fmt: skip
