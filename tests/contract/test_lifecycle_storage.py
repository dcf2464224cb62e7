"""The LifecycleStorage / LifecycleSession contract (outbox claims, leases, failures,
features, hook runs, conditional updates), written once, run on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingestry.adapters.sql.names import table_name
from ingestry.domain.errors import ConflictError, RecordNotFoundError
from ingestry.domain.records import record_srn
from ingestry.services.ports import ClaimedEvent, Storage
from tests.backends import Database
from tests.contract.conftest import CONVENTION, NOW, SOURCE, record_row

T0 = datetime(2026, 11, 23, 10, tzinfo=UTC)


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat(timespec="microseconds")


def srn(ident: str) -> str:
    return record_srn("thing", "harvest", SOURCE, ident)


def publish(storage: Storage, *ids: str, note: str = "") -> None:
    with storage.session() as session:
        rows = [record_row(i, metadata={"note": note}) for i in ids]
        result = session.upsert_records(CONVENTION, rows, NOW)
        session.append_events("thing", result.changes, NOW)  # (nothing on SQLite)


def claim(
    storage: Storage, owner: str = "a", now: float = 0, lease: float = 60, n: int = 100
) -> list[ClaimedEvent]:
    with storage.lifecycle().session() as session:
        return session.claim_events(owner, at(now), at(now + lease), n)


def test_claim_takes_the_oldest_event_of_each_record(storage: Storage) -> None:
    publish(storage, "a", "b")
    publish(storage, "a", note="2")
    publish(storage, "a", note="3")
    first = claim(storage)
    assert [(c.srn, c.version) for c in first] == [(srn("a"), 1), (srn("b"), 1)]
    assert all(c.convention == "thing" and c.attempts == 0 for c in first)
    assert claim(storage, "b") == []  # leased, and a's v2 waits behind v1
    with storage.lifecycle().session() as session:
        session.ack_events([first[0].id])
    second = claim(storage, "b")
    assert [(c.srn, c.version) for c in second] == [(srn("a"), 2)]
    assert storage.lifecycle().pending_events() == 3


def test_expired_leases_are_claimed_again_and_renewals_keep_them(storage: Storage) -> None:
    publish(storage, "a", "b")
    ids = [c.id for c in claim(storage, "a", now=0, lease=10)]
    with storage.lifecycle().session() as session:
        assert session.renew_leases(ids[:1], "a", at(100)) == {ids[0]}
        assert session.renew_leases(ids, "someone else", at(100)) == set()
    again = claim(storage, "b", now=20)
    assert [c.id for c in again] == ids[1:]  # only the one whose lease ran out
    with storage.lifecycle().session() as session:
        session.release_events([ids[1]], "b")
    assert [c.id for c in claim(storage, "c", now=21)] == ids[1:]


def test_failures_back_off_then_park_and_retry(storage: Storage) -> None:
    publish(storage, "a")
    [event] = claim(storage)
    with storage.lifecycle().session() as session:
        session.fail_event(event.id, "handler: boom \x00 nul", at(1), at(30))
    assert claim(storage, now=29) == []
    [again] = claim(storage, now=30)
    assert again.attempts == 1
    with storage.lifecycle().session() as session:
        session.fail_event(event.id, "handler: boom again", at(31), None)
    [dead] = storage.lifecycle().dead_events()
    assert (dead.id, dead.attempts, dead.last_error, dead.kind) == (
        event.id, 2, "handler: boom again", "RecordPublished",
    )  # fmt: skip
    assert claim(storage, now=1000) == []
    with storage.lifecycle().session() as session:
        assert session.retry_events([event.id + 1]) == 0
        assert session.retry_events(None) == 1
    [retried] = claim(storage, now=1000)
    assert retried.attempts == 0


def test_a_taken_over_lease_is_not_acknowledged_or_failed_by_its_old_owner(
    storage: Storage,
) -> None:
    """A dispatcher stalled past its lease must not acknowledge or fail an event that
    another dispatcher claimed meanwhile (that one may be delivering it, and the
    record's next event must not overtake it); its own leases it still settles."""
    publish(storage, "a", "b")
    publish(storage, "a", note="2")
    first = claim(storage, "old", now=0, lease=10)
    assert [(c.srn, c.version) for c in first] == [(srn("a"), 1), (srn("b"), 1)]
    taken = claim(storage, "new", now=20, lease=60)
    assert [c.id for c in taken] == [c.id for c in first]
    with storage.lifecycle().session() as session:
        session.ack_events([first[0].id], "old")
        session.fail_event(first[1].id, "old: boom", at(21), at(22), "old")
    assert claim(storage, "third", now=30) == []  # both still new's, a's v2 still waits
    with storage.lifecycle().session() as session:
        session.ack_events([first[0].id], "new")
        session.fail_event(first[1].id, "new: boom", at(31), at(32), "new")
    assert [(c.srn, c.version, c.attempts) for c in claim(storage, "third", now=40)] == [
        (srn("b"), 1, 1), (srn("a"), 2, 0),
    ]  # fmt: skip


def test_event_sources_current_and_superseded(storage: Storage) -> None:
    publish(storage, "a")
    publish(storage, "a", note="2")
    sources = storage.lifecycle().event_sources(
        CONVENTION, [(srn("a"), 1), (srn("a"), 2), (srn("a"), 3), (srn("zz"), 1)]
    )
    assert set(sources) == {(srn("a"), 1), (srn("a"), 2)}
    assert '"type"' in sources[(srn("a"), 1)]


def test_features_upsert_and_hook_runs(storage: Storage) -> None:
    publish(storage, "a")
    lifecycle = storage.lifecycle()
    run = (7, srn("a"), 1, "thing", "risk", "succeeded", 0, None, "out", None, 2, NOW, 0.5)
    features = [
        (srn("a"), 1, "risk", "risk", "thing", '{"level":"high","nul":"\\u0000"}'),
        (srn("a"), 1, "risk", "count", "thing", "3"),
    ]
    with lifecycle.session() as session:
        session.record_hook_run(run, features)
        session.record_hook_run(run, [(srn("a"), 1, "risk", "count", "thing", "4")])
    found = lifecycle.features(srn("a"))
    assert [(f.name, f.value) for f in found] == [
        ("count", 4), ("risk", {"level": "high", "nul": "\x00"}),
    ]  # fmt: skip
    assert lifecycle.hook_succeeded(srn("a"), 1, "risk")
    assert not lifecycle.hook_succeeded(srn("a"), 2, "risk")
    reason = "exited with status 3"
    failed = (8, srn("a"), 1, "thing", "x", "failed", 3, reason, None, "e", 0, NOW, 1.0)
    with lifecycle.session() as session:
        session.record_hook_run(failed, [])
    assert [r.hook for r in lifecycle.hook_runs(False, None)] == ["risk", "risk", "x"]
    assert [r.exit_code for r in lifecycle.hook_runs(True, None)] == [3]
    assert [r.hook for r in lifecycle.hook_runs(False, 1)] == ["x"]


def test_update_record_is_conditional(storage: Storage) -> None:
    publish(storage, "a")
    lifecycle = storage.lifecycle()
    changed = record_row("a", metadata={"note": "new"}, label="b")
    with lifecycle.session() as session:
        assert session.update_record(CONVENTION, changed, 1, NOW) == 2
    with pytest.raises(ConflictError) as caught, lifecycle.session() as session:
        session.update_record(CONVENTION, record_row("a", metadata={"x": 1}), 1, NOW)
    assert (caught.value.expected, caught.value.current) == (1, 2)
    with lifecycle.session() as session:  # same content: no new version
        assert session.update_record(CONVENTION, changed, 2, NOW) == 2
    with pytest.raises(RecordNotFoundError), lifecycle.session() as session:
        session.update_record(CONVENTION, record_row("nope"), 1, NOW)
    record = storage.get_record(CONVENTION, srn("a"))
    assert record is not None
    assert (record.version, record.columns["label"], record.metadata) == (2, "b", {"note": "new"})
    assert [r.version for r in storage.record_history(CONVENTION, srn("a"))] == [1, 2]
    versions = [c.version for c in claim(storage)]
    assert versions == [1]  # v2's event waits behind v1's
    assert storage.lifecycle().pending_events() == 2


@pytest.mark.only_backends("sqlite")  # PostgreSQL writes events with their changes
def test_changes_are_taken_in_as_events_once(storage: Storage, db: Database) -> None:
    """A write writes its change only; the outbox reads the feed (adapters/sql/intake.py)."""
    publish(storage, "a b", "c%d")  # srns spelled with a space and a percent sign
    lifecycle = storage.lifecycle()
    assert db.count("record_events") == 0
    assert lifecycle.pending_events() == 2  # waiting, not yet taken in
    assert lifecycle.oldest_pending_at() is not None
    assert (lifecycle.take_in(1), lifecycle.take_in(100), lifecycle.take_in(100)) == (1, 1, 0)
    assert db.count("record_events") == 2
    assert lifecycle.pending_events() == 2  # the same two, counted once
    assert [(c.srn, c.version) for c in claim(storage)] == [(srn("a b"), 1), (srn("c%d"), 1)]


@pytest.mark.only_backends("sqlite")
def test_a_claim_takes_new_changes_in_and_skips_erased_records(
    storage: Storage, db: Database
) -> None:
    publish(storage, "a")
    assert [c.srn for c in claim(storage)] == [srn("a")]
    publish(storage, "gone", "b")
    table = table_name("thing")
    db.execute(f'DELETE FROM "{table}" WHERE source_id = :i', i="gone")  # as erasure does
    assert [c.srn for c in claim(storage, "b")] == [srn("b")]
    assert storage.lifecycle().pending_events() == 2  # a (leased) and b: nothing for "gone"
    assert db.count("record_events") == 2
