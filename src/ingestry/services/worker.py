"""The job worker: claim a job under a lease, run its handler while a heartbeat keeps
the lease (and publishes progress), then record the outcome.

- A worker that dies stops renewing; when the lease expires another worker claims the
  job again (attempt n+1), until `max_attempts` is spent and the job fails. Handlers are
  idempotent (ingest dedupes raw bytes and upserts records by content; export replaces
  its file atomically), so a re-run cannot duplicate anything.
- Shutdown (`stop` set) interrupts the handler at its next checkpoint (a batch or a page
  boundary); the job is released, not failed: queued again, the attempt not counted.
- A worker whose lease was taken over (it stalled past the lease) stops at its next
  checkpoint and records nothing: every state change is conditional on holding the lease.
  The new owner may have ended its database sessions (PostgreSQL, see
  `adapters.sql.jobs`), so `run`/`drain` then return `True`: the caller opens a fresh
  store before claiming again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from ingestry.domain.errors import IngestryError, StatementTimeoutError, StorageError
from ingestry.domain.jobs import Job
from ingestry.services.ports import JobQueue

log = logging.getLogger("ingestry.worker")

#: The longest pause between claims while the job queue's database is unavailable.
MAX_BUSY_PAUSE = 30.0


class JobInterruptedError(Exception):
    """Raised at a checkpoint when the job must stop (shutdown, or lease lost)."""


class JobContext:
    """What a handler sees of the worker: report progress, honour interruptions."""

    def __init__(self, stop: threading.Event) -> None:
        self._stop = stop
        self.lease_lost = threading.Event()
        self._progress: dict[str, Any] = {}
        self._lock = threading.Lock()

    def progress(self, **values: Any) -> None:
        """Record progress (published with the next heartbeat) and check in."""
        with self._lock:
            self._progress.update(values)
        self.check()

    def check(self) -> None:
        if self.lease_lost.is_set():
            raise JobInterruptedError("the job's lease was taken over by another worker")
        if self._stop.is_set():
            raise JobInterruptedError("the worker is shutting down")

    def snapshot(self) -> dict[str, Any] | None:
        with self._lock:
            return dict(self._progress) if self._progress else None


JobHandler = Callable[[Job, JobContext], Mapping[str, Any]]


def is_permanent(exc: BaseException) -> bool:
    """A failure that running the job again would repeat (bad parameters, unknown
    source, unreadable file); a database outage or an unexpected error is retried."""
    if isinstance(exc, StatementTimeoutError):
        return True  # the same statement would run as long again
    return isinstance(exc, IngestryError) and not isinstance(exc, StorageError)


class JobWorker:
    def __init__(
        self,
        queue: JobQueue,
        handlers: Mapping[str, JobHandler],
        *,
        worker_id: str,
        lease_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.queue = queue
        self.handlers = handlers
        self.worker_id = worker_id
        self.lease_seconds = lease_seconds
        self.clock = clock
        self.heartbeat_every = max(0.05, min(lease_seconds / 4, 1.0))
        #: a job's lease was taken over: our sessions may have been ended (reopen them)
        self.lease_taken = False

    def run_once(self, stop: threading.Event) -> Job | None:
        """Claim and run one job; None when there was nothing to claim."""
        job = self.queue.claim(self.worker_id, self.lease_seconds, self.clock())
        if job is None:
            return None
        log.info("job claimed", extra={"job": job.id, "kind": job.kind, "attempt": job.attempts})
        context = JobContext(stop)
        done = threading.Event()
        beat = threading.Thread(
            target=self._heartbeat, args=(job, context, done), name=f"heartbeat-{job.id[:8]}"
        )
        beat.start()
        try:
            self._run(job, context)
        finally:
            done.set()
            beat.join()
        return job

    def run(self, stop: threading.Event, idle_wait: float = 1.0) -> bool:
        """Claim and run jobs until `stop`. A database that is busy or away (SQLite's
        `database is locked` past its busy timeout, a PostgreSQL restart) is waited out
        with a growing pause, not a crash: the claim simply runs again. True: it
        returned early because a lease was taken over (open a fresh store, run again)."""
        busy = 0
        while not stop.is_set() and not self.lease_taken:
            try:
                job = self.run_once(stop)
            except StorageError as exc:
                busy += 1
                pause = min(MAX_BUSY_PAUSE, idle_wait * 2 ** min(busy, 6))
                log.warning("job queue unavailable (%s); retrying in %.1fs", exc, pause)
                stop.wait(pause)
                continue
            busy = 0
            if job is None:
                stop.wait(idle_wait)
        return self.lease_taken

    def drain(self, stop: threading.Event) -> int:
        """Run jobs until none is left to claim (`--once`) or a lease was taken over
        (`lease_taken`: open a fresh store and drain again); returns how many ran."""
        count = 0
        while not stop.is_set() and not self.lease_taken and self.run_once(stop) is not None:
            count += 1
        return count

    def _run(self, job: Job, context: JobContext) -> None:
        handler = self.handlers.get(job.kind)
        if handler is None:
            self.queue.fail(job.id, self.worker_id, f"unknown job kind '{job.kind}'", retry=False)
            return
        try:
            result = handler(job, context)
        except JobInterruptedError as exc:
            # the queue refuses to release a job whose lease moved on (a write fenced by
            # the lease, e.g. a harvest's cursor, may find that before the heartbeat)
            if context.lease_lost.is_set() or not self.queue.release(job.id, self.worker_id):
                self.lease_taken = True
                log.warning("job abandoned: %s", exc, extra={"job": job.id})
            else:
                log.info("job released: %s", exc, extra={"job": job.id})
            return
        except Exception as exc:
            permanent = is_permanent(exc)
            message = str(exc) if permanent else f"{type(exc).__name__}: {exc}"
            if not self.queue.fail(job.id, self.worker_id, message, retry=not permanent):
                self.lease_taken = True
                # it stalled past its lease (SIGSTOP, a long pause) and another worker
                # owns the job now: this failure is not the job's, nothing was recorded
                log.warning(
                    "job abandoned: the job's lease was taken over by another worker "
                    "(this attempt then failed: %s)",
                    message,
                    extra={"job": job.id},
                )
                return
            log.log(
                logging.WARNING if permanent else logging.ERROR,
                "job failed: %s",
                message,
                extra={"job": job.id, "retry": not permanent},
                exc_info=not permanent,
            )
            return
        if self.queue.complete(job.id, self.worker_id, result):
            log.info("job succeeded", extra={"job": job.id})
        else:
            self.lease_taken = True
            log.warning("job finished after its lease was taken over", extra={"job": job.id})

    def _heartbeat(self, job: Job, context: JobContext, done: threading.Event) -> None:
        while not done.wait(self.heartbeat_every):
            try:
                held = self.queue.heartbeat(
                    job.id, self.worker_id, self.lease_seconds, self.clock(), context.snapshot()
                )
            except Exception:
                log.warning("heartbeat failed", extra={"job": job.id}, exc_info=True)
                continue
            if not held:
                context.lease_lost.set()
                return
