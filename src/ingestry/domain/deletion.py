"""Soft delete: a tombstone version hides a record without losing its history.

A delete writes the record's next version as a tombstone: the same identity, the
version sequence kept, the content hash emptied (`TOMBSTONE_HASH`, which no content
hash equals, so any later content is a change and brings the record back as the next
version). Who deleted it, when and why is a `Deletion`, kept per tombstone version.
See docs/deleting.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: The content hash of a tombstone version: empty, unlike every content hash (16 bytes).
TOMBSTONE_HASH = b""

#: The event of a tombstone version (`record.deleted` in the design's words).
RECORD_DELETED = "RecordDeleted"


@dataclass(frozen=True, slots=True)
class DeletionDraft:
    """What the caller says about a delete: who, why, and when (ISO text)."""

    actor: str
    reason: str | None
    at: str


@dataclass(frozen=True, slots=True)
class Deletion:
    """A tombstone version of a record: who deleted it, when and why."""

    srn: str
    version: int
    deleted_at: datetime
    actor: str
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "deleted_at": self.deleted_at.isoformat(),
            "by": self.actor,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class DeleteOutcome:
    """A delete's result: the tombstone, and whether it was there already (a no-op)."""

    deletion: Deletion
    already: bool
