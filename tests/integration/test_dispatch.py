"""The event dispatcher on every backend: delivery, order per record, retries with
backoff, dead events, leases, concurrent dispatchers, Redis fan-out."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

import ingestry
from ingestry import (
    RECORD_PUBLISHED,
    RECORD_UPDATED,
    DepositionSource,
    HarvestSource,
    RecordEvent,
    record_srn,
)
from ingestry.domain.clock import iso, utc_now
from ingestry.store import Store
from tests.backends import Database
from tests.lifecycle import with_hooks

META = {"created_at": "2026-11-01T10:00:00Z", "total_price": "1.00"}


class Collector:
    """A handler that records what it saw; fails for chosen (srn, version) a number of
    times."""

    def __init__(self, failures: dict[tuple[str, int], int] | None = None) -> None:
        self.seen: list[RecordEvent] = []
        self.failures = dict(failures or {})
        self.lock = threading.Lock()

    def __call__(self, event: RecordEvent) -> None:
        key = (event.srn, event.version)
        with self.lock:
            if self.failures.get(key, 0) > 0:
                self.failures[key] -= 1
                raise RuntimeError(f"boom on {event.srn} v{event.version}")
            self.seen.append(event)

    def versions(self, srn: str) -> list[int]:
        return [e.version for e in self.seen if e.srn == srn]


def publish(store: Store, ident: str, **extra: Any) -> str:
    return store.publish_record("order", DepositionSource(ident), {**META, **extra}).srn


def test_delivers_every_event_in_order_per_record(store: Store, project: Path) -> None:
    a = publish(store, "A")
    b = publish(store, "B")
    store.update(a, {**META, "n": 2}, 1)
    store.update(a, {**META, "n": 3}, 2)
    store.ingest("customer_orders", [{"id": "C", "created_at": "2026-11-02T00:00:00Z"}])
    collector = Collector()
    summary = store.dispatcher([collector], defaults=False).run_once()
    assert (summary.claimed, summary.delivered, summary.retried, summary.dead) == (5, 5, 0, 0)
    assert store.pending_events() == 0
    assert collector.versions(a) == [1, 2, 3]
    first = collector.seen[0]
    assert (first.srn, first.kind, first.version) == (a, RECORD_PUBLISHED, 1)
    assert first.convention == "order"
    assert first.source == DepositionSource("A")
    work = project / "data" / "work"
    assert Path(first.features_dir) == work / "order" / "deposition" / "A" / "v1"
    assert [e.kind for e in collector.seen if e.srn == a] == [
        RECORD_PUBLISHED, RECORD_UPDATED, RECORD_UPDATED,
    ]  # fmt: skip
    c = record_srn("order", "harvest", "customer_orders", "C")
    harvested = next(e for e in collector.seen if e.srn == c)
    assert isinstance(harvested.source, HarvestSource)
    assert harvested.source.upstream_source == "customer_orders"
    assert b in {e.srn for e in collector.seen}
    # nothing left: a second run delivers nothing
    assert store.dispatcher([collector], defaults=False).run_once().claimed == 0


def test_failure_is_retried_with_backoff_and_blocks_later_versions(
    store: Store, db: Database
) -> None:
    a = publish(store, "A")
    b = publish(store, "B")
    store.update(a, {**META, "n": 2}, 1)
    collector = Collector({(a, 1): 2})
    # a backoff no loaded machine outlasts; "later" is made by moving the event's due
    # time into the past (no sleeps: the test does not depend on the machine's speed)
    dispatcher = store.dispatcher([collector], defaults=False, backoff_seconds=60)
    first = dispatcher.run_once(limit=2)  # one round: A v1 and B v1 (A v2 is not due)
    assert (first.delivered, first.retried) == (1, 1)
    assert collector.versions(b) == [1]
    assert collector.versions(a) == []  # v2 waits behind the failed v1
    attempts, error, available = db.rows(
        "SELECT attempts, last_error, available_at FROM record_events"
        " WHERE srn = :s AND version = 1",
        s=a,
    )[0]
    assert attempts == 1
    assert "Collector: RuntimeError: boom on" in error
    assert available is not None
    assert dispatcher.run_once().claimed == 0  # still backing off
    _make_due(db, a)
    assert dispatcher.run_once(limit=1).retried == 1  # second failure: backs off again
    assert dispatcher.run_once().claimed == 0
    _make_due(db, a)
    last = dispatcher.run_once()
    assert last.delivered == 2
    assert collector.versions(a) == [1, 2]
    assert store.pending_events() == 0


def _make_due(db: Database, srn: str) -> None:
    """The backoff has passed: the event's due time becomes its creation time."""
    db.execute(
        "UPDATE record_events SET available_at = created_at WHERE srn = :s AND version = 1",
        s=srn,
    )


def test_dead_after_max_attempts_then_retried(store: Store) -> None:
    a = publish(store, "A")
    collector = Collector({(a, 1): 2})
    dispatcher = store.dispatcher([collector], defaults=False, max_attempts=2, backoff_seconds=0.2)
    assert dispatcher.run_once(limit=1).retried == 1
    time.sleep(0.25)
    assert dispatcher.run_once(limit=1).dead == 1
    dead = store.dead_events()
    assert len(dead) == 1
    assert (dead[0].srn, dead[0].version, dead[0].kind, dead[0].attempts) == (
        a, 1, RECORD_PUBLISHED, 2,
    )  # fmt: skip
    assert dead[0].last_error is not None and "boom" in dead[0].last_error
    assert store.pending_events() == 0
    # a dead event does not hold its record's later events back
    store.update(a, {**META, "n": 2}, 1)
    assert dispatcher.run_once().delivered == 1
    assert collector.versions(a) == [2]
    assert store.retry_events([dead[0].id + 1000]) == 0
    assert store.retry_events("all") == 1
    assert store.dead_events() == []
    assert dispatcher.run_once().delivered == 1
    assert collector.versions(a) == [2, 1]
    assert store.retry_events([dead[0].id]) == 0  # delivered: gone from the outbox


