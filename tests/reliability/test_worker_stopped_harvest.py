"""SIGSTOP of a worker in the middle of a harvest job (issue 14): the source's run lock
(never two runs of one source at once) must not outlive the stopped worker's lease.

The stopped worker holds the run lock: on PostgreSQL a session advisory lock, on
SQLite an `flock`. Before the fix, the worker that took the job over met that lock,
finished the job as `{"skipped": "a run of source 'api' is in progress"}` and pulled
nothing while the first stayed stopped. Now the run lock is the lease's: the takeover
ends the stopped owner's lock session (PostgreSQL, `application_name` naming the
lease), or breaks a lock file whose recorded owner holds no live lease (SQLite), so the
taken-over job harvests every item once and sets the cursor, with the first worker
still stopped. Continued, that worker notices its lost lease and records nothing."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import ingestry
from tests.backends import Database
from tests.conftest import DEFAULT_SQLITE
from tests.e2e.processes import child_env, spawn, stop, wait_for
from tests.harvest_upstream import Upstream, make_items, serve
from tests.integration.harvest_support import as_json, records, source_yaml, write_config

pytestmark = pytest.mark.slow

ITEMS = 300
PAGE = 10
#: The job must finish within this while its first worker stays stopped (lease 2 s, a
#: heartbeat stopped inside its transaction holds the job row up to 10 s, a worker's
#: start and a 30-page run on a loaded 2-core machine).
TAKEOVER_BOUND = 90.0


#: A continued worker notices at its next heartbeat or checkpoint; on a loaded 2-core CI
#: machine (4 test workers) a page in flight plus SQLite's busy wait took more than 30 s.
LOST_LEASE_BOUND = 90.0


def noticed(log: str) -> bool:
    """The continued worker gave the job up: abandoned at a checkpoint, or its attempt
    ended (finished or failed) and the queue refused it because the lease had moved."""
    return "job abandoned" in log or "job finished after its lease was taken over" in log


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with serve(Upstream(items=make_items(ITEMS), page_size=PAGE)) as up:
        yield up


def test_a_harvest_taken_over_from_a_stopped_worker_runs_while_it_stays_stopped(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    upstream.delay = 0.2  # the first worker is stopped a few pages into its run
    url = db.url if db.kind == "postgres" else DEFAULT_SQLITE
    extra = "cursor: {field: updated_at, param: since}"
    source = source_yaml("api", upstream.url + "/link", "{type: link_header}", None, extra=extra)
    path = write_config(tmp_path, url, source)
    with ingestry.open(path) as store:
        store.jobs().submit("harvest", {"source": "api"})
    env = child_env({"INGESTRY_JOBS_LEASE_SECONDS": "2", "INGESTRY_WORKERS": "0",
                     "INGESTRY_JOBS_MAX_ATTEMPTS": "5"})  # fmt: skip
    first = spawn("worker", cwd=tmp_path, env=env, log=tmp_path / "worker1.log")
    second = None
    try:
        wait_for("the first worker to commit two pages",
                 lambda: ("harvest_pages" in db.tables() and db.count("harvest_pages") >= 2)
                 or None, timeout=60)  # fmt: skip
        first.send_signal(signal.SIGSTOP)  # holding the source's run lock
        stopped_at = time.monotonic()
        upstream.delay = 0.0
        second = spawn("worker", cwd=tmp_path, env=env, log=tmp_path / "worker2.log")
        finished = "WHERE status IN ('succeeded', 'failed')"
        wait_for("the job to finish while its first worker stays stopped",
                 lambda: db.count("jobs", finished) or None, timeout=TAKEOVER_BOUND)  # fmt: skip
        took = time.monotonic() - stopped_at
        assert first.poll() is None  # still stopped: the takeover did not wait for it
        with ingestry.open(path) as store:
            taken = records(store)
            cursor = store.harvest_cursor("api")
        first.send_signal(signal.SIGCONT)
        log1 = tmp_path / "worker1.log"
        try:
            wait_for(
                "the continued worker to notice its lost lease",
                lambda: noticed(log1.read_text()) or None,
                timeout=LOST_LEASE_BOUND,
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}; its log ends: {log1.read_text()[-3000:]}") from exc
    finally:
        if first.poll() is None:
            first.send_signal(signal.SIGCONT)
        codes = [stop(first), stop(second) if second else 0]
    ((status, attempts, error, result),) = db.rows(
        "SELECT status, attempts, error, result FROM jobs"
    )
    result = json.loads(result) if isinstance(result, str) else result
    distinct = db.scalar("SELECT count(DISTINCT source_id) FROM records_item")
    count = db.count("records_item")
    with ingestry.open(path) as store:
        after = store.harvest_cursor("api")
    figures = (f"job {status} after {attempts} attempts, {took:.1f}s after the stop; "
               f"{count} records ({distinct} distinct); result {result}")  # fmt: skip
    print(figures)
    log2 = (tmp_path / "worker2.log").read_text()[-3000:]
    assert status == "succeeded" and attempts == 2, (figures, error, log2)
    assert "skipped" not in result, (figures, log2)
    assert taken == as_json(upstream.items), figures
    assert count == distinct == ITEMS, figures
    newest = max(i["updated_at"] for i in upstream.items)
    assert cursor == after == newest, (cursor, after, newest)
    assert codes == [0, 0], (codes, (tmp_path / "worker1.log").read_text()[-3000:])
