"""kill -9 of CLI ingests at random points (issue 14's suite): after every kill no
process of the ingest is left, the store passes its integrity check, and the re-run
completes with every row once: 0 lost, 0 duplicated.

N kills per backend: INGESTRY_RELIABILITY_KILLS (6 in CI; the nightly size is in
docs/reliability.md). The kill points are stratified: kill n of N lands at a random
point (seeded by INGESTRY_RELIABILITY_SEED, printed on failure) of the n-th of N equal
slices of the time a whole ingest takes, so every phase (start-up, migration, forking,
batches, the end) is hit in every run. Ten independent uniform points left whole
phases unhit now and then; six stratified ones do not, at 60% of the cost.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest

from tests.backends import Database
from tests.e2e.cli import run
from tests.e2e.processes import child_env, spawn, stop
from tests.reliability.support import (
    FORKING_BYTES,
    FORKING_ENV,
    alive,
    children,
    env_count,
    integrity_ok,
    rows_for_bytes,
    write_orders,
)

pytestmark = pytest.mark.slow


def test_killed_ingests_lose_and_duplicate_nothing(
    project: Path, db: Database, tmp_path: Path
) -> None:
    kills = env_count("INGESTRY_RELIABILITY_KILLS", 6)
    seed = env_count("INGESTRY_RELIABILITY_SEED", random.randrange(1 << 30))
    rng = random.Random(seed)
    rows = rows_for_bytes(FORKING_BYTES)  # big enough to prepare in forked workers
    files = [f"data/part{n}.jsonl" for n in range(kills)]
    for n, name in enumerate(files):  # each killed run writes rows nobody wrote before
        write_orders(project / name, rows, prefix=f"K{n}-")
    env = child_env({"INGESTRY_WORKERS": "2", **FORKING_ENV})
    started = time.monotonic()  # how long an undisturbed ingest of one file takes (into
    # another source, whose records are its own), so kill points span a whole ingest
    whole = run("ingest", "orders_simple", files[0], cwd=project, env=env)
    assert whole.returncode == 0, whole.stderr
    span = time.monotonic() - started
    orphans = finished = 0
    for n, name in enumerate(files):
        proc = spawn("ingest", "customer_orders", name, cwd=project, env=env,
                     log=tmp_path / f"kill{n}.log")  # fmt: skip
        family: set[int] = set()
        deadline = time.monotonic() + max(0.1, span * (n + rng.random()) / kills)
        while time.monotonic() < deadline and proc.poll() is None:
            family |= children(proc.pid)
            time.sleep(0.02)
        if stop(proc, signal.SIGKILL) == 0:
            finished += 1  # it finished before its kill point
        end = time.monotonic() + 10
        while (left := alive(family)) and time.monotonic() < end:
            time.sleep(0.05)
        orphans += len(left)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        assert integrity_ok(db), f"seed {seed}: integrity check failed after kill {n + 1}"
    again = run("ingest", "customer_orders", *files, cwd=project, env=env)
    assert again.returncode == 0, again.stderr.decode()[-2000:]
    total = rows * kills
    raw = db.count("raw_payloads", "WHERE source = 'customer_orders'")
    distinct = db.scalar(
        "SELECT count(DISTINCT sha256) FROM raw_payloads WHERE source = 'customer_orders'"
    )
    records = db.count("records_order", "WHERE data_source = 'customer_orders'")
    figures = (
        f"seed {seed}: {kills} kills ({finished} finished first), {orphans} orphans, "
        f"{total} rows: {raw} raw ({distinct} distinct), {records} records"
    )
    print(figures)
    assert orphans == 0, figures
    assert raw == distinct == total and records == total, figures
