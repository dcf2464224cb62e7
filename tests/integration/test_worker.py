"""The job worker in process on both backends: shutdown releases, retries, give-ups."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from ingestry.domain.errors import StorageError
from ingestry.domain.jobs import Job
from ingestry.entrypoints.worker.handlers import job_handlers
from ingestry.services.worker import JobContext, JobHandler, JobWorker
from ingestry.store import Store
from tests.backends import Database
from tests.integration.test_ingest import order

ROWS = 12_000  # three batches of 5,000


def worker(store: Store, handlers: Mapping[str, JobHandler] | None = None) -> JobWorker:
    return JobWorker(
        store.control.jobs, handlers or job_handlers(store), worker_id="w", lease_seconds=30
    )


def test_shutdown_releases_the_job_and_a_rerun_finishes_it_once(
    store: Store, project: Path, db: Database
) -> None:
    path = project / "data" / "big.jsonl"
    path.write_bytes(b"".join(orjson.dumps(order(f"R{i}")) + b"\n" for i in range(ROWS)))
    job, _ = store.jobs().submit("ingest", {"source": "customer_orders", "path": "big.jsonl"})
    stop = threading.Event()
    real = job_handlers(store)["ingest"]

    def stop_after_first_batch(claimed: Job, context: JobContext) -> Mapping[str, Any]:
        stop.set()  # SIGTERM arrives while the first batch is being written
        return real(claimed, context)

    assert worker(store, {"ingest": stop_after_first_batch}).run_once(stop) is not None
    released = store.jobs().get(job.id)
    assert released.status == "queued" and released.attempts == 0  # not counted
    assert 0 < db.count("raw_payloads") < ROWS  # the committed batch stays
    assert worker(store).drain(threading.Event()) == 1
    finished = store.jobs().get(job.id)
    assert finished.status == "succeeded" and finished.attempts == 1
    assert finished.result is not None and finished.result["raw_duplicates"] > 0
    assert db.count("raw_payloads") == db.count("records_order") == ROWS
    assert finished.progress is None or finished.progress.get("received", 0) <= ROWS


def test_transient_failures_are_retried_then_given_up(store: Store) -> None:
    calls: list[int] = []

    def flaky(job: Job, context: JobContext) -> Mapping[str, Any]:
        calls.append(job.attempts)
        raise StorageError("database went away")

    job, _ = store.jobs().submit("export", {"source": "customer_orders"})
    assert worker(store, {"export": flaky}).drain(threading.Event()) == 3
    failed = store.jobs().get(job.id)
    assert calls == [1, 2, 3] and failed.status == "failed" and failed.attempts == 3
    assert failed.error == "StorageError: database went away"


def test_permanent_failures_fail_at_once(store: Store, project: Path) -> None:
    (project / "data" / "gone.jsonl").write_text("{}\n")
    job, _ = store.jobs().submit("ingest", {"source": "customer_orders", "path": "gone.jsonl"})
    (project / "data" / "gone.jsonl").unlink()  # removed between submit and run
    assert worker(store).drain(threading.Event()) == 1
    failed = store.jobs().get(job.id)
    assert failed.status == "failed" and failed.attempts == 1
    assert failed.error is not None and "no such file" in failed.error


def test_lost_lease_stops_the_job_without_recording_it(store: Store) -> None:
    job, _ = store.jobs().submit("export", {"source": "customer_orders"})

    def stalls(claimed: Job, context: JobContext) -> Mapping[str, Any]:
        context.lease_lost.set()  # what the heartbeat does when another worker took over
        context.progress(records=1)
        return {"unreachable": True}

    assert worker(store, {"export": stalls}).run_once(threading.Event()) is not None
    still = store.jobs().get(job.id)
    assert still.status == "running" and still.result is None  # left for the new holder


def test_a_taken_over_job_makes_the_loop_return_for_a_fresh_store(store: Store) -> None:
    """A new owner may have ended this worker's database sessions (PostgreSQL, see
    docs/reliability.md): after such a job the loop returns True, so the worker opens a
    fresh store, instead of running the next job on dead connections."""
    import time

    first, _ = store.jobs().submit("export", {"source": "customer_orders"})
    second, _ = store.jobs().submit("export", {"source": "customer_orders", "format": "csv"})
    calls: list[str] = []
    stop = threading.Event()

    def taken_over(claimed: Job, context: JobContext) -> Mapping[str, Any]:
        calls.append(claimed.id)
        if claimed.id == second.id:  # before the fix: run on the same (dead) store
            stop.set()
            return {}
        # another worker claims it once the lease expired, ending our sessions
        assert store.control.jobs.claim("other", 30, time.time() + 1000).id == claimed.id
        raise StorageError("PostgreSQL connection failed: the connection is closed")

    looping = worker(store, {"export": taken_over})
    assert looping.run(stop, idle_wait=0.01) is True
    assert calls == [first.id]  # the next job was not run on this store
    assert store.jobs().get(second.id).status == "queued"
    taken = store.jobs().get(first.id)
    assert (taken.status, taken.lease_owner, taken.attempts) == ("running", "other", 2)
