"""PostgreSQL: taking over an expired job lease ends the old owner's data sessions
(found by their application_name), never the taker's own, nor the control pool's
(docs/reliability.md, "A stopped worker's locks"). The stopped-inside-a-COPY case end
to end is tests/reliability/test_worker_stopped.py."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from ingestry.bootstrap import lease_owner_settings
from ingestry.config import load_settings
from ingestry.store import Store, open_store
from tests.backends import Database

pytestmark = pytest.mark.postgres


def _sessions(db: Database, name: str) -> int:
    return db.count("pg_stat_activity", f"WHERE application_name = '{name}'")


def _worker_store(config_path: Path, worker: str) -> Store:
    store = open_store(lease_owner_settings(load_settings(config_path), worker))
    _ = store.storage  # its data session is open now
    return store


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_takeover_ends_the_old_owners_sessions_only(config_path: Path, db: Database) -> None:
    tag = uuid.uuid4().hex[:8]  # names of their own: other test runs share the server
    a, b = f"host-a-{tag}:1:0", f"host-b-{tag}:2:0"
    old = _worker_store(config_path, a)
    mine = _worker_store(config_path, b)
    try:
        assert _sessions(db, f"ingestry-lease:{a}") == 1
        job, _ = old.jobs().submit("export", {"source": "customer_orders"})
        queue = old.control.jobs
        assert queue.claim(a, 1, time.time()).id == job.id
        # the old owner takes its own job back (a restarted loop keeps its id): nothing ended
        assert queue.claim(a, 1, time.time() + 10).id == job.id
        assert _sessions(db, f"ingestry-lease:{a}") == 1
        # another worker takes the expired lease over: the old owner's session is ended
        taken = mine.control.jobs.claim(b, 30, time.time() + 100)
        assert taken is not None and (taken.id, taken.lease_owner) == (job.id, b)
        assert _sessions(db, f"ingestry-lease:{a}") == 0
        assert _sessions(db, f"ingestry-lease:{b}") == 1
        assert old.jobs().get(job.id).attempts == 3  # its control pool still works
    finally:
        old.close()
        mine.close()


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_heartbeat_stopped_inside_its_transaction_does_not_hide_the_job(
    config_path: Path, db: Database
) -> None:
    """A worker stopped between its heartbeat's UPDATE and COMMIT kept the job row
    locked, so every claim (FOR UPDATE SKIP LOCKED) skipped the job and its expired
    lease was never taken over. Control sessions now end after 10 s idle in a
    transaction (adapters/postgres/engine.py)."""
    import contextlib

    import sqlalchemy as sa

    from tests.e2e.processes import wait_for

    with open_store(config_path) as store:
        job, _ = store.jobs().submit("export", {"source": "customer_orders"})
        queue = store.control.jobs
        assert queue.claim("stalled:1:0", 1, time.time()).id == job.id
        stalled = queue.db.engine.connect()  # a pooled control session, as a heartbeat's
        stalled.execute(sa.text("UPDATE jobs SET progress = NULL WHERE id = :id"), {"id": job.id})
        try:  # ... and no COMMIT: the process stopped here
            taken = wait_for(
                "a claim to see the job past the stalled heartbeat",
                lambda: queue.claim("other:2:0", 30, time.time() + 100),
                timeout=40,
            )
            assert (taken.id, taken.lease_owner) == (job.id, "other:2:0")
        finally:
            with contextlib.suppress(sa.exc.DBAPIError):
                stalled.close()
