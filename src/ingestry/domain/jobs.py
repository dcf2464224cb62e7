"""Jobs (submit / poll / fetch) and API keys, as values the services pass around."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

JobStatus = Literal["queued", "running", "succeeded", "failed"]
JOB_STATUSES: tuple[JobStatus, ...] = ("queued", "running", "succeeded", "failed")
FINISHED: frozenset[str] = frozenset({"succeeded", "failed"})

#: What a job can do; each kind's parameters are checked by the job service.
#: `harvest` pulls an HTTP source; `source_files` ingests a source's `files:` (a
#: scheduled run; both hold the source's run lock, docs/harvest.md); `backup` and
#: `verify` are an admin's (docs/backups.md); `fork` copies another node's records
#: (docs/federation.md); `import` loads an export from `data/processed/` (an admin's,
#: docs/data-out.md); `delete` soft-deletes the records matching a filter
#: (docs/deleting.md)
JobKind = Literal[
    "ingest",
    "replay",
    "export",
    "harvest",
    "source_files",
    "backup",
    "verify",
    "fork",
    "import",
    "delete",
]
JOB_KINDS: tuple[JobKind, ...] = get_args(JobKind)


#: How a job's error starts to read when another worker took it over (its lease ran out).
LEASE_LOST = "stopped renewing its lease"


@dataclass(frozen=True, slots=True)
class Job:
    """One unit of background work and where it stands."""

    id: str
    kind: str
    params: Mapping[str, Any]
    status: str
    owner: str
    attempts: int
    max_attempts: int
    created_at: datetime
    updated_at: datetime
    idempotency_key: str | None = None
    lease_owner: str | None = None
    lease_expires: float | None = None
    progress: Mapping[str, Any] | None = None
    result: Mapping[str, Any] | None = None
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def taken_over(self) -> bool:
        """Claimed from a worker whose lease ran out (the claim notes it in `error`)."""
        return self.status == "running" and LEASE_LOST in (self.error or "")


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as stored: who (name, prefix) may touch what (sources, admin).

    The secret itself is never kept; `prefix` is the public half of the token that
    finds the row, the secret half is checked against `secret_hash`."""

    prefix: str
    name: str
    sources: tuple[str, ...]
    admin: bool
    created_at: datetime
    revoked_at: datetime | None = None
    secret_hash: bytes = field(default=b"", repr=False)

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def may_use_source(self, source: str) -> bool:
        return self.admin or source in self.sources
