"""Bug 1 of issue 14, the server side: an ingest never waits forever on a lock a stuck
session holds. The PostgreSQL session sets `lock_timeout` (INGESTRY_PG_LOCK_TIMEOUT) and
`idle_in_transaction_session_timeout` (INGESTRY_PG_IDLE_TIMEOUT); a lock wait that runs
out is an error naming the source and what to do."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest

import ingestry
from ingestry.adapters.postgres.url import libpq_url
from tests.backends import Database
from tests.e2e.cli import run
from tests.reliability.support import write_orders


@pytest.fixture
def backend() -> str:
    return "postgres"


def test_an_ingest_behind_a_stuck_lock_fails_clearly(project: Path, db: Database) -> None:
    write_orders(project / "data" / "a.jsonl", 50)
    # the set-up and the re-run in-process (two CLI starts less); the blocked ingest,
    # whose exit code and message are the point, is the CLI's
    with ingestry.open(project / "ingestry.yaml") as store:
        store.ingest_files("customer_orders", [project / "data" / "a.jsonl"])
    with psycopg.connect(libpq_url(db.url)) as stuck:  # a session left in a transaction
        stuck.execute("LOCK TABLE records_order IN EXCLUSIVE MODE")
        started = time.monotonic()
        blocked = run(
            "ingest",
            "customer_orders",
            "data/a.jsonl",
            cwd=project,
            env={"INGESTRY_PG_LOCK_TIMEOUT": "1"},
        )
        waited = time.monotonic() - started
        stuck.rollback()
    err = blocked.stderr.decode()
    assert blocked.returncode == 1, err
    assert waited < 30, f"waited {waited:.1f}s for a 1 s lock timeout"
    assert "customer_orders" in err and "lock" in err, err
    assert "INGESTRY_PG_LOCK_TIMEOUT" in err, err
    with ingestry.open(project / "ingestry.yaml") as store:
        store.ingest_files("customer_orders", [project / "data" / "a.jsonl"])
    assert db.count("records_order") == 50


def test_session_timeouts_are_set_and_configurable(db: Database) -> None:
    from ingestry.adapters.postgres.storage import connect

    conn = connect(db.url)
    try:
        assert conn.execute("SHOW lock_timeout").fetchone() == ("2min",)
        assert conn.execute("SHOW idle_in_transaction_session_timeout").fetchone() == ("5min",)
    finally:
        conn.close()


def test_bad_timeout_setting_is_a_config_error(project: Path) -> None:
    bad = run(
        "ingest",
        "customer_orders",
        "data/samples/orders.jsonl",
        cwd=project,
        env={"INGESTRY_PG_LOCK_TIMEOUT": "soon"},
    )
    assert bad.returncode != 0
    assert "INGESTRY_PG_LOCK_TIMEOUT must be a number" in bad.stderr.decode()
