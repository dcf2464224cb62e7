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
