"""Raw-store policy objects: holds, retention reports and their audit trail."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class RawHold:
    """A legal or audit hold: while active, retention purges none of the source's rows
    (or, with `source_id`, none of that source id's rows)."""

    id: int
    source: str
    source_id: str | None
    reason: str | None
    held_until: datetime | None
    created_at: datetime
    created_by: str
    released_at: datetime | None = None
    released_by: str | None = None

    def active_at(self, moment: datetime) -> bool:
        if self.released_at is not None:
            return False
        return self.held_until is None or self.held_until > moment


@dataclass(slots=True)
class RetentionReport:
    """What one retention run did (or, dry, would do) to one source's raw rows.

    `expired` rows were received before `cutoff`; of those the unextracted,
    quarantined and held ones are kept, the rest purged (`rows_purged`, their payload
    bytes `bytes_freed`, `partitions_dropped` whole partitions on PostgreSQL). A
    pulled source's pages received before `cutoff` go whole (`pages_purged`, their
    bytes `page_bytes_freed`), unless the whole source is held."""

    source: str
    cutoff: datetime
    retention_days: int
    expired: int = 0
    rows_purged: int = 0
    bytes_freed: int = 0
    partitions_dropped: int = 0
    kept_unextracted: int = 0
    kept_quarantined: int = 0
    kept_held: int = 0
    dry_run: bool = False
    #: a pulled source's pages received before `cutoff` (docs/harvest.md)
    pages_purged: int = 0
    page_bytes_freed: int = 0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["cutoff"] = self.cutoff.isoformat()
        return out


@dataclass(frozen=True, slots=True)
class RetentionAuditEntry:
    """One audit row: a retention run's effect on one source, by whom, when."""

    id: int
    source: str
    cutoff: datetime
    rows_purged: int
    bytes_freed: int
    partitions_dropped: int
    kept_unextracted: int
    kept_quarantined: int
    kept_held: int
    actor: str
    at: datetime
    pages_purged: int = 0
    page_bytes_freed: int = 0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["cutoff"] = self.cutoff.isoformat()
        out["at"] = self.at.isoformat()
        return out
