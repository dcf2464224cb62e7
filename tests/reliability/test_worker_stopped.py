"""SIGSTOP of a worker past its lease (issue 14's suite, both backends): another worker
takes the job over and does it once; the stopped one, continued, notices it lost the
lease and records nothing. A PostgreSQL session the stopped worker left idle in its
transaction is ended by `idle_in_transaction_session_timeout` (INGESTRY_PG_IDLE_TIMEOUT),
so the new owner never waits on its locks."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.backends import Database
from tests.e2e.cli import run
from tests.e2e.processes import child_env, spawn, stop, wait_for
from tests.e2e.test_api_worker import writes_blocked
from tests.reliability.support import write_orders

pytestmark = pytest.mark.slow

ROWS = 20_000


def test_a_stopped_worker_past_its_lease_is_taken_over_and_the_job_done_once(
    project: Path, db: Database, tmp_path: Path
) -> None:
    env = child_env({"INGESTRY_JOBS_LEASE_SECONDS": "2", "INGESTRY_WORKERS": "0",
                     "INGESTRY_PG_IDLE_TIMEOUT": "2"})  # fmt: skip
    write_orders(project / "data" / "in.jsonl", ROWS)
    made = run("jobs", "submit", "ingest", "--source", "customer_orders", "--path", "in.jsonl",
               cwd=project, env=env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    first = spawn("worker", cwd=project, env=env, log=tmp_path / "worker1.log")
    second = None
    try:
        wait_for(
            "the first worker to commit a batch",
            lambda: ("raw_payloads" in db.tables() and db.count("raw_payloads") > 0) or None,
        )
        with writes_blocked(db):  # it stops at its next batch, holding no write lock
            first.send_signal(signal.SIGSTOP)
        second = spawn("worker", cwd=project, env=env, log=tmp_path / "worker2.log")
        wait_for(
            "the second worker to finish the job",
            lambda: db.count("jobs", "WHERE status IN ('succeeded', 'failed')") or None,
            timeout=120,
        )
        first.send_signal(signal.SIGCONT)
        wait_for(
            "the first worker to notice it lost the lease",
            lambda: "lease was taken over" in (tmp_path / "worker1.log").read_text() or None,
            timeout=30,
        )
    finally:
        first.send_signal(signal.SIGCONT)
        codes = [stop(first), stop(second) if second else 0]
    status, attempts, error = db.rows("SELECT status, attempts, error FROM jobs")[0]
    records = db.count("records_order")
    raw = db.count("raw_payloads")
    figures = f"job {status} after {attempts} attempts; {records} records, {raw} raw"
    print(figures)
    assert codes == [0, 0], (codes, (tmp_path / "worker1.log").read_text()[-2000:])
    assert status == "succeeded" and attempts == 2, (figures, error)
    assert records == raw == ROWS, figures
    assert db.count("ingest_runs", "WHERE status = 'succeeded'") <= 2, figures