def test_an_expired_lease_is_claimed_again(store: Store, db: Database) -> None:
    a = publish(store, "A")
    now = utc_now()
    with store.storage.lifecycle().session() as session:  # a dispatcher that then dies
        claimed = session.claim_events("ghost", iso(now), iso(now + timedelta(seconds=60)), 10)
    assert [c.srn for c in claimed] == [a]
    collector = Collector()
    dispatcher = store.dispatcher([collector], defaults=False)
    assert dispatcher.run_once().claimed == 0  # leased to the ghost
    # the lease runs out (moved into the past: no sleep the machine's speed could beat)
    db.execute("UPDATE record_events SET leased_until = created_at WHERE srn = :s", s=a)
    assert dispatcher.run_once().delivered == 1
    assert collector.versions(a) == [1]


def test_superseded_version_is_delivered_with_its_own_source(store: Store) -> None:
    def harvested(run: str, total: str) -> None:
        source = HarvestSource("H", harvest_run_srn=run, upstream_source="geo")
        store.publish_record("order", source, {**META, "total_price": total})

    harvested("run-1", "1")
    harvested("run-2", "2")
    collector = Collector()
    store.dispatcher([collector], defaults=False).run_once()
    runs = [(e.version, getattr(e.source, "harvest_run_srn", None)) for e in collector.seen]
    assert runs == [(1, "run-1"), (2, "run-2")]


def test_event_of_an_unknown_convention_ends_up_dead(store: Store, db: Database) -> None:
    publish(store, "A")
    db.execute(
        "INSERT INTO record_events (srn, convention, version, created_at)"
        " VALUES ('srn:ingestry:record:gone:deposition::X', 'gone', 1, :at)",
        at=iso(utc_now()),
    )
    collector = Collector()
    summary = store.dispatcher([collector], defaults=False, max_attempts=1).run_once()
    assert (summary.delivered, summary.dead) == (1, 1)
    [dead] = store.dead_events()
    assert dead.convention == "gone"
    assert dead.last_error is not None and "unknown convention 'gone'" in dead.last_error


def test_two_dispatchers_deliver_each_event_once_in_order(store: Store, config_path: Path) -> None:
    """Two dispatchers on their own connections drain one outbox at the same time:
    no event twice (leases), every record's versions in order (claim rule)."""
    items = [({"type": "deposition", "id": f"T-{i}"}, META) for i in range(30)]
    store.bulk_publish("order", items)
    for n in (2, 3):
        store.bulk_publish("order", [(s, {**m, "n": n}) for s, m in items])
    log: list[tuple[str, str, int]] = []
    lock = threading.Lock()

    def handler_for(name: str) -> Any:
        def handle(event: RecordEvent) -> None:
            time.sleep(0.001)
            with lock:
                log.append((name, event.srn, event.version))

        return handle

    def drain(name: str) -> None:
        with ingestry.open(config_path) as own:
            dispatcher = own.dispatcher([handler_for(name)], defaults=False, batch_size=7)
            deadline = time.monotonic() + 120
            while own.pending_events() and time.monotonic() < deadline:
                if not dispatcher.run_once().claimed:
                    time.sleep(0.01)

    threads = [threading.Thread(target=drain, args=(n,)) for n in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    deliveries = Counter((srn, version) for _, srn, version in log)
    assert len(deliveries) == 90
    assert set(deliveries.values()) == {1}
    for i in range(30):
        srn = record_srn("order", "deposition", "", f"T-{i}")
        assert [v for _, s, v in log if s == srn] == [1, 2, 3]
    assert {name for name, _, _ in log} == {"one", "two"}


def test_run_forever_delivers_until_stopped(store: Store) -> None:
    collector = Collector()
    dispatcher = store.dispatcher([collector], defaults=False)
    stop = threading.Event()
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(dispatcher.run_forever(stop, 0.05)))
    thread.start()
    try:
        a = publish(store, "F")
        deadline = time.monotonic() + 30
        while not collector.seen and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert collector.versions(a) == [1]
    assert result[0].delivered == 1


@pytest.mark.redis
def test_delivered_events_are_published_on_redis(config_path: Path, redis_url: str) -> None:
    import redis

    with_hooks(config_path, [], cache=redis_url)
    subscriber = redis.Redis.from_url(redis_url)
    pubsub = subscriber.pubsub()
    pubsub.subscribe("ingestry.events")
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"  # type: ignore[index]
    ident = f"R-{uuid.uuid4().hex}"
    try:
        with ingestry.open(config_path) as store:
            srn = publish(store, ident)
            store.update(srn, {**META, "n": 2}, 1)
            summary = store.dispatcher().run_once()
            assert summary.delivered >= 2
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + 10
        while len(got) < 2 and time.monotonic() < deadline:
            message = pubsub.get_message(timeout=1)
            if message and message["type"] == "message":
                event = orjson.loads(message["data"])
                if event["srn"] == srn:  # other test runs share the channel
                    got.append(event)
    finally:
        pubsub.close()
        subscriber.close()
    assert [(e["type"], e["version"]) for e in got] == [
        (RECORD_PUBLISHED, 1), (RECORD_UPDATED, 2),
    ]  # fmt: skip
    assert got[0]["source"] == {"type": "deposition", "id": ident}
    assert got[0]["convention"] == "order"
    assert got[0]["features_dir"].endswith(f"/order/deposition/{ident}/v1")
