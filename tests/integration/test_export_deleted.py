"""`export --include-deleted` (issue 19 item 3, follow-up): an export leaves soft-deleted
records out by default; with `include_deleted` their tombstones are written too, marked
`deleted` (who, when, why), and `import` of such an export deletes the record in the
target, idempotently. Both backends (the `store` fixture), imported into both."""

from __future__ import annotations

import csv
import threading
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from ingestry.domain.errors import RecordDeletedError
from ingestry.entrypoints.worker.handlers import job_handlers
from ingestry.services.worker import JobWorker
from ingestry.store import Store
from tests.integration.test_export_history import SOURCE, _srn, _updated
from tests.integration.test_import import _store_on


def _lines(path: str) -> list[dict[str, Any]]:
    return [orjson.loads(x) for x in Path(path).read_bytes().splitlines()]


def _deleted_a2(store: Store) -> None:
    """A-1 at version 3, A-2 deleted (its tombstone is version 3), A-3 at version 1."""
    _updated(store)
    store.delete(_srn("A-2"), reason="asked to", actor="alice")


def test_an_export_leaves_deleted_records_out_unless_asked(store: Store, tmp_path: Path) -> None:
    _deleted_a2(store)
    plain = _lines(store.export(SOURCE, format="jsonl", out=tmp_path / "plain").files[0])
    assert {x["srn"] for x in plain} == {_srn("A-1"), _srn("A-3")}
    assert not any("deleted" in x for x in plain)
    summary = store.export(SOURCE, format="jsonl", out=tmp_path / "all", include_deleted=True)
    lines = _lines(summary.files[0])
    assert [(x["srn"], x["version"]) for x in lines if x["srn"] == _srn("A-2")] == [
        (_srn("A-2"), 1), (_srn("A-2"), 2), (_srn("A-2"), 3),
    ]  # fmt: skip
    marked = [x for x in lines if "deleted" in x]
    assert len(marked) == 1 and marked[0]["version"] == 3
    mark = marked[0]["deleted"]
    assert (mark["version"], mark["by"], mark["reason"]) == (3, "alice", "asked to")
    assert mark["deleted_at"] == marked[0]["updated_at"]
    # CSV and Parquet carry the mark as a last column (JSON text), null for content
    table = pq.read_table(
        store.export(SOURCE, format="parquet", out=tmp_path / "p", include_deleted=True).files[0]
    )
    assert table.column_names[-1] == "deleted"
    cells = table.column("deleted").to_pylist()
    assert [orjson.loads(c)["by"] for c in cells if c is not None] == ["alice"]
    assert len(cells) == 7  # A-1's three versions, A-2's three, A-3
    plain = store.export(SOURCE, format="parquet", out=tmp_path / "q").files[0]
    assert "deleted" not in pq.read_table(plain).column_names
    path = store.export(SOURCE, format="csv", out=tmp_path / "c", include_deleted=True).files[0]
    rows = list(csv.DictReader(Path(path).read_text(encoding="utf-8").splitlines()))
    assert [orjson.loads(r["deleted"])["reason"] for r in rows if r["deleted"]] == ["asked to"]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_import_of_an_export_with_deletions_deletes_in_the_target(
    kind: str, store: Store, tmp_path: Path
) -> None:
    _deleted_a2(store)
    want = [(v.version, v.updated_at) for v in store.history(_srn("A-2"))]
    full = store.export(SOURCE, format="jsonl", out=tmp_path / "all", include_deleted=True)
    with _store_on(kind, tmp_path / kind) as target:
        first = target.import_export(full.files[0])
        assert (first.records_created, first.records_updated, first.rejected) == (3, 3, 0)
        assert first.records_deleted == 1
        for _ in range(2):
            with pytest.raises(RecordDeletedError):
                target.get(_srn("A-2"))
            tombstone = target.get(_srn("A-2"), include_deleted=True)
            assert tombstone.deleted is not None and tombstone.version == 3
            assert (tombstone.deleted.actor, tombstone.deleted.reason) == ("alice", "asked to")
            assert [(v.version, v.updated_at) for v in target.history(_srn("A-2"))] == want
            assert {r.srn for r in target.records("order")} == {_srn("A-1"), _srn("A-3")}
            again = target.import_export(full.files[0])  # changes nothing, deletes nothing
            assert (again.records_created, again.records_updated) == (0, 0)
            assert (again.records_deleted, again.records_unchanged) == (0, 7)  # every line


def test_a_deletion_reaches_a_target_that_holds_the_record_live(
    store: Store, tmp_path: Path
) -> None:
    _updated(store)
    with _store_on("sqlite", tmp_path / "target") as target:
        target.import_export(store.export(SOURCE, format="jsonl", out=tmp_path / "1").files[0])
        assert target.get(_srn("A-2")).version == 2
        store.delete(_srn("A-2"), reason=None, actor="bob")
        later = store.export(SOURCE, out=tmp_path / "2", include_deleted=True, current_only=True)
        done = target.import_export(later.files[0])
        assert (done.records_deleted, done.records_created, done.records_updated) == (1, 0, 0)
        tombstone = target.get(_srn("A-2"), include_deleted=True)
        assert tombstone.version == 3 and tombstone.deleted is not None
        assert tombstone.deleted.actor == "bob"
        # a target that never had the record: created from the tombstone, then deleted
        with _store_on("sqlite", tmp_path / "fresh") as fresh:
            done = fresh.import_export(later.files[0])
            assert (done.records_created, done.records_deleted) == (3, 1)
            assert {r.srn for r in fresh.records("order")} == {_srn("A-1"), _srn("A-3")}


def test_the_export_job_takes_include_deleted(store: Store) -> None:
    """The API's export job (run by the worker): `include_deleted` as a job param."""
    _deleted_a2(store)
    runner = JobWorker(store.control.jobs, job_handlers(store), worker_id="w", lease_seconds=30)
    for params in ({"source": SOURCE}, {"source": SOURCE, "include_deleted": True}):
        job, _ = store.jobs().submit("export", params)
        assert runner.drain(threading.Event()) == 1
        done = store.jobs().get(job.id)
        assert done.status == "succeeded" and done.result is not None
        lines = _lines(done.result["files"][0])
        assert any("deleted" in x for x in lines) is bool(params.get("include_deleted"))
