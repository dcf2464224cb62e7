"""Extract stored payloads again: the pure step of replay and quarantine replay.

A stored payload is extracted exactly as ingest extracted it when it arrived: a CSV row
is re-read with its header's bytes, anything else is parsed as JSON. A synthesized
payload (made from a record when a simple source became raw) is always JSON.
Failures carry the same reasons ingest gives.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

from ingestry.domain.errors import ExtractionError
from ingestry.domain.sources import SourceFormat
from ingestry.extract.compiler import Draft, Extractor
from ingestry.extract.csvframes import csv_row_from_bytes
from ingestry.extract.framing import line_too_long
from ingestry.extract.jsonio import dumps
from ingestry.services.batch import reason_of

_blake2b = hashlib.blake2b


class Extracted(NamedTuple):
    draft: Draft
    metadata: bytes  # canonical JSON
    content_hash: bytes


def extract_stored(
    extractor: Extractor, payload: bytes, header: bytes | None, *, synthesized: bool = False
) -> Extracted | str:
    """The draft of a stored payload, or the reason it fails. A payload longer than the
    source's `max_line_bytes` is not parsed (ingest never parsed it either)."""
    source = extractor.source
    if len(payload) > source.max_line_bytes:
        what = "line" if source.format is SourceFormat.JSONL else "payload"
        return line_too_long(len(payload), source.max_line_bytes, what)
    row = None
    if extractor.source.format is SourceFormat.CSV and not synthesized:
        if header is None:
            return "no CSV header stored for this row"
        try:
            row = csv_row_from_bytes(header, payload, source.reading)
        except ValueError as exc:  # the reasons ingest's framing gives
            return str(exc)
    try:
        draft = extractor(row) if row is not None else extractor.parse(payload)
        metadata = dumps(draft.metadata)
    except (ExtractionError, ValueError, TypeError) as exc:  # as in prepare_batch
        return reason_of(exc)
    content = _blake2b(
        extractor.content(draft.columns) + b"\x1e" + metadata, digest_size=16
    ).digest()
    return Extracted(draft, metadata, content)
