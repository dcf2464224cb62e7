"""The DeletionStorage contract (soft delete, docs/deleting.md), run on every backend
and the fake: a tombstone version hides the record from current reads, keeps its
history, feeds the outbox and the changes feed, and new content brings it back."""

from __future__ import annotations

from datetime import datetime

import pytest

from ingestry.domain.deletion import DeletionDraft
from ingestry.domain.query import RecordQuery
from ingestry.domain.records import record_srn
from ingestry.services.changes import START, read_changes
from ingestry.services.ports import Storage
from tests.contract.conftest import CONVENTION, LATER, NOW, SOURCE, record_row
from tests.contract.test_change_feed import wait_settled


def srn(ident: str) -> str:
    return record_srn("thing", "harvest", SOURCE, ident)


def publish(storage: Storage, *ids: str, label: str = "x") -> None:
    with storage.session() as session:
        rows = [record_row(i, label=label) for i in ids]
        result = session.upsert_records(CONVENTION, rows, NOW)
        session.append_events("thing", result.changes, NOW)


def delete(storage: Storage, ident: str, reason: str | None = "dup") -> object:
    draft = DeletionDraft(actor="tester", reason=reason, at=LATER)
    return storage.deletion().delete_record(CONVENTION, srn(ident), draft)


def test_a_delete_writes_a_tombstone_version_that_current_reads_leave_out(
    storage: Storage,
) -> None:
    publish(storage, "a", "b")
    outcome = delete(storage, "a")
    assert outcome is not None
    assert not outcome.already  # type: ignore[attr-defined]
    deletion = outcome.deletion  # type: ignore[attr-defined]
    assert (deletion.srn, deletion.version, deletion.actor, deletion.reason) == (
        srn("a"), 2, "tester", "dup",
    )  # fmt: skip
    assert deletion.deleted_at == datetime.fromisoformat(LATER)
    assert storage.get_record(CONVENTION, srn("a")) is None
    assert [r.srn for r in storage.list_records(CONVENTION, None)] == [srn("b")]
    assert storage.count_records(CONVENTION) == 1
    assert storage.stats({SOURCE: "thing"})[SOURCE]["records"] == 1
    everything = RecordQuery(include_deleted=True)
    assert storage.count_records(CONVENTION, everything) == 2
    assert [r.version for r in storage.list_records(CONVENTION, None, None, everything)] == [2, 1]
    tombstone = storage.deletion().deleted_record(CONVENTION, srn("a"))
    assert tombstone is not None and tombstone.version == 2
    assert tombstone.deleted == deletion
    assert tombstone.columns["label"] == "x"  # the last content stays readable
    assert storage.deletion().deleted_record(CONVENTION, srn("b")) is None
    assert storage.deletion().tombstones([(srn("a"), 2), (srn("a"), 1), (srn("b"), 1)]) == {
        (srn("a"), 2): deletion
    }
    history = storage.record_history(CONVENTION, srn("a"))
    assert [r.version for r in history] == [1]  # version 1 kept; the tombstone is current


def test_deleting_again_or_an_unknown_record_writes_nothing(storage: Storage) -> None:
    publish(storage, "a")
    first = delete(storage, "a")
    again = delete(storage, "a", reason="other")
    assert again is not None and again.already  # type: ignore[attr-defined]
    assert again.deletion == first.deletion  # type: ignore[attr-defined]
    assert storage.deletion().deleted_record(CONVENTION, srn("a")).version == 2  # type: ignore[union-attr]
    assert delete(storage, "nobody") is None
    assert storage.lifecycle().pending_events() == 2  # v1 published, v2 deleted


def test_new_content_brings_a_deleted_record_back_as_the_next_version(storage: Storage) -> None:
    publish(storage, "a")
    delete(storage, "a")
    publish(storage, "a")  # the same content as before the delete: still new input
    back = storage.get_record(CONVENTION, srn("a"))
    assert back is not None and back.version == 3 and back.deleted is None
    assert storage.deletion().deleted_record(CONVENTION, srn("a")) is None
    history = storage.record_history(CONVENTION, srn("a"))
    assert [r.version for r in history] == [1, 2, 3]
    assert set(storage.deletion().tombstones([(r.srn, r.version) for r in history])) == {
        (srn("a"), 2)
    }
    assert storage.count_records(CONVENTION) == 1
    delete(storage, "a")  # deleted twice: counted once
    assert storage.count_records(CONVENTION) == 0
    assert storage.count_records(CONVENTION, RecordQuery(include_deleted=True)) == 1


def test_the_changes_feed_carries_the_tombstone(
    storage: Storage, backend: str, request: pytest.FixtureRequest
) -> None:
    def settle() -> None:
        if backend == "postgres":
            wait_settled(request.getfixturevalue("db"))

    publish(storage, "a", "b")
    settle()
    page = read_changes(storage.change_feed(), [CONVENTION], START, 100)
    delete(storage, "a")
    settle()
    after = read_changes(storage.change_feed(), [CONVENTION], page.next_cursor, 100)
    assert [(r.srn, r.version) for r in after.records] == [(srn("a"), 2)]
