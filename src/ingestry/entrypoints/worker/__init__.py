"""`ingestry worker`: job loops (one thread and one Store each), an optional Redis
Streams consumer, and the store's background duties, until SIGTERM/SIGINT.

Each loop owns its Store (a Store's connection serves one thread). On a signal every
loop stops at its next checkpoint; a job in progress is released for another worker.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import FrameType
from typing import Any

from ingestry.bootstrap import build_stream, lease_owner_settings
from ingestry.config import Settings
from ingestry.domain.errors import IngestryError, StorageError
from ingestry.domain.jobs import Job
from ingestry.entrypoints.worker.handlers import job_handlers
from ingestry.entrypoints.worker.supervise import (
    LoopFailure,
    RestartPolicy,
    restart_policy,
    supervise,
)
from ingestry.services.streams import StreamConsumer
from ingestry.services.worker import JobContext, JobHandler, JobWorker
from ingestry.store import Store, open_store

log = logging.getLogger("ingestry.worker")


@dataclass(frozen=True)
class WorkerOptions:
    once: bool = False
    concurrency: int = 1
    stream: str | None = None
    group: str = "ingestry"
    consumer: str | None = None
    claim_idle: float = 60.0
    idle_wait: float = 1.0
    maintenance_every: float = 300.0
    retention_every: float = 3600.0  # 0: no scheduled retention
    schedule_every: float = 15.0  # how often due `schedule:` runs are enqueued (0: never)


#: The longest the backup schedule's loop sleeps between looks at the clock.
BACKUP_TICK_SECONDS = 30.0


class WorkerFailedError(IngestryError):
    """A worker loop kept crashing and the worker stopped (exit status 1)."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def job_worker_id(index: int) -> str:
    """The lease owner id of job loop `index` (its data sessions carry it too)."""
    return f"{worker_name()}:{index}"


def run_worker(settings: Settings, options: WorkerOptions, stop: threading.Event) -> None:
    """Run the loops until `stop`; a WorkerFailedError when a loop gave up restarting
    (the CLI exits non-zero, so a process supervisor restarts the worker)."""
    policy = restart_policy()
    with open_store(settings) as first:
        _ = first.storage  # an empty database is migrated once, before the loops start
    failures = LoopFailure()
    spec = (settings, options, stop, policy, failures)
    threads = [
        _thread(f"jobs-{i}", _job_loop,
                lease_owner_settings(settings, job_worker_id(i)), *spec[1:], i)
        for i in range(options.concurrency)
    ]  # fmt: skip
    if options.stream:
        threads.append(_thread("stream", _stream_loop, *spec, 0))
    threads.append(_thread("maintenance", _maintenance_loop, *spec, 0))
    threads.append(_thread("events", _event_loop, *spec, 0))
    if options.schedule_every > 0 and any(s.schedule for s in settings.sources.values()):
        threads.append(_thread("schedule", _schedule_loop, *spec, 0))
    if settings.backup is not None and not options.once:
        threads.append(_thread("backups", _backup_schedule_loop, *spec, 0))
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.5)
    if failures.failed:
        raise WorkerFailedError("; ".join(failures.failed))


def install_signal_handlers(stop: threading.Event) -> None:
    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping on %s", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


#: A loop returns True to be run again on a fresh Store (its sessions may be gone).
Loop = Callable[[Store, WorkerOptions, threading.Event, int], bool | None]


def _thread(
    name: str, loop: Loop, settings: Settings, options: WorkerOptions, stop: threading.Event,
    policy: RestartPolicy, failures: LoopFailure, index: int,
) -> threading.Thread:  # fmt: skip
    def body() -> None:  # a restart opens a fresh Store: the old connection may be bad
        again: bool | None = True
        while again and not stop.is_set():
            with open_store(settings) as store:
                again = loop(store, options, stop, index)

    return threading.Thread(target=supervise, args=(name, body, stop, policy, failures), name=name)


