"""Jobs: submit / poll / fetch over a queue port, the same logic on every backend.

The queue (a table in the store's database) keeps the promises: a unique
`(owner, idempotency_key)` makes a repeated submit one job; a lease (`lease_owner`,
`lease_expires`) makes a job one worker's at a time, and an expired lease hands it to
the next worker, until `max_attempts` is spent.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from ingestry.domain.errors import (
    IdempotencyKeyReusedError,
    InvalidJobError,
    JobNotFoundError,
)
from ingestry.domain.jobs import JOB_KINDS, Job
from ingestry.services.ports.control import JobQueue as JobQueue
from ingestry.services.ports.control import NewJob

DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_LEASE_SECONDS = 60.0


class JobService:
    """Submit, poll and fetch jobs for a caller (`owner`; "" is the operator)."""

    def __init__(self, queue: JobQueue, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> None:
        self.queue = queue
        self.max_attempts = max_attempts

    def submit(
        self,
        kind: str,
        params: Mapping[str, Any],
        *,
        owner: str = "",
        idempotency_key: str | None = None,
    ) -> tuple[Job, bool]:
        if kind not in JOB_KINDS:
            raise InvalidJobError(f"unknown job kind '{kind}' (kinds: {', '.join(JOB_KINDS)})")
        new = NewJob(
            uuid.uuid4().hex, kind, dict(params), owner, idempotency_key, self.max_attempts
        )
        job, created = self.queue.submit(new)
        if not created and (job.kind != kind or dict(job.params) != dict(params)):
            raise IdempotencyKeyReusedError(
                f"Idempotency-Key '{idempotency_key}' was used for job {job.id} "
                f"with other parameters"
            )
        return job, created

    def get(self, job_id: str, *, owner: str | None = None) -> Job:
        """The job; `owner` None sees every job, else only that owner's (others are
        reported exactly like missing ones)."""
        job = self.queue.get(job_id)
        if job is None or (owner is not None and job.owner != owner):
            raise JobNotFoundError(f"no job {job_id}")
        return job

    def counts(self) -> dict[str, int]:
        return self.queue.counts()
