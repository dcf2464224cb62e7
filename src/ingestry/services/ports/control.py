"""The control plane's ports: the Protocols of the job queue, API keys, idempotent
requests, rate limits, message streams and cron, and the values their adapters take and
give (jobs to enqueue, stored requests, buckets, stream messages). The services that use
them (`services/jobs.py`, `keys.py`, `idempotency.py`, `ratelimit.py`, `streams.py`,
`schedule.py`) re-export them under their old names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ingestry.domain.jobs import ApiKey, Job


@dataclass(frozen=True, slots=True)
class NewJob:
    """A job to enqueue (what `submit` is given)."""

    id: str
    kind: str
    params: Mapping[str, Any]
    owner: str
    idempotency_key: str | None
    max_attempts: int


@dataclass(frozen=True, slots=True)
class StoredRequest:
    fingerprint: bytes
    state: str  # "in_flight" | "done"
    status_code: int | None
    response: bytes | None


@dataclass(frozen=True, slots=True)
class Bucket:
    """The state of one key's bucket: tokens left at time `at` (seconds)."""

    tokens: float
    at: float


def take(bucket: Bucket | None, now: float, rate: float, burst: float) -> tuple[Bucket, float]:
    """Refill by elapsed time, then take one token. Returns the new state and the wait
    (0.0 when the token was taken)."""
    tokens = burst if bucket is None else min(burst, bucket.tokens + (now - bucket.at) * rate)
    if tokens >= 1.0:
        return Bucket(tokens - 1.0, now), 0.0
    return Bucket(tokens, now), (1.0 - tokens) / rate


@dataclass(frozen=True, slots=True)
class StreamMessage:
    id: str
    fields: dict[str, bytes]


class JobQueue(Protocol):
    """The job table. Every state change names the worker holding the lease, so a
    worker that lost its lease (it stalled; another took over) changes nothing."""

    def submit(self, job: NewJob) -> tuple[Job, bool]:
        """Enqueue; with an idempotency key already used by `owner`, return that job
        instead. Returns (job, created)."""
        ...

    def get(self, job_id: str) -> Job | None: ...

    def claim(self, worker: str, lease_seconds: float, now: float) -> Job | None:
        """Take the oldest queued job, or a running one whose lease expired before
        `now`; a job out of attempts is failed instead of handed out."""
        ...

    def heartbeat(
        self,
        job_id: str,
        worker: str,
        lease_seconds: float,
        now: float,
        progress: Mapping[str, Any] | None,
    ) -> bool:
        """Extend the lease (and store progress). False: the lease is no longer ours."""
        ...

    def complete(self, job_id: str, worker: str, result: Mapping[str, Any]) -> bool: ...

    def fail(self, job_id: str, worker: str, error: str, *, retry: bool) -> bool:
        """Record the error; queue the job again when `retry` and attempts are left."""
        ...

    def release(self, job_id: str, worker: str) -> bool:
        """Hand the job back unfinished (shutdown): queued again, attempt not counted."""
        ...

    def counts(self) -> dict[str, int]:
        """Jobs per status."""
        ...


class ApiKeyStore(Protocol):
    def add(self, key: ApiKey) -> None:
        """Store a new key; KeyNameTakenError if an active key has its name (checked
        in the insert's transaction)."""
        ...

    def find(self, prefix: str) -> ApiKey | None: ...

    def all(self) -> list[ApiKey]: ...

    def revoke(self, prefix_or_name: str, now: datetime) -> int:
        """Revoke the active key with that prefix, else the one active key with that
        name (AmbiguousKeyError if several have it); returns how many (0 or 1)."""
        ...


class IdempotencyStore(Protocol):
    def begin(
        self, owner: str, key: str, fingerprint: bytes, now: float, stale_after: float
    ) -> StoredRequest | None:
        """Claim the key (None: go ahead) or return what is stored under it."""
        ...

    def finish(self, owner: str, key: str, status_code: int, response: bytes) -> None: ...

    def renew(self, owner: str, key: str, now: float) -> None:
        """Keep an in-flight claim alive (its request is still running)."""
        ...

    def abandon(self, owner: str, key: str) -> None:
        """Forget an in-flight claim whose request failed on our side (a retry may run)."""
        ...

    def prune(self, before: float) -> int: ...


class RateLimiter(Protocol):
    #: acquire() answers from this process's memory (call it on the event loop); False:
    #: it asks a server (run it in a thread)
    in_process: bool

    def acquire(self, key: str) -> float:
        """Take one token for `key`: 0.0 when allowed, else seconds until one is free."""
        ...


class MessageStream(Protocol):
    def ensure_group(self) -> None: ...

    def read(self, count: int, block_ms: int) -> list[StreamMessage]:
        """New messages for this consumer (waits up to `block_ms`)."""
        ...

    def reclaim(self, min_idle_ms: int, count: int) -> list[StreamMessage]:
        """Pending messages idle that long (their consumer died), now ours."""
        ...

    def ack(self, ids: Sequence[str]) -> None: ...

    def dead_letter(self, message: StreamMessage, reason: str) -> None: ...


class CronTimes(Protocol):
    def previous(self, expression: str, now: datetime) -> datetime:
        """The latest time at or before `now` that `expression` fires."""
        ...
