"""Limits (issue 19 item 4), with real slow statements on every backend.

A statement past the limit is cancelled with an error naming the setting, the
connection stays usable, and nothing it wrote is kept; the API answers such a request
with 503 problem+json, and answers 503 with Retry-After when every pooled connection
stays busy past `limits.pool_wait_seconds`, instead of queuing forever.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

import ingestry
from ingestry import DepositionSource
from ingestry.config import load_settings
from ingestry.domain.errors import StatementTimeoutError
from ingestry.services.worker import is_permanent
from ingestry.store import Store
from tests.apiclient import api_client, auth, create_key
from tests.backends import Database

#: SQLite: a recursive CTE counting far; PostgreSQL: sleeping. Both ~forever.
SLOW = {
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
    "SELECT count(*) FROM (SELECT x FROM c LIMIT 1000000000)",
    "postgres": "SELECT pg_sleep(30)",
}
META = {"created_at": "2026-11-01T10:00:00Z", "total_price": "10.00"}


def conn_of(store: Store) -> Any:
    return store.storage._conn  # type: ignore[attr-defined]  # the storage's own connection


def test_a_slow_statement_is_cancelled_naming_the_setting(store: Store, db: Database) -> None:
    started = time.monotonic()
    with (
        pytest.raises(StatementTimeoutError) as caught,
        store.storage.statement_limit(0.3, "limits.statement_timeout_seconds"),
    ):
        conn_of(store).execute(SLOW[db.kind]).fetchall()
    took = time.monotonic() - started
    assert took < 10, took  # cancelled, not run to its end (which is ~forever)
    assert "0.3s" in str(caught.value) and "limits.statement_timeout_seconds" in str(caught.value)
    assert is_permanent(caught.value)  # a job would not be retried to time out again
    # the connection is usable and no longer limited
    srn = store.publish_record("order", DepositionSource("L-1"), META).srn
    assert store.get(srn).version == 1


def test_a_write_cut_by_the_limit_keeps_nothing(store: Store, db: Database) -> None:
    _ = store.storage  # opened (and migrated) first
    before = db.count("ingest_runs")
    with (
        pytest.raises(StatementTimeoutError),
        store.storage.statement_limit(0.3, "limits.job_statement_timeout_seconds"),
        store.storage.session() as session,
    ):
        session.start_run("srn:ingestry:run:limits", "customer_orders", [], "2026-12-02T00:00:00Z")
        conn_of(store).execute(SLOW[db.kind]).fetchall()
    assert db.count("ingest_runs") == before


def test_no_limit_is_zero_and_the_config_and_env_set_it(config_path: Path, db: Database) -> None:
    settings = load_settings(config_path, env={"INGESTRY_STATEMENT_TIMEOUT": "0.5"})
    assert settings.limits.statement_timeout_seconds == 0.5
    assert load_settings(config_path, env={}).limits.pool_wait_seconds == 5.0
    with ingestry.open(settings) as store, store.limited("job"):
        assert conn_of(store).execute("SELECT 1").fetchall()


def seed(config_path: Path, n: int) -> None:
    items = (
        (DepositionSource(f"S{i:06}"), {**META, "total_price": f"{i % 997}.{i % 100:02}"})
        for i in range(n)
    )
    with ingestry.open(config_path) as store:
        assert store.bulk_publish("order", items).created == n


def test_an_expensive_api_query_is_503_naming_the_limit(config_path: Path, db: Database) -> None:
    """50,000 records sorted on an unindexed column take tens of milliseconds on either
    backend; one millisecond of statement time cannot cover them."""
    seed(config_path, 50_000)
    token = create_key(config_path, "limits", [], admin=True)
    with api_client(config_path, {"INGESTRY_STATEMENT_TIMEOUT": "0.001"}) as client:
        got = client.get(
            "/v1/records",
            params={"convention": "order", "sort": "total", "desc": "true", "limit": 1000},
            headers=auth(token),
        )
        assert got.status_code == 503, got.text
        assert got.headers["content-type"].startswith("application/problem+json")
        body = got.json()
        assert body["error"]["code"] == "statement_timeout"
        assert "INGESTRY_STATEMENT_TIMEOUT" in body["detail"]
        assert client.get("/healthz").status_code == 200  # the API is still answering
    with api_client(config_path, {}) as client:  # the default limit lets it through
        got = client.get(
            "/v1/records",
            params={"convention": "order", "sort": "total", "desc": "true", "limit": 1000},
            headers=auth(token),
        )
        assert got.status_code == 200 and len(got.json()["items"]) == 1000


def test_an_exhausted_pool_is_503_with_retry_after(config_path: Path, db: Database) -> None:
    token = create_key(config_path, "pool", [], admin=True)
    env = {"INGESTRY_POOL_WAIT_SECONDS": "0.2"}
    with api_client(config_path, env) as client:
        pool = client.app.state.ingestry.pool  # type: ignore[attr-defined]
        held = threading.Event()
        release = threading.Event()

        def hold_one() -> None:
            with pool.borrow():
                held.set()
                release.wait(30)

        holders = [threading.Thread(target=hold_one) for _ in range(pool.size)]
        try:
            for thread in holders:
                held.clear()
                thread.start()
                assert held.wait(10)
            started = time.monotonic()
            got = client.get("/v1/records", params={"convention": "order"}, headers=auth(token))
            waited = time.monotonic() - started
        finally:
            release.set()
            for thread in holders:
                thread.join(10)
        assert got.status_code == 503, got.text
        assert got.headers["retry-after"] == "1"
        assert got.json()["error"]["code"] == "pool_exhausted"
        assert "INGESTRY_POOL_WAIT_SECONDS" in got.json()["detail"]
        assert waited < 10  # answered after the wait, not queued forever
        ok = client.get("/v1/records", params={"convention": "order"}, headers=auth(token))
        assert ok.status_code == 200
