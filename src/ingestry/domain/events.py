"""Record events: what the outbox holds and the dispatcher delivers.

An event is a fact about one record version: version 1 is `RecordPublished`, every
later version `RecordUpdated`. The outbox row stores only (srn, convention, version,
created_at); the kind follows from the version and the provenance is the record's at
that version, so bulk writes stay narrow and the delivered event is still complete.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import PurePath
from typing import Any

from ingestry.domain.provenance import RecordSource, source_to_dict
from ingestry.domain.records import parse_srn

RECORD_PUBLISHED = "RecordPublished"
RECORD_UPDATED = "RecordUpdated"

#: The Redis channel delivered events are also published on (fan-out).
EVENTS_CHANNEL = "ingestry.events"

#: The lease when none is configured and no hook needs longer.
DEFAULT_LEASE_SECONDS = 300.0

_SAFE_DIR = re.compile(r"^[A-Za-z0-9_~-][A-Za-z0-9_.~%-]{0,95}$")


def event_kind(version: int) -> str:
    return RECORD_PUBLISHED if version == 1 else RECORD_UPDATED


@dataclass(frozen=True, slots=True)
class EventSettings:
    """How the dispatcher retries (config `events:`; each overridable per dispatcher).

    `max_attempts` failed deliveries park an event as dead; the n-th retry waits
    `backoff_seconds * 2**(n-1)`, at most `max_backoff_seconds`. A claimed event is
    leased for `lease_seconds`; a dispatcher that dies leaves it to be claimed again
    once the lease ends. None means automatic: long enough for the slowest
    convention's hooks (see `bootstrap.event_settings`)."""

    max_attempts: int = 5
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 300.0
    lease_seconds: float | None = None
    batch_size: int = 500

    @property
    def lease(self) -> float:
        return DEFAULT_LEASE_SECONDS if self.lease_seconds is None else self.lease_seconds

    def backoff(self, attempts: int) -> float:
        """Seconds to wait before the next try after `attempts` failed ones."""
        return float(min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (attempts - 1)))


@dataclass(frozen=True, slots=True)
class RecordEvent:
    """A delivered event: `RecordPublished` or `RecordUpdated` of one record version.

    `features_dir` is the directory hooks of this version work under (one fresh
    `work_dir` per hook run inside it)."""

    id: int
    kind: str
    srn: str
    convention: str
    source: RecordSource
    version: int
    features_dir: str
    created_at: datetime
    attempts: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.kind,
            "srn": self.srn,
            "convention": self.convention,
            "source": source_to_dict(self.source),
            "version": self.version,
            "features_dir": self.features_dir,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class DeadEvent:
    """An event parked after `attempts` failed deliveries; `ingestry events retry`."""

    id: int
    kind: str
    srn: str
    convention: str
    version: int
    attempts: int
    last_error: str | None
    created_at: datetime
    failed_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["created_at"] = self.created_at.isoformat()
        out["failed_at"] = self.failed_at.isoformat() if self.failed_at else None
        return out


@dataclass(slots=True)
class DispatchSummary:
    """What one `run_once` (or a whole `run_forever`) did."""

    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    seconds: float = 0.0

    def add(self, other: DispatchSummary) -> None:
        self.claimed += other.claimed
        self.delivered += other.delivered
        self.retried += other.retried
        self.dead += other.dead
        self.seconds = round(self.seconds + other.seconds, 3)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def features_dir(root: PurePath, srn: str, version: int) -> PurePath:
    """`root/<convention>/<provenance type>[/<upstream>]/<id>/v<version>` (no upstream
    level for a deposition): readable where upstream and id are safe file names, a hash
    where they are not (too long, or `..`)."""
    convention, source_type, upstream, source_id = parse_srn(srn)
    _, _, _, quoted_upstream, quoted = srn.rsplit(":", 4)
    parts = [_safe_name(quoted_upstream, upstream)] if upstream else []
    parts.append(_safe_name(quoted, source_id))
    return root.joinpath(convention, source_type, *parts, f"v{version}")


def _safe_name(quoted: str, text: str) -> str:
    return (
        quoted
        if _SAFE_DIR.match(quoted)
        else hashlib.blake2b(text.encode(), digest_size=12).hexdigest()
    )
