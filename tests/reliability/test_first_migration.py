"""Bug 3 of issue 14: concurrent first ingests on a new store all succeed (the first
migration is serialized: a file lock on SQLite, an advisory lock on PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.backends import Database
from tests.e2e.processes import child_env
from tests.reliability.support import write_orders

pytestmark = pytest.mark.slow

CONCURRENT = 6


def test_concurrent_first_ingests_on_a_new_store_all_succeed(project: Path, db: Database) -> None:
    for n in range(CONCURRENT):
        write_orders(project / "data" / f"part{n}.jsonl", 20, prefix=f"P{n}-")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "ingestry", "ingest", "customer_orders", f"data/part{n}.jsonl"],
            cwd=project,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in range(CONCURRENT)
    ]
    errors = []
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            errors.append(err.decode()[-500:])
    assert not errors, f"{len(errors)} of {CONCURRENT} first ingests failed: {errors}"
    assert db.count("records_order") == 20 * CONCURRENT
