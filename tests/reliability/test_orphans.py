"""Bug 1 of issue 14: an ingest killed with SIGKILL leaves no preparation process
behind, and the next ingest of the same data neither waits on the dead one's locks nor
loses or duplicates anything."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.backends import Database
from tests.e2e.cli import run
from tests.e2e.processes import child_env, spawn, stop, wait_for
from tests.reliability.support import (
    FORKING_BYTES,
    FORKING_ENV,
    alive,
    children,
    rows_for_bytes,
    write_orders,
)

pytestmark = pytest.mark.slow


def test_a_killed_ingest_leaves_no_preparation_process(
    project: Path, db: Database, tmp_path: Path
) -> None:
    # four times the fork threshold: the workers live long enough to be seen under load
    # (with 1.5x, a run on a loaded machine finished before a poll saw both workers)
    rows = rows_for_bytes(FORKING_BYTES * 4)
    write_orders(project / "data" / "big.jsonl", rows)
    env = child_env({"INGESTRY_WORKERS": "2", **FORKING_ENV})
    log = tmp_path / "ingest.log"
    proc = spawn("ingest", "customer_orders", "data/big.jsonl", cwd=project, env=env, log=log)

    def forked() -> set[int] | None:
        if proc.poll() is not None:
            raise AssertionError(f"the ingest ended ({proc.returncode}) before it was seen forking")
        found = children(proc.pid)
        return found if len(found) >= 2 else None

    try:
        workers = wait_for("the ingest to fork its preparation workers", forked)
        assert stop(proc, signal.SIGKILL) == -signal.SIGKILL
    finally:
        stop(proc, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while (left := alive(workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in left:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert not left, f"{len(left)} of {len(workers)} preparation processes outlived the ingest"

    again = run("ingest", "customer_orders", "data/big.jsonl", cwd=project, env=env)
    assert again.returncode == 0, again.stderr.decode()[-2000:]
    assert db.count("raw_payloads") == rows, "lost or duplicated raw payloads"
    assert db.count("records_order") == rows, "lost or duplicated records"
