"""Erasure: removing a record and everything it came from, with an audit of hashes.

A GDPR-style erasure removes the record, every version, its outbox events, hook runs
and features, and the raw payloads (with their receipts) of its source id; what stays
is one audit row that says who, when, why and what, as hashes only (docs/erasure.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def srn_digest(srn: str) -> str:
    """The audit's name for a record: the sha256 of its srn (the srn spells the id)."""
    return hashlib.sha256(srn.encode()).hexdigest()


@dataclass(frozen=True)
class AuditDraft:
    """Who asks and why, when: what the service hands the storage to write."""

    actor: str
    reason: str
    at: str
    #: pages of the record's pulled source emptied before (they held its item)
    harvest_pages: int = 0


@dataclass(frozen=True)
class ErasureCounts:
    """Rows removed per table, and the hashes of what they held."""

    records: int = 0
    versions: int = 0
    events: int = 0
    hook_runs: int = 0
    features: int = 0
    raw_payloads: int = 0
    receipts: int = 0
    harvest_pages: int = 0
    data_sources: tuple[str, ...] = ()
    content_hashes: tuple[str, ...] = ()
    raw_sha256s: tuple[str, ...] = ()
    audit_id: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "records": self.records,
            "versions": self.versions,
            "events": self.events,
            "hook_runs": self.hook_runs,
            "features": self.features,
            "raw_payloads": self.raw_payloads,
            "receipts": self.receipts,
            "harvest_pages": self.harvest_pages,
        }


@dataclass(frozen=True)
class ErasureAudit:
    """One audit row as stored."""

    id: int
    at: datetime
    actor: str
    reason: str
    convention: str
    data_source: str | None
    srn_sha256: str
    content_hashes: list[str] = field(default_factory=list)
    raw_sha256s: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "reason": self.reason,
            "convention": self.convention,
            "data_source": self.data_source,
            "srn_sha256": self.srn_sha256,
            "content_hashes": list(self.content_hashes),
            "raw_sha256s": list(self.raw_sha256s),
            "counts": dict(self.counts),
        }
