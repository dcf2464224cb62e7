"""Bug 4 of issue 14: a worker whose loop keeps crashing restarts it with backoff, then
gives up with a non-zero exit (a process supervisor restarts a failed worker, not one
that exited 0); a loop that crashes once is restarted and the worker keeps working."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import ingestry
from ingestry.entrypoints.worker.supervise import LoopFailure, RestartPolicy, supervise
from tests.backends import Database
from tests.e2e.processes import child_env, spawn, stop, wait_for

pytestmark = pytest.mark.slow


def test_a_loop_that_keeps_crashing_makes_the_worker_exit_non_zero(
    project: Path, db: Database, tmp_path: Path
) -> None:
    with ingestry.open(project / "ingestry.yaml") as store:  # in-process: a CLI start less
        store.ingest_files("customer_orders", [project / "data" / "samples" / "orders.jsonl"])
    db.execute("DROP TABLE idempotency_keys")  # the maintenance loop's prune now fails
    env = child_env(
        {"INGESTRY_WORKER_MAX_RESTARTS": "2", "INGESTRY_WORKER_RESTART_BACKOFF": "0.1",
         "INGESTRY_WORKERS": "0"}
    )  # fmt: skip
    log = tmp_path / "worker.log"
    proc = spawn("worker", cwd=project, env=env, log=log)
    try:
        code = wait_for("the worker to give up", proc.poll, timeout=60)
    finally:
        stop(proc)
    text = log.read_text()
    assert code == 1, f"exit {code}: {text[-2000:]}"
    assert text.count("worker loop maintenance crashed (restart") == 2, text[-3000:]
    assert "giving up" in text and "idempotency_keys" in text, text[-2000:]


def test_a_crashed_loop_is_restarted_after_a_pause() -> None:
    stop_event = threading.Event()
    failures = LoopFailure()
    runs: list[int] = []

    def body() -> None:
        runs.append(1)
        if len(runs) < 3:
            raise RuntimeError("database is locked")

    supervise("jobs-0", body, stop_event, RestartPolicy(max_restarts=2, backoff=0.01), failures)
    assert len(runs) == 3 and not failures.failed and not stop_event.is_set()

    runs.clear()

    def always() -> None:
        runs.append(1)
        raise RuntimeError("broken")

    supervise("jobs-1", always, stop_event, RestartPolicy(max_restarts=2, backoff=0.01), failures)
    assert len(runs) == 3, f"ran {len(runs)} times"
    assert stop_event.is_set() and "jobs-1 crashed 3 times" in failures.failed[0]
