"""Soft delete (issue 19 item 3) on every backend: a tombstone version hides a record
from every read of current records, keeps its history, goes out as a RecordDeleted
event; replay never brings it back, new content does (docs/deleting.md)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

import ingestry
from ingestry.domain.deletion import RECORD_DELETED
from ingestry.domain.errors import RecordDeletedError, RecordNotFoundError
from ingestry.domain.events import RecordEvent
from ingestry.domain.records import record_srn
from ingestry.store import Store
from tests.backends import Database
from tests.integration.test_ingest import order

SOURCE = "customer_orders"
SIMPLE = "orders_simple"


def srn(ident: str, source: str = SOURCE) -> str:
    return record_srn("order", "harvest", source, ident)


def write(tmp_path: Path, name: str, *docs: dict[str, object]) -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in docs))
    return path


def test_a_deleted_record_leaves_every_current_read_and_keeps_its_history(
    store: Store, db: Database, tmp_path: Path
) -> None:
    store.ingest_files(SOURCE, [write(tmp_path, "a.jsonl", order("A-1"), order("B-1"))])
    assert store.get(srn("A-1")).version == 1  # cached now
    report = store.delete(srn("A-1"), reason="duplicate of B-1", actor="ops")
    got = report.to_dict()
    assert got["status"] == "deleted" and got["version"] == 2 and got["by"] == "ops"
    assert got["reason"] == "duplicate of B-1" and not got["already_deleted"]
    with pytest.raises(RecordDeletedError, match="deleted at version 2"):
        store.get(srn("A-1"))  # not from the cache either
    tombstone = store.get(srn("A-1"), include_deleted=True)
    assert tombstone.version == 2 and tombstone.deleted is not None
    assert tombstone.deleted.reason == "duplicate of B-1"
    assert [r.srn for r in store.records("order")] == [srn("B-1")]
    assert [r.version for r in store.records("order", include_deleted=True)] == [2, 1]
    assert store.count("order") == 1
    assert store.stats()[SOURCE]["records"] == 1
    assert [row["srn"] for row in store.query('SELECT srn FROM "order"')] == [srn("B-1")]
    history = store.history(srn("A-1"))
    assert [(r.version, r.deleted is not None) for r in history] == [(1, False), (2, True)]
    assert db.count("record_versions", f"WHERE srn = '{srn('A-1')}'") == 1
    assert db.count("record_deletions") == 1
    again = store.delete(srn("A-1"), reason="again")
    assert again.already and again.to_dict()["status"] == "already deleted"
    assert again.deletion.reason == "duplicate of B-1"  # the first delete stands
    with pytest.raises(RecordNotFoundError):
        store.delete(srn("NOBODY"))


def test_the_delete_goes_out_as_a_record_deleted_event(store: Store, tmp_path: Path) -> None:
    store.ingest_files(SOURCE, [write(tmp_path, "a.jsonl", order("A-1"))])
    store.delete(srn("A-1"), reason="test")
    seen: list[RecordEvent] = []
    summary = store.dispatcher([seen.append]).run_once()
    assert summary.dead == 0 and summary.retried == 0
    assert [(e.kind, e.version) for e in seen] == [("RecordPublished", 1), (RECORD_DELETED, 2)]


def test_replay_leaves_it_deleted_and_new_content_brings_it_back(
    store: Store, tmp_path: Path
) -> None:
    first = write(tmp_path, "a.jsonl", order("A-1"), order("B-1"))
    store.ingest_files(SOURCE, [first])
    store.delete(srn("A-1"))
    summary = store.replay(SOURCE)
    assert summary.records_created == summary.records_updated == 0
    with pytest.raises(RecordDeletedError):
        store.get(srn("A-1"))
    # the source sends the row again (the same bytes): new input, the record is back
    store.ingest_files(SOURCE, [first])
    back = store.get(srn("A-1"))
    assert back.version == 3 and back.deleted is None
    assert store.count("order") == 2
    assert store.replay(SOURCE).records_updated == 0  # and replay changes nothing now


def test_a_simple_source_record_and_a_published_one_come_back_with_content(
    store: Store, tmp_path: Path
) -> None:
    path = write(tmp_path, "s.jsonl", order("S-1"))
    store.ingest_files(SIMPLE, [path])
    store.delete(srn("S-1", SIMPLE))
    assert store.count("order") == 0
    store.ingest_files(SIMPLE, [path])
    assert store.get(srn("S-1", SIMPLE)).version == 3


def test_a_soft_deleted_record_can_still_be_erased(
    store: Store, db: Database, tmp_path: Path
) -> None:
    store.ingest_files(SOURCE, [write(tmp_path, "a.jsonl", order("A-1"))])
    store.delete(srn("A-1"), reason="customer left")
    report = store.erase(srn("A-1"), reason="GDPR art. 17", actor="dpo")
    assert report.to_dict()["records"] == 1 and report.to_dict()["versions"] == 1
    assert db.count("record_deletions") == 0
    with pytest.raises(RecordNotFoundError) as caught:
        store.get(srn("A-1"), include_deleted=True)
    assert not isinstance(caught.value, RecordDeletedError)


def test_hooks_skip_a_tombstone_and_a_version_deleted_since(
    config_path: Path, tmp_path: Path
) -> None:
    """Hooks derive features from content: they run on no tombstone, and an event of a
    version deleted before delivery is delivered without running them (not dead)."""
    from tests.lifecycle import with_hooks

    with_hooks(config_path, [("ok", "ok.py", 30)])
    with ingestry.open(config_path) as store:
        store.ingest_files(SOURCE, [write(tmp_path, "a.jsonl", order("A-1"), order("B-1"))])
        store.delete(srn("A-1"), reason="test")
        summary = store.dispatcher().run_once()
        assert (summary.delivered, summary.dead, summary.retried) == (3, 0, 0)
        assert store.features(srn("B-1"))  # the live record's hook ran
        assert store.hook_runs() and {r.srn for r in store.hook_runs()} == {srn("B-1")}
