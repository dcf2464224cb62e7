"""End to end: a real uvicorn server and real worker processes over one database.

The crash test kills a worker with SIGKILL while it holds a job in the middle of an
ingest; a second worker takes the job over once the lease expires and finishes it,
exactly once: one successful run, every record once, no duplicate raw rows.
"""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from ingestry.domain.records import record_srn
from tests.backends import Database
from tests.e2e.cli import run
from tests.e2e.processes import child_env, server, spawn, stop, wait_for
from tests.integration.test_ingest import order

pytestmark = pytest.mark.slow

ROWS = 60_000
LEASE = "2"


def write_orders(path: Path, n: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for start in range(0, n, 5000):
            chunk = range(start, min(n, start + 5000))
            out.write(b"".join(orjson.dumps(order(f"K{i:06}")) + b"\n" for i in chunk))


@contextmanager
def writes_blocked(db: Database) -> Iterator[None]:
    """Hold the database's write lock (SQLite) or the record table's (PostgreSQL), so a
    worker in the middle of an ingest stops at its next batch, wherever it is."""
    if db.sqlite_file is not None:
        conn = sqlite3.connect(db.sqlite_file, isolation_level=None, timeout=60)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    import psycopg

    from ingestry.adapters.postgres.url import libpq_url

    with psycopg.connect(libpq_url(db.url)) as conn:
        conn.execute("LOCK TABLE records_order IN EXCLUSIVE MODE")
        yield
        conn.rollback()


def job(client: httpx.Client, token: str, job_id: str) -> dict[str, Any]:
    found: dict[str, Any] = client.get(f"/v1/jobs/{job_id}", headers={"X-API-Key": token}).json()
    return found


def test_worker_killed_mid_job_is_replaced_and_the_job_completes_once(
    project: Path, db: Database, tmp_path: Path
) -> None:
    env = child_env({"INGESTRY_JOBS_LEASE_SECONDS": LEASE, "INGESTRY_WORKERS": "0"})
    write_orders(project / "data" / "inbox" / "customer_orders" / "orders.jsonl", ROWS)
    made = run(
        "keys", "create", "--name", "e2e", "--sources", "customer_orders", cwd=project, env=env
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.decode().strip()
    headers = {"X-API-Key": token}
    logs = tmp_path / "logs"
    logs.mkdir()
    with server(project, env, logs / "server.log") as client:
        # the API itself, over a real socket
        posted = client.post(
            "/v1/sources/customer_orders/payloads", json=order("HTTP1"), headers=headers
        )
        assert posted.status_code == 200 and posted.json()["records_created"] == 1
        got = client.get(
            f"/v1/records/{record_srn('order', 'harvest', 'customer_orders', 'HTTP1')}",
            headers=headers,
        )
        assert got.status_code == 200 and got.headers["x-request-id"]

        spec = {"kind": "ingest", "source": "customer_orders", "path": "orders.jsonl"}
        submitted = client.post("/v1/jobs", json=spec, headers={**headers, "Idempotency-Key": "k"})
        assert submitted.status_code == 202, submitted.text
        job_id = submitted.json()["id"]

        first = spawn("worker", cwd=project, env=env, log=logs / "worker1.log")
        try:
            wait_for(  # progress is reported as batches are read: wait for a commit
                "the first worker to commit a batch",
                lambda: db.count("raw_payloads") > 1,  # beyond the HTTP post's row
            )
            with writes_blocked(db):
                state = job(client, token, job_id)
                assert state["status"] == "running" and state["attempts"] == 1, state
                assert stop(first, signal.SIGKILL) == -signal.SIGKILL
        finally:
            stop(first, signal.SIGKILL)
        assert job(client, token, job_id)["status"] == "running"  # held by a dead worker

        second = spawn("worker", cwd=project, env=env, log=logs / "worker2.log")
        try:
            done = wait_for(
                "the second worker to finish the job",
                lambda: (
                    (s := job(client, token, job_id))["status"] in ("succeeded", "failed") and s
                ),
                timeout=300,
            )
        finally:
            assert stop(second, signal.SIGTERM) == 0, (logs / "worker2.log").read_text()[-3000:]
        assert done["status"] == "succeeded", done
        assert done["attempts"] == 2 and "stopped renewing its lease" in (done["error"] or "")
        result = client.get(f"/v1/jobs/{job_id}/result", headers=headers).json()["result"]
        assert result["received"] == ROWS
        assert result["raw_duplicates"] > 0  # the dead worker's batches were kept...
        assert result["raw_stored"] + result["raw_duplicates"] == ROWS  # ...and not redone
    assert db.count("raw_payloads") == ROWS + 1
    assert db.count("records_order") == ROWS + 1
    statuses = sorted(
        r[0] for r in db.rows("SELECT status FROM ingest_runs WHERE source = 'customer_orders'")
    )
    assert statuses == ["running", "succeeded", "succeeded"]  # HTTP post, dead run, job run
    assert db.count("jobs", "WHERE status = 'succeeded'") == 1


def test_worker_once_and_sigterm_when_idle(project: Path, db: Database, tmp_path: Path) -> None:
    env = child_env({"INGESTRY_WORKERS": "0"})
    idle = spawn("worker", cwd=project, env=env, log=tmp_path / "idle.log")
    wait_for("the worker to start", lambda: "jobs" in db.tables() or None)
    assert stop(idle, signal.SIGTERM, timeout=20) == 0
    with __import__("ingestry").open(project / "ingestry.yaml") as store:
        queued, _ = store.jobs().submit("export", {"source": "customer_orders"})
    once = run("worker", "--once", cwd=project, env=env)
    assert once.returncode == 0, once.stderr
    lines = [orjson.loads(line) for line in once.stderr.splitlines() if line.startswith(b"{")]
    assert any(line.get("job_id") == queued.id or line.get("job") == queued.id for line in lines)
    assert db.scalar("SELECT status FROM jobs WHERE id = :i", i=queued.id) == "succeeded"


@pytest.mark.redis
def test_worker_consumes_a_redis_stream(project: Path, db: Database, redis_url: str) -> None:
    import secrets

    from ingestry.bootstrap import redis_client

    stream = f"ingestry:e2e:{secrets.token_hex(6)}"
    client = redis_client(redis_url)
    try:
        for ident in ("S1", "S2", "S3"):
            client.xadd(
                stream, {"source": "customer_orders", "payload": orjson.dumps(order(ident))}
            )
        env = child_env({"INGESTRY_CACHE_URL": redis_url, "INGESTRY_WORKERS": "0"})
        done = run("worker", "--once", "--stream", stream, cwd=project, env=env)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        assert db.count("records_order") == 3
        assert int(client.xpending(stream, "ingestry")["pending"]) == 0
    finally:
        client.delete(stream)
        client.close()


def test_jobs_from_the_command_line(project: Path, db: Database) -> None:
    env = child_env({"INGESTRY_WORKERS": "0"})
    args = ("jobs", "submit", "ingest", "--source", "customer_orders")
    outside = run(*args, "--path", "../ingestry.yaml", cwd=project, env=env)
    assert outside.returncode == 1 and b"data root" in outside.stderr
    made = run(
        *args, "--path", "samples/orders.jsonl", "--idempotency-key", "k", cwd=project, env=env
    )
    again = run(
        *args, "--path", "samples/orders.jsonl", "--idempotency-key", "k", cwd=project, env=env
    )
    assert made.returncode == again.returncode == 0, made.stderr
    job = orjson.loads(made.stdout)
    assert orjson.loads(again.stdout)["id"] == job["id"] and job["status"] == "queued"
    assert run("worker", "--once", cwd=project, env=env).returncode == 0
    shown = orjson.loads(run("jobs", "show", job["id"], cwd=project, env=env).stdout)
    assert shown["status"] == "succeeded" and shown["result"]["records_created"] == 43
    assert db.count("records_order") == 43


def test_worker_dispatches_events_so_hooks_produce_features(project: Path, db: Database) -> None:
    import shutil

    import ingestry
    from tests.conftest import EXAMPLES

    (project / "hooks").mkdir()
    shutil.copy(EXAMPLES / "hooks" / "risk.py", project / "hooks" / "risk.py")
    config = project / "ingestry.yaml"
    text = config.read_text()
    hook = '    hooks:\n      - {name: risk, run: "python hooks/risk.py", timeout: 30}\n'
    config.write_text(text.replace("  exchange_rate:\n", hook + "  exchange_rate:\n", 1))
    with ingestry.open(config) as store:
        store.ingest("customer_orders", [order("EV1")])
    env = child_env({"INGESTRY_WORKERS": "0"})
    done = run("worker", "--once", cwd=project, env=env)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    with ingestry.open(config) as store:
        features = store.features(record_srn("order", "harvest", "customer_orders", "EV1"))
    assert [f.name for f in features] == ["risk"] and features[0].hook == "risk"
