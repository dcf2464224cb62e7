"""Two API processes and a worker over one database and one Redis cache.

A write through one API process is read through the other at once (the writer
advances the shared pointer after its commit). A write by a process that does not share
the cache (here a CLI ingest run with `cache: none`) is read stale until the worker's
dispatcher delivers its event, never longer: the test measures that window and checks
that once the new version was seen, the old one never comes back.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import httpx
import orjson
import pytest

from ingestry.adapters.sql.intake import UNTAKEN_COUNT
from ingestry.domain.records import record_srn
from tests.backends import Database
from tests.e2e.cli import run
from tests.e2e.processes import child_env, server, spawn, stop, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.redis]

N = 20
#: The worker's dispatcher polls every second; a delivery past this is a failure.
WINDOW_LIMIT = 10.0


def write_rows(path: Path, run: str, total: str) -> None:
    rows = (
        {"id": f"E{run}-{i:03}", "created_at": "2026-11-01T10:00:00Z", "total_price": total}
        for i in range(N)
    )
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))


def srns(run: str) -> list[str]:
    return [record_srn("order", "harvest", "orders_simple", f"E{run}-{i:03}") for i in range(N)]


def test_two_api_processes_and_a_worker_are_never_stale_beyond_delivery(
    project: Path, db: Database, tmp_path: Path, redis_url: str
) -> None:
    env = child_env({"INGESTRY_CACHE_URL": redis_url, "INGESTRY_WORKERS": "0"})
    rows = tmp_path / "rows.jsonl"
    key = secrets.token_hex(4)  # unique: test runs share Redis, and srns name no database
    write_rows(rows, key, "1.00")
    assert run("ingest", "orders_simple", str(rows), cwd=project, env=env).returncode == 0
    made = run(
        "keys", "create", "--name", "e2e", "--sources", "orders_simple", cwd=project, env=env
    )
    assert made.returncode == 0, made.stderr
    headers = {"X-API-Key": made.stdout.decode().strip()}
    logs = tmp_path / "logs"
    logs.mkdir()

    def version(client: httpx.Client, srn: str) -> int:
        got = client.get(f"/v1/records/{srn}", headers=headers)
        assert got.status_code == 200, got.text
        return int(got.json()["version"])

    with server(project, env, logs / "a.log") as a, server(project, env, logs / "b.log") as b:
        worker = spawn("worker", cwd=project, env=env, log=logs / "worker.log")
        try:
            for srn in srns(key):  # warm B's reads (and so the shared cache)
                assert version(b, srn) == 1 and version(b, srn) == 1
            # 1. written through A: read through B at once
            first = srns(key)[0]
            meta = {"created_at": "2026-11-01T10:00:00Z", "total_price": "5.00"}
            patched = a.patch(
                f"/v1/records/{first}",
                json={"metadata": meta},
                headers={**headers, "If-Match": "1"},
            )
            assert patched.status_code == 200, patched.text
            assert version(b, first) == 2
            wait_for("the worker to deliver every event", lambda: undelivered(db) == 0)
            # 2. written by a process without the cache: stale until delivered
            write_rows(rows, key, "2.00")
            blind = {**env, "INGESTRY_CACHE_URL": "none"}
            assert run("ingest", "orders_simple", str(rows), cwd=project, env=blind).returncode == 0
            committed = time.monotonic()
            seen: dict[str, float] = {}
            while len(seen) < N and time.monotonic() - committed < WINDOW_LIMIT:
                for srn in srns(key):
                    now = version(b, srn)
                    if srn in seen:
                        assert now >= 2, f"{srn} went back to version {now}"
                    elif now >= 2:
                        seen[srn] = time.monotonic() - committed
                time.sleep(0.01)
            window = max(seen.values(), default=float("inf"))
            print(f"\nstale window after commit: max {window:.3f}s over {len(seen)} records")
            assert len(seen) == N, f"only {len(seen)} of {N} records refreshed in {WINDOW_LIMIT}s"
            assert all(version(a, srn) >= 2 for srn in srns(key))
        finally:
            assert stop(worker) == 0, (logs / "worker.log").read_text()[-3000:]


def undelivered(db: Database) -> int:
    """Events in the outbox, and on SQLite the changes not yet taken in (its changes
    feed is its outbox: adapters/sql/intake.py)."""
    waiting = db.count("record_events")
    if db.kind == "sqlite":
        waiting += int(db.scalar(UNTAKEN_COUNT))
    return waiting
