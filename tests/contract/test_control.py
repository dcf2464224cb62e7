"""The JobQueue, ApiKeyStore and IdempotencyStore contracts, on every backend.

Times are passed in (`now`), so lease expiry is tested without sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from ingestry.domain.errors import (
    IdempotencyInFlightError,
    IdempotencyKeyReusedError,
    InvalidJobError,
)
from ingestry.services.control import ControlPorts
from ingestry.services.idempotency import IdempotencyService
from ingestry.services.jobs import JobService, NewJob
from ingestry.services.keys import AmbiguousKeyError, KeyNameTakenError, KeyService
from ingestry.store import Store
from tests.backends import Database
from tests.contract.conftest import MEMORY
from tests.fakes import MemoryControl

T0 = 1_900_000_000.0
LEASE = 30.0


@pytest.fixture
def control(request: pytest.FixtureRequest, backend: str) -> Iterator[ControlPorts]:
    """The store's control plane, or the fakes' (`tests/fakes/control.py`)."""
    if backend == MEMORY:
        yield MemoryControl()
        return
    store: Store = request.getfixturevalue("store")
    yield store.control


def new_job(ident: str, *, key: str | None = None, owner: str = "o", attempts: int = 2) -> NewJob:
    return NewJob(ident, "export", {"source": "customer_orders"}, owner, key, attempts)


def test_submit_with_the_same_key_makes_one_job(control: ControlPorts) -> None:
    service = JobService(control.jobs)
    first, created = service.submit("export", {"source": "a"}, owner="o", idempotency_key="k")
    again, created_again = service.submit("export", {"source": "a"}, owner="o", idempotency_key="k")
    assert created and not created_again
    assert again.id == first.id
    other, created_other = service.submit("export", {"source": "a"}, owner="p", idempotency_key="k")
    assert created_other and other.id != first.id  # keys are per owner
    with pytest.raises(IdempotencyKeyReusedError):
        service.submit("export", {"source": "b"}, owner="o", idempotency_key="k")
    with pytest.raises(InvalidJobError):
        service.submit("dance", {}, owner="o")
    assert control.jobs.counts()["queued"] == 2


def test_concurrent_submits_with_one_key_make_one_job(control: ControlPorts) -> None:
    service = JobService(control.jobs)
    ids: list[str] = []

    def submit() -> None:
        job, _ = service.submit("export", {"source": "a"}, owner="o", idempotency_key="same")
        ids.append(job.id)

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 6 and len(set(ids)) == 1
    assert control.jobs.counts()["queued"] == 1


def test_claim_takes_the_oldest_and_holds_it(control: ControlPorts) -> None:
    q = control.jobs
    q.submit(new_job("a"))
    q.submit(new_job("b"))
    first = q.claim("w1", LEASE, T0)
    second = q.claim("w2", LEASE, T0)
    assert first is not None and second is not None
    assert (first.id, second.id) == ("a", "b")
    assert first.status == "running" and first.attempts == 1 and first.lease_owner == "w1"
    assert first.lease_expires == pytest.approx(T0 + LEASE)
    assert q.claim("w3", LEASE, T0 + 1) is None  # both leases held


def test_an_expired_lease_is_claimed_again_until_attempts_run_out(control: ControlPorts) -> None:
    q = control.jobs
    q.submit(new_job("a", attempts=2))
    assert q.claim("w1", LEASE, T0) is not None
    assert q.claim("w2", LEASE, T0 + LEASE - 1) is None
    again = q.claim("w2", LEASE, T0 + LEASE + 1)
    assert again is not None and again.attempts == 2 and again.lease_owner == "w2"
    assert again.error is not None and "w1" in again.error
    # w1 comes back from a stall: it no longer holds the job
    assert not q.heartbeat("a", "w1", LEASE, T0 + LEASE + 2, {"x": 1})
    assert not q.complete("a", "w1", {"done": True})
    # w2 dies too: attempts are spent, so the job fails instead of running a third time
    assert q.claim("w3", LEASE, T0 + 3 * LEASE) is None
    job = q.get("a")
    assert job is not None and job.status == "failed" and job.attempts == 2
    assert job.error is not None and job.error.startswith("gave up")
    assert job.finished_at is not None


def test_heartbeat_extends_the_lease_and_stores_progress(control: ControlPorts) -> None:
    q = control.jobs
    q.submit(new_job("a"))
    q.claim("w1", LEASE, T0)
    assert q.heartbeat("a", "w1", LEASE, T0 + 20, {"received": 5000})
    assert q.claim("w2", LEASE, T0 + LEASE + 1) is None  # renewed until T0 + 50
    job = q.get("a")
    assert job is not None and job.progress == {"received": 5000}


def test_complete_fail_and_release(control: ControlPorts) -> None:
    q = control.jobs
    for ident in "abcd":
        q.submit(new_job(ident, attempts=2))
    a, b, c, d = (q.claim("w", LEASE, T0) for _ in range(4))
    assert a and b and c and d
    assert q.complete("a", "w", {"records": 3})
    assert q.fail("b", "w", "bad path", retry=False)
    assert q.fail("c", "w", "db down", retry=True)
    assert q.release("d", "w")
    done, failed, retried, released = (q.get(i) for i in "abcd")
    assert done and done.status == "succeeded" and done.result == {"records": 3}
    assert done.finished_at is not None and done.lease_owner is None
    assert failed and failed.status == "failed" and failed.error == "bad path"
    assert retried and retried.status == "queued" and retried.attempts == 1
    assert released and released.status == "queued" and released.attempts == 0
    assert q.counts() == {"queued": 2, "running": 0, "succeeded": 1, "failed": 1}
    # a retried job that fails on its last attempt stays failed
    again = q.claim("w", LEASE, T0)
    assert again is not None and again.id == "c" and again.attempts == 2
    assert q.fail("c", "w", "db down again", retry=True)
    last = q.get("c")
    assert last is not None and last.status == "failed"


def test_api_keys_are_stored_hashed_and_revocable(control: ControlPorts, store: Store) -> None:
    keys = KeyService(control.keys)
    key, token = keys.create("ci", ["customer_orders"])
    assert token.startswith(f"ik_{key.prefix}_")
    found = keys.authenticate(token)
    assert found is not None and found.sources == ("customer_orders",) and not found.admin
    secret = token.split("_", 2)[2]
    assert secret.encode() not in found.secret_hash  # only the hash is kept
    assert keys.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert keys.authenticate("ik_000000000000_nope") is None
    assert keys.authenticate("garbage") is None
    assert keys.revoke("ci") == 1
    assert keys.authenticate(token) is None
    listed = keys.list()
    assert [k.name for k in listed] == ["ci"] and listed[0].revoked_at is not None


def test_idempotency_claims_replays_and_refuses(control: ControlPorts) -> None:
    clock = [T0]
    service = IdempotencyService(control.idempotency, clock=lambda: clock[0], lease_seconds=60)
    assert service.start("o", "k", b"req") is None
    with pytest.raises(IdempotencyInFlightError):
        service.start("o", "k", b"req")
    with pytest.raises(IdempotencyKeyReusedError):
        service.start("o", "k", b"other")
    service.finish("o", "k", 200, b'{"ok":1}')
    replay = service.start("o", "k", b"req")
    assert replay is not None and (replay.status_code, replay.body) == (200, b'{"ok":1}')
    assert service.start("p", "k", b"req") is None  # another owner's key space
    # a claim abandoned by a crash is taken over once stale
    assert service.start("o", "crashed", b"req") is None
    clock[0] += 61
    assert service.start("o", "crashed", b"req") is None
    service.abandon("o", "crashed")
    assert service.start("o", "crashed", b"req") is None
    clock[0] += 2 * 24 * 3600
    assert service.prune() == 3


def test_control_times_are_aware(control: ControlPorts) -> None:
    job, _ = control.jobs.submit(new_job("a"))
    assert job.created_at.tzinfo is not None
    assert abs(job.created_at - datetime.now(UTC)).total_seconds() < 3600


def test_key_names_are_unique_among_active_keys(
    control: ControlPorts, store: Store, db: Database
) -> None:
    keys = KeyService(control.keys)
    first, _ = keys.create("ci", ["customer_orders"])
    with pytest.raises(KeyNameTakenError, match=f"prefix {first.prefix}"):
        keys.create("ci", ["orders_json"])
    assert [k.prefix for k in keys.list()] == [first.prefix]
    # two active keys with one name, as a store made before names were unique may hold
    db.execute(
        "INSERT INTO api_keys (prefix, name, secret_hash, sources, admin, created_at)"
        " SELECT 'legacy', name, secret_hash, sources, admin, created_at FROM api_keys"
    )
    with pytest.raises(AmbiguousKeyError, match=f"prefixes {first.prefix}, legacy"):
        keys.revoke("ci")
    assert all(k.revoked_at is None for k in keys.list())
    assert keys.revoke("legacy") == 1 and keys.revoke("ci") == 1
    assert keys.revoke("ci") == 0
