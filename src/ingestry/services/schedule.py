"""Scheduled runs: which (kind, key, cron) entries are due, enqueued as jobs.

Generic on purpose (HTTP pulls and `files:` sources today; backups can add their
entries): an entry is due at its cron expression's latest fire time at or before
`now`, and is enqueued as a job whose idempotency key is `schedule:{kind}:{key}:{due}`,
so any number of workers ticking at once enqueue one job per due time. The jobs' lease
makes a crashed run retried; the source's run lock (services.harvest) keeps two runs
of one source from overlapping. See docs/harvest.md, "Schedules".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ingestry.domain.clock import iso
from ingestry.domain.jobs import Job
from ingestry.services.jobs import JobService
from ingestry.services.ports.control import CronTimes as CronTimes

__all__ = ["CronTimes", "Due", "Scheduled", "Scheduler"]


@dataclass(frozen=True, slots=True)
class Scheduled:
    """One schedule: the job `kind` to run with `params`, `key` naming what it runs."""

    kind: str
    key: str
    cron: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def job_key(self, due: datetime) -> str:
        return f"schedule:{self.kind}:{self.key}:{iso(due)}"


@dataclass(frozen=True, slots=True)
class Due:
    entry: Scheduled
    at: datetime


class Scheduler:
    def __init__(self, entries: Sequence[Scheduled], cron: CronTimes, jobs: JobService) -> None:
        self.entries = list(entries)
        self.cron = cron
        self.jobs = jobs

    def due(self, now: datetime) -> list[Due]:
        """Each entry at its latest fire time (a missed run is caught up once)."""
        return [Due(e, self.cron.previous(e.cron, now)) for e in self.entries]

    def enqueue_due(self, now: datetime) -> list[Job]:
        """Enqueue the due runs; returns the jobs this call created (a due time
        already enqueued, by this worker or another, creates none)."""
        created = []
        for due in self.due(now):
            params = {**due.entry.params, "due": iso(due.at)}
            job, new = self.jobs.submit(
                due.entry.kind, params, idempotency_key=due.entry.job_key(due.at)
            )
            if new:
                created.append(job)
        return created
