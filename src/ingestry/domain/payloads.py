"""Raw payloads and quarantine entries: what was received, exactly, and what failed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RawPayload:
    """Immutable received bytes with their hash and processing state."""

    id: int
    source: str
    entity_type: str
    source_id: str
    sha256: str
    payload: bytes
    received_at: datetime
    processed_at: datetime | None
    extractor_version: str | None
    error: str | None
    line: int | None
    origin: str | None
    #: How many times these bytes arrived, and the latest arrival (see docs/receipts.md);
    #: `received_at`, `line` and `origin` above are the first arrival's.
    receipts: int = 0
    last_received_at: datetime | None = None
    last_run_srn: str | None = None
    last_origin: str | None = None
    last_line: int | None = None


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """A payload that failed extraction, kept with its reason until fixed or discarded."""

    id: int
    source: str
    sha256: str
    payload: bytes
    line: int | None
    origin: str | None
    reason: str
    received_at: datetime
    status: str


@dataclass(frozen=True, slots=True)
class QuarantineDetail:
    """A quarantine entry with its decision: released or discarded, when, by whom, why.

    `payload` is empty once the entry is resolved (the bytes are kept only while
    quarantined; a raw source still has them in its raw row: `raw_payload`)."""

    entry: QuarantineEntry
    resolved_at: datetime | None
    resolution: str | None
    resolved_by: str | None
    raw_payload: bytes | None = None
