"""A job interrupted by a write its lease fences (a harvest's cursor: the store checks
the lease in the write's own transaction) may stop before the worker's heartbeat has
noticed the takeover. The worker then finds the queue refusing the release, since the
lease moved on, and abandons the job, as it would after its heartbeat had noticed:
the job stays the new owner's, never queued again by the stale worker."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest

from ingestry.services.worker import JobContext, JobInterruptedError, JobWorker
from ingestry.store import Store


def test_an_interrupted_job_whose_lease_moved_on_is_abandoned_not_released(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    queue = store.control.jobs
    job, _ = store.jobs().submit("verify", {})
    taken: list[Any] = []

    def fenced(_job: Any, _context: JobContext) -> dict[str, Any]:
        # another worker takes the job over (the lease had expired by its clock) ...
        taken.append(queue.claim("new-owner", 60.0, time.time() + 3600))
        # ... and a lease-fenced write of this run refuses before any heartbeat
        raise JobInterruptedError("the cursor write found the lease gone")

    worker = JobWorker(queue, {"verify": fenced}, worker_id="stale", lease_seconds=30)
    with caplog.at_level(logging.INFO, logger="ingestry"):
        assert worker.run_once(threading.Event()) is not None
    assert taken[0] is not None and taken[0].id == job.id
    assert worker.lease_taken
    assert "job abandoned" in caplog.text and "job released" not in caplog.text
    after = store.jobs().get(job.id)
    assert (after.status, after.lease_owner) == ("running", "new-owner")
