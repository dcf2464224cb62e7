"""Paged reads the dashboard needs and no other port offers: quarantine pages and reason
counts with filters, jobs newest first, one record's events and hook runs.

Every method is keyset-paged or bounded by `limit`, so a page never reads a whole table
(issue 20: 10,000 quarantine entries, 1M records).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ingestry.domain.features import HookRun
from ingestry.domain.jobs import Job
from ingestry.domain.payloads import QuarantineEntry


@dataclass(frozen=True, slots=True)
class QuarantineFilter:
    """Which quarantine entries: these sources (None: every source), one reason (exact
    text), received in [since, until), with this status (None: any)."""

    sources: Sequence[str] | None = None
    reason: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    status: str | None = "open"


@dataclass(frozen=True, slots=True)
class ReasonCount:
    source: str
    reason: str
    count: int


@dataclass(frozen=True, slots=True)
class RecordEvent:
    """One outbox event of a record (version 1 is its publication, later ones updates)."""

    id: int
    version: int
    created_at: datetime
    status: str
    attempts: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class QueueState:
    """The job queue and the outbox at a glance."""

    jobs: dict[str, int]
    leased_jobs: list[Job]
    events_pending: int
    events_leased: int
    events_dead: int


def jobs_cursor(job: Job) -> str:
    """A keyset cursor for `jobs_page`: the job's submission time and id."""
    return f"{job.created_at.isoformat()}|{job.id}"


class Browse(Protocol):
    def quarantine_page(
        self, where: QuarantineFilter, after: int | None, limit: int
    ) -> list[QuarantineEntry]:
        """Entries in id order, the first `limit` after id `after`."""
        ...

    def quarantine_ids(self, where: QuarantineFilter, limit: int) -> list[int]:
        """The ids of matching entries (for "replay all matching"), at most `limit`."""
        ...

    def quarantine_reasons(self, where: QuarantineFilter, limit: int) -> list[ReasonCount]:
        """Matching entries grouped by source and reason, largest groups first."""
        ...

    def jobs_page(
        self, owner: str | None, status: str | None, after: str | None, limit: int
    ) -> list[Job]:
        """Jobs newest first; `after` is the cursor `jobs_cursor` made of the last job."""
        ...

    def record_events(self, srn: str, limit: int) -> list[RecordEvent]: ...

    def record_hook_runs(self, srn: str, limit: int) -> list[HookRun]: ...

    def queue_state(self, lease_limit: int) -> QueueState: ...
