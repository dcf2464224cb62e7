"""A source's run lock held for a job belongs to the job's lease (both backends): while
the owner's lease is live nobody else gets the lock; once its job was taken over (or
its lease expired) the next job's worker takes the lock from it; a lock without an
owner (a CLI run) is never taken. End to end, a SIGSTOPped harvest worker:
tests/reliability/test_worker_stopped_harvest.py."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from ingestry.config import load_settings
from ingestry.domain.harvest import HarvestBusyError
from ingestry.services.ports import RunLocks
from ingestry.store import open_store
from tests.backends import Database


def _busy(locks: RunLocks, owner: str | None) -> bool:
    try:
        with locks.hold("customer_orders", owner):
            return False
    except HarvestBusyError:
        return True


def test_a_run_lock_is_taken_only_from_an_owner_without_a_live_lease(
    config_path: Path, db: Database
) -> None:
    tag = uuid.uuid4().hex[:8]  # other test runs share the PostgreSQL server
    old, new = f"host-a-{tag}:1:0", f"host-b-{tag}:2:0"
    with open_store(load_settings(config_path)) as store:
        locks = store.control.run_locks
        queue = store.control.jobs
        assert locks is not None
        job, _ = store.jobs().submit("harvest", {"source": "customer_orders"})
        assert queue.claim(old, 60, time.time()).id == job.id
        with locks.hold("customer_orders", old):
            assert _busy(locks, new)  # the owner's lease is live
            assert _busy(locks, None)  # a CLI run never takes a lock
            taken = queue.claim(new, 60, time.time() + 120)  # the old lease expired
            assert taken is not None and taken.lease_owner == new
            with locks.hold("customer_orders", new):  # taken from the stopped owner
                assert _busy(locks, f"host-c-{tag}:3:0")  # and held: nobody else gets it
        # the old holder's release finds its lock (or session) gone: no error
        with locks.hold("customer_orders", new):
            pass


def test_a_cli_run_lock_is_never_taken(config_path: Path, db: Database) -> None:
    owner = f"host-{uuid.uuid4().hex[:8]}:1:0"  # holds no lease at all
    with open_store(load_settings(config_path)) as store:
        locks = store.control.run_locks
        assert locks is not None
        with locks.hold("customer_orders"):
            assert _busy(locks, owner)
        with locks.hold("customer_orders", owner):
            pass


@pytest.mark.parametrize("backend", ["sqlite"])  # PostgreSQL: an advisory lock, no file
def test_the_lock_file_records_its_owner(config_path: Path, db: Database) -> None:
    with open_store(load_settings(config_path)) as store:
        locks = store.control.run_locks
        assert locks is not None
        with locks.hold("customer_orders", "host:1:0"):
            files = list(Path(str(db.sqlite_file)).parent.glob("*.run-customer_orders.lock*"))
            assert [f.read_text() for f in files] == ["host:1:0"]
