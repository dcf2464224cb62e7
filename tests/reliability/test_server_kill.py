"""The API server killed (SIGKILL) under 16 clients that retry with Idempotency-Keys:
every acknowledged payload is stored once, none twice, no client sees a 5xx, and the
retries converge within seconds of the restart (issue 14's suite, both backends)."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import orjson
import pytest

from tests.apiclient import create_key
from tests.backends import Database
from tests.e2e.processes import child_env, free_port, spawn, stop, wait_for
from tests.integration.test_ingest import order
from tests.reliability.support import env_count

pytestmark = pytest.mark.slow

CLIENTS = 16
PATH = "/v1/sources/customer_orders/payloads"


def test_server_killed_under_retrying_clients_loses_and_duplicates_nothing(
    project: Path, db: Database, tmp_path: Path
) -> None:
    per_client = env_count("INGESTRY_RELIABILITY_POSTS", 8)
    kills = env_count("INGESTRY_RELIABILITY_SERVER_KILLS", 2)
    env = child_env(
        {"INGESTRY_API_RATE_LIMIT": "100000", "INGESTRY_API_RATE_BURST": "100000",
         "INGESTRY_API_IDEMPOTENCY_LEASE_SECONDS": "1", "INGESTRY_WORKERS": "0"}
    )  # fmt: skip
    # in-process: a CLI process start per test cost seconds under load (`keys create`
    # from the CLI is tested in tests/e2e)
    token = create_key(project / "ingestry.yaml", "k", ["customer_orders"])
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    def start(n: int) -> object:
        proc = spawn("serve", "--host", "127.0.0.1", "--port", str(port), cwd=project, env=env,
                     log=tmp_path / f"server{n}.log")  # fmt: skip

        def healthy() -> bool | None:
            try:
                return httpx.get(f"{base}/healthz", timeout=2).status_code == 200 or None
            except httpx.TransportError:
                return None

        wait_for("the server to answer", healthy)
        return proc

    acks: dict[str, int] = {}
    server_errors: list[str] = []
    lock = threading.Lock()
    done_at: list[float] = []

    def client(c: int) -> None:
        with httpx.Client(base_url=base, timeout=10) as http:
            for i in range(per_client):
                key = f"c{c}-{i}"
                body = orjson.dumps(order(f"S{c:02}-{i:03}"))
                headers = {"X-API-Key": token, "Idempotency-Key": key,
                           "content-type": "application/json"}  # fmt: skip
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    try:
                        answer = http.post(PATH, content=body, headers=headers)
                    except httpx.TransportError:
                        time.sleep(0.05)  # the server is down: retry
                        continue
                    if answer.status_code >= 500:
                        with lock:
                            server_errors.append(f"{answer.status_code} {answer.text[:200]}")
                    if answer.status_code == 200:
                        with lock:
                            acks[key] = acks.get(key, 0) + 1
                        break
                    time.sleep(0.1)  # 409 (claim in flight, lapses in 1 s), 5xx: retry
        with lock:
            done_at.append(time.monotonic())

    server = start(0)
    threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    for t in threads:
        t.start()
    restarted_at = 0.0
    try:
        for n in range(1, kills + 1):
            wait_for("some acknowledgements", lambda n=n: len(acks) >= n * 8 or None, 60)
            stop(server, signal.SIGKILL)  # type: ignore[arg-type]
            time.sleep(0.3)
            server = start(n)
            restarted_at = time.monotonic()
        for t in threads:
            t.join(180)
    finally:
        stop(server, signal.SIGTERM)  # type: ignore[arg-type]
    converged = max(done_at) - restarted_at if done_at else float("inf")
    expected = CLIENTS * per_client
    records = db.count("records_order", "WHERE data_source = 'customer_orders'")
    raw = db.count("raw_payloads", "WHERE source = 'customer_orders'")
    figures = (
        f"{kills} server kills, {len(acks)} of {expected} acknowledged, "
        f"{records} records, {raw} raw, {len(server_errors)} 5xx, "
        f"converged {converged:.1f}s after the last restart"
    )
    print(figures)
    assert len(acks) == expected and set(acks.values()) == {1}, figures
    assert records == raw == expected, figures
    assert not server_errors, f"{figures}: {server_errors[:3]}"
    assert converged < 30, figures
