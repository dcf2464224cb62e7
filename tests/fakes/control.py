"""The control plane's ports (JobQueue, ApiKeyStore, IdempotencyStore) in memory.

One lock stands for the database's transactions, so concurrent callers (the contract
suite submits from threads) see each change whole, as on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from ingestry.domain.clock import utc_now
from ingestry.domain.errors import AmbiguousKeyError, KeyNameTakenError
from ingestry.domain.jobs import JOB_STATUSES, ApiKey, Job
from ingestry.services.control import ControlPorts
from ingestry.services.ports import NewJob, QueueState, StoredRequest


class MemoryJobQueue:
    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._jobs: dict[str, Job] = {}  # in submit order (dicts keep it)

    def submit(self, job: NewJob) -> tuple[Job, bool]:
        with self._lock:
            if job.idempotency_key is not None:
                for found in self._jobs.values():
                    if (found.owner, found.idempotency_key) == (job.owner, job.idempotency_key):
                        return found, False
            now = utc_now()
            made = Job(
                id=job.id, kind=job.kind, params=dict(job.params), status="queued",
                owner=job.owner, attempts=0, max_attempts=job.max_attempts, created_at=now,
                updated_at=now, idempotency_key=job.idempotency_key,
            )  # fmt: skip
            self._jobs[job.id] = made
            return made, True

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def claim(self, worker: str, lease_seconds: float, now: float) -> Job | None:
        with self._lock:
            for job in sorted(self._jobs.values(), key=lambda j: (j.created_at, j.id)):
                expired = job.status == "running" and (job.lease_expires or 0) < now
                if job.status != "queued" and not expired:
                    continue
                stamp = utc_now()
                error = job.error
                if expired:
                    error = (
                        f"attempt {job.attempts} of {job.max_attempts} lost: worker "
                        f"{job.lease_owner} stopped renewing its lease"
                    )
                    if job.attempts >= job.max_attempts:
                        self._jobs[job.id] = replace(
                            job, status="failed", error=f"gave up: {error}", lease_owner=None,
                            lease_expires=None, updated_at=stamp, finished_at=stamp,
                        )  # fmt: skip
                        continue
                taken = self._jobs[job.id] = replace(
                    job, status="running", attempts=job.attempts + 1, lease_owner=worker,
                    lease_expires=now + lease_seconds, error=error, updated_at=stamp,
                    started_at=job.started_at or stamp,
                )  # fmt: skip
                return taken
            return None

    def _update(self, job_id: str, worker: str, **values: Any) -> bool:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.lease_owner != worker or job.status != "running":
                return False
            self._jobs[job_id] = replace(job, updated_at=utc_now(), **values)
            return True

    def heartbeat(
        self,
        job_id: str,
        worker: str,
        lease_seconds: float,
        now: float,
        progress: Mapping[str, Any] | None,
    ) -> bool:
        values: dict[str, Any] = {"lease_expires": now + lease_seconds}
        if progress is not None:
            values["progress"] = dict(progress)
        return self._update(job_id, worker, **values)

    def complete(self, job_id: str, worker: str, result: Mapping[str, Any]) -> bool:
        return self._update(
            job_id, worker, status="succeeded", result=dict(result), lease_owner=None,
            lease_expires=None, finished_at=utc_now(),
        )  # fmt: skip

    def fail(self, job_id: str, worker: str, error: str, *, retry: bool) -> bool:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.lease_owner != worker or job.status != "running":
                return False
            again = retry and job.attempts < job.max_attempts
            stamp = utc_now()
            return self._update(
                job_id, worker, status="queued" if again else "failed", error=error,
                lease_owner=None, lease_expires=None, finished_at=None if again else stamp,
            )  # fmt: skip

    def release(self, job_id: str, worker: str) -> bool:
        with self._lock:
            job = self._jobs.get(job_id)
            attempts = 0 if job is None else job.attempts - 1
            return self._update(
                job_id, worker, status="queued", attempts=attempts, lease_owner=None,
                lease_expires=None,
            )  # fmt: skip

    def counts(self) -> dict[str, int]:
        with self._lock:
            out = dict.fromkeys(JOB_STATUSES, 0)
            for job in self._jobs.values():
                out[job.status] += 1
            return out


class MemoryApiKeys:
    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._keys: list[ApiKey] = []

    def _active(self, match: str, attribute: str) -> list[str]:
        return [k.prefix for k in self._keys if k.active and getattr(k, attribute) == match]

    def add(self, key: ApiKey) -> None:
        with self._lock:
            taken = self._active(key.name, "name")
            if taken:
                raise KeyNameTakenError(key.name, taken[0])
            self._keys.append(key)

    def find(self, prefix: str) -> ApiKey | None:
        with self._lock:
            return next((k for k in self._keys if k.prefix == prefix), None)

    def all(self) -> list[ApiKey]:
        with self._lock:
            return list(self._keys)

    def revoke(self, prefix_or_name: str, now: datetime) -> int:
        with self._lock:
            found = self._active(prefix_or_name, "prefix") or self._active(prefix_or_name, "name")
            if len(found) > 1:
                raise AmbiguousKeyError(prefix_or_name, found)
            for i, key in enumerate(self._keys):
                if key.prefix in found:
                    self._keys[i] = replace(key, revoked_at=now)
            return len(found)


class MemoryIdempotency:
    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._rows: dict[tuple[str, str], dict[str, Any]] = {}

    def begin(
        self, owner: str, key: str, fingerprint: bytes, now: float, stale_after: float
    ) -> StoredRequest | None:
        with self._lock:
            row = self._rows.get((owner, key))
            if row is None:
                self._rows[(owner, key)] = {
                    "fingerprint": fingerprint, "state": "in_flight", "created": now,
                    "status_code": None, "response": None,
                }  # fmt: skip
                return None
            stale = row["state"] == "in_flight" and row["created"] < now - stale_after
            if stale and row["fingerprint"] == fingerprint:
                row["created"] = now
                return None
            return StoredRequest(
                row["fingerprint"], row["state"], row["status_code"], row["response"]
            )

    def finish(self, owner: str, key: str, status_code: int, response: bytes) -> None:
        with self._lock:
            row = self._rows.get((owner, key))
            if row is not None:
                row.update(state="done", status_code=status_code, response=response)

    def renew(self, owner: str, key: str, now: float) -> None:
        with self._lock:
            row = self._rows.get((owner, key))
            if row is not None and row["state"] == "in_flight":
                row["created"] = now

    def abandon(self, owner: str, key: str) -> None:
        with self._lock:
            row = self._rows.get((owner, key))
            if row is not None and row["state"] == "in_flight":
                del self._rows[(owner, key)]

    def prune(self, before: float) -> int:
        with self._lock:
            old = [k for k, row in self._rows.items() if row["created"] < before]
            for k in old:
                del self._rows[k]
            return len(old)


class MemoryBrowse:
    """The dashboard's reads on the fakes: jobs from the fake queue; no quarantine, no
    outbox (the fake control plane holds no data)."""

    def __init__(self, jobs: MemoryJobQueue) -> None:
        self._jobs = jobs

    def quarantine_page(self, where: Any, after: int | None, limit: int) -> list[Any]:
        return []

    def quarantine_ids(self, where: Any, limit: int) -> list[int]:
        return []

    def quarantine_reasons(self, where: Any, limit: int) -> list[Any]:
        return []

    def jobs_page(
        self, owner: str | None, status: str | None, after: str | None, limit: int
    ) -> list[Job]:
        with self._jobs._lock:
            found = [
                j
                for j in self._jobs._jobs.values()
                if owner in (None, j.owner) and status in (None, j.status)
            ]
        found.sort(key=lambda j: (j.created_at, j.id), reverse=True)
        if after is not None:
            stamp, _, ident = after.partition("|")
            key = (datetime.fromisoformat(stamp), ident)
            found = [j for j in found if (j.created_at, j.id) < key]
        return found[:limit]

    def record_events(self, srn: str, limit: int) -> list[Any]:
        return []

    def record_hook_runs(self, srn: str, limit: int) -> list[Any]:
        return []

    def queue_state(self, lease_limit: int) -> QueueState:
        counts = self._jobs.counts()
        return QueueState(counts, [], 0, 0, 0)


def MemoryControl() -> ControlPorts:
    """ControlPorts on the fakes (no quarantine: the fake control plane has no data)."""
    lock = threading.RLock()
    jobs = MemoryJobQueue(lock)
    return ControlPorts(
        jobs=jobs,
        keys=MemoryApiKeys(lock),
        idempotency=MemoryIdempotency(lock),
        ping=lambda: None,
        quarantine_open=dict,
        close=lambda: None,
        browse=MemoryBrowse(jobs),
    )