def _limited(store: Store, handler: JobHandler) -> JobHandler:
    """A job's statements under `limits.job_statement_timeout_seconds`."""

    def run(job: Job, context: JobContext) -> Mapping[str, Any]:
        with store.limited("job"):
            return handler(job, context)

    return run


def _job_loop(store: Store, options: WorkerOptions, stop: threading.Event, index: int) -> bool:
    """Run jobs; True when a lease was taken over (the new owner may have ended this
    loop's database sessions: the loop runs again on a fresh Store)."""
    worker = JobWorker(
        store.control.jobs,
        {kind: _limited(store, handler) for kind, handler in job_handlers(store).items()},
        worker_id=job_worker_id(index),
        lease_seconds=store.settings.jobs.lease_seconds,
    )
    if options.once:
        worker.drain(stop)
        return worker.lease_taken
    return worker.run(stop, options.idle_wait)


def _stream_loop(store: Store, options: WorkerOptions, stop: threading.Event, _: int) -> None:
    stream = build_stream(
        store.settings, str(options.stream), options.group, options.consumer or worker_name()
    )
    stream.ensure_group()
    consumer = StreamConsumer(
        stream,
        lambda source, payloads: store.ingest(source, payloads),
        claim_idle=options.claim_idle,
        block_ms=200 if options.once else 1000,
    )
    while not stop.is_set():
        try:
            handled = consumer.run_once()
        except Exception:  # Redis or the database away: keep trying, nothing was acked
            log.exception("stream consumer failed; retrying")
            stop.wait(options.idle_wait)
            continue
        if options.once and handled == 0:
            return


def _event_loop(store: Store, options: WorkerOptions, stop: threading.Event, _: int) -> None:
    """Deliver outbox events (hooks, features, cache, publish) while the worker runs."""
    dispatcher = store.dispatcher()
    if options.once:
        dispatcher.run_once()
    else:
        dispatcher.run_forever(stop)


def _schedule_loop(store: Store, options: WorkerOptions, stop: threading.Event, _: int) -> None:
    """Enqueue the sources' due `schedule:` runs as jobs (idempotent: every worker may)."""
    while True:
        try:
            for job in store.enqueue_due():
                log.info("scheduled run enqueued", extra={"job": job.id, "kind": job.kind})
        except StorageError:
            log.exception("enqueueing scheduled runs failed; retrying")
        if options.once or stop.wait(options.schedule_every):
            return


def _backup_schedule_loop(
    store: Store, options: WorkerOptions, stop: threading.Event, _: int
) -> None:
    """Submit a backup job whenever `backup.schedule` is due (the job loops run it)."""
    scheduler = store.backup_scheduler()
    if scheduler is None:
        return
    while not stop.wait(min(scheduler.seconds_left(), BACKUP_TICK_SECONDS)):
        key = scheduler.tick()
        if key is not None:
            log.info("scheduled backup submitted", extra={"idempotency_key": key})


def _maintenance_loop(store: Store, options: WorkerOptions, stop: threading.Event, _: int) -> None:
    """Background duties of the store: prune old idempotency keys; run retention (every
    raw source with `retention_days`, audited) every `retention_every` seconds."""
    last_retention = float("-inf")
    while True:
        pruned = store.idempotency().prune()
        if pruned:
            log.info("pruned idempotency keys", extra={"count": pruned})
        now = time.monotonic()
        due = options.retention_every > 0 and now - last_retention >= options.retention_every
        if due and not options.once:
            last_retention = now
            try:
                reports = store.retention_run(actor="worker")
            except Exception:
                log.exception("retention failed")
            else:
                for report in reports:
                    log.info(
                        "retention ran",
                        extra={"source": report.source, "rows_purged": report.rows_purged,
                               "kept_unextracted": report.kept_unextracted,
                               "kept_quarantined": report.kept_quarantined},
                    )  # fmt: skip
        wait = options.maintenance_every
        if options.retention_every > 0:
            wait = min(wait, options.retention_every)
        if options.once or stop.wait(wait):
            return
