"""StorageSession: raw dedupe, quarantine, record upserts, runs, transactions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import pytest

from ingestry.domain.records import record_srn
from ingestry.services.ports import RecordChange, Storage, UpsertResult
from tests.backends import Database
from tests.contract.conftest import (
    CONVENTION,
    LATER,
    NOW,
    SOURCE,
    quarantine_row,
    raw_row,
    record_row,
    sha,
)


def upsert(storage: Storage, *rows: Any, now: str = NOW) -> UpsertResult:
    with storage.session() as session:
        return session.upsert_records(CONVENTION, list(rows), now)


def test_append_raw_returns_how_many_rows_were_new(storage: Storage) -> None:
    first = [raw_row("A-1", b'{"a":1}'), raw_row("A-2", b'{"a":2}'), raw_row("A-3", b'{"a":3}')]
    with storage.session() as session:
        assert session.append_raw(first, []) == 3
    with storage.session() as session:
        assert session.append_raw(first, []) == 0  # same (source, source_id, sha256)
        assert session.append_raw([raw_row("A-1", b'{"a": 1}')], []) == 1  # other bytes
        assert session.append_raw([raw_row("A-1", b'{"a":1}', source="other")], []) == 1
        assert session.append_raw([raw_row("A-9", b'{"a":1}')], []) == 1  # same bytes, other id
    assert len(storage.raw_payloads(SOURCE, "A-1")) == 2


def test_identical_rows_in_one_batch_are_stored_once_first_wins(storage: Storage) -> None:
    rows = [
        raw_row("B-1", b"x", line=1),
        raw_row("B-1", b"y", line=2),
        raw_row("B-1", b"x", line=3),
        raw_row("B-2", b"x", line=4),
    ]
    with storage.session() as session:
        assert session.append_raw(rows, []) == 3
    stored = storage.raw_payloads(SOURCE, "B-1")
    # ordered by latest receipt: x arrived again (line 3) after y, so x comes last
    assert [(p.payload, p.line) for p in stored] == [(b"y", 2), (b"x", 1)]
    assert [(p.receipts, p.last_line) for p in stored] == [(1, 2), (2, 3)]
    assert stored[1].sha256 == sha(b"x").hex()
    assert stored[1].received_at == datetime.fromisoformat(NOW)


def test_raw_bytes_and_fields_round_trip(storage: Storage) -> None:
    payload = b'{"id":"R-1","dup":1,"dup":2,"n":123456789012345678901234567890,"z":"\\u0000"}'
    header = (sha(b"h1,h2"), b"h1,h2")
    row = raw_row("R-1", payload, header=header[0], error="bad \x00 value", line=7)
    with storage.session() as session:
        assert session.append_raw([row], [header, header]) == 1
    (stored,) = storage.raw_payloads(SOURCE, "R-1")
    assert stored.payload == payload
    assert (stored.source, stored.entity_type, stored.source_id) == (SOURCE, "thing", "R-1")
    assert (stored.line, stored.origin, stored.extractor_version) == (7, "file.jsonl", "v1")
    assert stored.error == "bad \x00 value"
    assert stored.processed_at == datetime.fromisoformat(NOW)
    assert storage.raw_payloads(SOURCE, "nope") == []


def test_raw_headers_are_kept_once(storage: Storage, db: Database) -> None:
    header = (sha(b"a,b"), b"a,b")
    for _ in range(2):
        with storage.session() as session:
            session.append_raw([raw_row("H-1", b"1,2", header=header[0])], [header])
    assert db.rows("SELECT payload FROM raw_headers") == [(b"a,b",)]


def test_quarantine_dedupes_and_reopens_resolved_entries(storage: Storage, db: Database) -> None:
    with storage.session() as session:
        session.quarantine([quarantine_row(b"bad", "first reason", line=1)])
        session.quarantine([quarantine_row(b"bad", "second reason", line=2)])
        session.quarantine([quarantine_row(b"bad", "elsewhere", line=3, source="other")])
    (entry,) = storage.quarantine_entries(SOURCE)
    assert (entry.reason, entry.line, entry.status) == ("first reason", 1, "open")
    for resolution in ("released", "discarded"):
        db.execute("UPDATE quarantine SET status = :s, resolution = 'x'", s=resolution)
        assert storage.quarantine_entries(SOURCE) == []
        assert len(storage.quarantine_entries(SOURCE, status=resolution)) == 1
        with storage.session() as session:
            session.quarantine([quarantine_row(b"bad", f"after {resolution}", line=9)])
        (entry,) = storage.quarantine_entries(SOURCE)
        assert (entry.reason, entry.line, entry.status) == (f"after {resolution}", 9, "open")
    assert len(storage.quarantine_entries(SOURCE, status=None)) == 1
    assert db.count("quarantine") == 2


def test_quarantine_duplicates_in_one_batch_keep_the_first(storage: Storage) -> None:
    rows = [
        quarantine_row(b"q1", "one", line=1),
        quarantine_row(b"q2", "two \x00", line=2),
        quarantine_row(b"q1", "again", line=3),
    ]
    with storage.session() as session:
        session.quarantine(rows)
    entries = storage.quarantine_entries(SOURCE)
    assert [(e.payload, e.reason, e.line) for e in entries] == [
        (b"q1", "one", 1),
        (b"q2", "two \x00", 2),
    ]


def test_upsert_creates_then_unchanged_then_versions(storage: Storage, db: Database) -> None:
    srn = record_srn("thing", "harvest", SOURCE, "V-1")
    first = upsert(storage, record_row("V-1", amount="10.00"))
    assert first == UpsertResult(1, 0, 0, [RecordChange("thing", "harvest", SOURCE, "V-1", 1)])
    before = storage.get_record(CONVENTION, srn)
    assert upsert(storage, record_row("V-1", amount="10.00"), now=LATER) == UpsertResult(
        0, 0, 1, []
    )
    assert storage.get_record(CONVENTION, srn) == before  # updated_at untouched
    assert db.count("record_versions") == 0
    changed = upsert(storage, record_row("V-1", amount="11.00"), now=LATER)
    assert changed == UpsertResult(0, 1, 0, [RecordChange("thing", "harvest", SOURCE, "V-1", 2)])
    history = storage.record_history(CONVENTION, srn)
    assert [(r.version, str(r.columns["amount"])) for r in history] == [(1, "10.00"), (2, "11.00")]
    assert before is not None and history[0] == before  # the old version, exactly
    assert history[1].published_at == before.published_at
    assert history[1].updated_at == datetime.fromisoformat(LATER)


def test_id_repeated_in_one_batch_is_applied_in_order(storage: Storage) -> None:
    rows = [
        record_row("R-1", label="a"),
        record_row("R-1", label="a"),
        record_row("R-2", label="x"),
        record_row("R-1", label="b"),
        record_row("R-1", label="a"),
    ]
    result = upsert(storage, *rows)
    assert (result.created, result.updated, result.unchanged) == (2, 2, 1)
    assert sorted(result.changes) == [
        RecordChange("thing", "harvest", SOURCE, "R-1", 1),
        RecordChange("thing", "harvest", SOURCE, "R-1", 2),
        RecordChange("thing", "harvest", SOURCE, "R-1", 3),
        RecordChange("thing", "harvest", SOURCE, "R-2", 1),
    ]
    history = storage.record_history(CONVENTION, record_srn("thing", "harvest", SOURCE, "R-1"))
    assert [(r.version, r.columns["label"]) for r in history] == [(1, "a"), (2, "b"), (3, "a")]


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "after-duplicates"])
def test_mixed_batches_give_the_same_answer_whatever_came_before(
    storage: Storage, warm: bool
) -> None:
    """A writer may probe keys first after a batch of duplicates (PostgreSQL does): the
    results must not depend on it."""
    upsert(storage, record_row("M-1", label="a"), record_row("M-2", label="a"))
    with storage.session() as session:
        session.append_raw([raw_row("M-1", b"a"), raw_row("M-2", b"a")], [])
    if warm:  # batches of duplicates only
        assert upsert(storage, record_row("M-1", label="a")).unchanged == 1
        with storage.session() as session:
            assert session.append_raw([raw_row("M-1", b"a")], []) == 0
    rows = [
        record_row("M-1", label="b"),  # changed
        record_row("M-1", label="a"),  # back to the stored content: still a new version
        record_row("M-2", label="a"),  # unchanged
        record_row("M-3", label="a"),  # new
        record_row("M-3", label="a"),  # new, then unchanged
    ]
    result = upsert(storage, *rows)
    assert (result.created, result.updated, result.unchanged) == (1, 2, 2)
    history = storage.record_history(CONVENTION, record_srn("thing", "harvest", SOURCE, "M-1"))
    assert [(r.version, r.columns["label"]) for r in history] == [(1, "a"), (2, "b"), (3, "a")]
    raw = [raw_row("M-1", b"a"), raw_row("M-3", b"c"), raw_row("M-3", b"c"), raw_row("M-1", b"z")]
    with storage.session() as session:
        assert session.append_raw(raw, []) == 2
    assert [p.payload for p in storage.raw_payloads(SOURCE, "M-1")] == [b"a", b"z"]
    assert [p.payload for p in storage.raw_payloads(SOURCE, "M-3")] == [b"c"]


def test_batches_of_new_records_then_one_with_an_existing_key(storage: Storage) -> None:
    """A first ingest in batches (PostgreSQL COPYs those straight into the table), then
    a batch that looks new but is not quite: the result is the general upsert's."""
    for start in (0, 10, 20):
        result = upsert(storage, *(record_row(f"N-{i:02d}") for i in range(start, start + 10)))
        assert (result.created, result.updated, result.unchanged) == (10, 0, 0)
    batch = [record_row(f"N-{i:02d}") for i in range(30, 39)] + [record_row("N-05", label="z")]
    result = upsert(storage, *batch)
    assert (result.created, result.updated, result.unchanged) == (9, 1, 0)
    assert sorted(result.changes)[0] == RecordChange("thing", "harvest", SOURCE, "N-05", 2)
    assert len(list(storage.list_records(CONVENTION, None))) == 39
    again = upsert(storage, *(record_row(f"N-{i:02d}") for i in range(40, 45)))
    assert again.created == 5


def test_identity_includes_the_provenance_type(storage: Storage) -> None:
    result = upsert(
        storage,
        record_row("P-1", label="h"),
        record_row("P-1", label="d", source_type="deposition"),
    )
    assert (result.created, result.updated) == (2, 0)
    deposited = storage.get_record(CONVENTION, record_srn("thing", "deposition", "", "P-1"))
    assert deposited is not None and deposited.columns["label"] == "d"
    assert deposited.source.type == "deposition"


@pytest.mark.parametrize("kind", ["harvest", "fork", "import"])
def test_identity_includes_the_upstream(storage: Storage, kind: str) -> None:
    """The same id from two upstreams (data sources, nodes) is two records, both on
    the direct path of new records and on the general upsert."""
    first = upsert(
        storage,
        record_row("U-1", label="a", source_type=kind, upstream="one"),
        record_row("U-1", label="b", source_type=kind, upstream="two\u0000x"),
    )
    assert (first.created, first.updated) == (2, 0)
    assert {c.srn for c in first.changes} == {
        record_srn("thing", kind, "one", "U-1"),
        record_srn("thing", kind, "two\u0000x", "U-1"),
    }
    again = upsert(
        storage,
        record_row("U-1", label="a2", source_type=kind, upstream="one"),
        record_row("U-1", label="b", source_type=kind, upstream="two\u0000x"),
        record_row("U-1", label="c", source_type=kind, upstream="three"),
    )
    assert (again.created, again.updated, again.unchanged) == (1, 1, 1)
    one = storage.get_record(CONVENTION, record_srn("thing", kind, "one", "U-1"))
    two = storage.get_record(CONVENTION, record_srn("thing", kind, "two\u0000x", "U-1"))
    assert one is not None and (one.version, one.columns["label"]) == (2, "a2")
    assert two is not None and (two.version, two.columns["label"]) == (1, "b")
    srns = [r.srn for r in storage.list_records(CONVENTION, None)]
    assert len(srns) == 3 and srns == sorted(srns, key=lambda s: s.encode())
    assert [r.srn for r in storage.list_records(CONVENTION, None, after=srns[0])] == srns[1:]
    history = storage.record_history(CONVENTION, record_srn("thing", kind, "one", "U-1"))
    assert [(r.version, r.columns["label"]) for r in history] == [(1, "a"), (2, "a2")]


def test_a_failed_session_writes_nothing(storage: Storage, db: Database) -> None:
    with pytest.raises(RuntimeError, match="boom"), storage.session() as session:
        session.start_run("srn:run:x", SOURCE, ["f"], NOW)
        session.append_raw([raw_row("F-1", b"f")], [])
        session.quarantine([quarantine_row(b"q", "r")])
        session.upsert_records(CONVENTION, [record_row("F-1")], NOW)
        raise RuntimeError("boom")
    for table in ("raw_payloads", "quarantine", "records_thing", "ingest_runs"):
        assert db.count(table) == 0, table
    # and the storage is usable afterwards, staging included
    assert upsert(storage, record_row("F-1")).created == 1
    with storage.session() as session:
        assert session.append_raw([raw_row("F-1", b"f")], []) == 1


def test_several_batches_in_one_session(storage: Storage) -> None:
    with storage.session() as session:
        assert session.append_raw([raw_row("S-1", b"1")], []) == 1
        assert session.append_raw([raw_row("S-1", b"1"), raw_row("S-2", b"2")], []) == 1
        assert session.upsert_records(CONVENTION, [record_row("S-1")], NOW).created == 1
        again = session.upsert_records(CONVENTION, [record_row("S-1", label="z")], NOW)
        assert (again.created, again.updated) == (0, 1)
    assert [p.payload for p in storage.raw_payloads(SOURCE, "S-1")] == [b"1"]


def test_runs_are_recorded(storage: Storage, db: Database) -> None:
    with storage.session() as session:
        session.start_run("srn:run:1", SOURCE, ["a.jsonl", "b.jsonl"], NOW)
    with storage.session() as session:
        session.finish_run("srn:run:1", "succeeded", {"received": 3}, LATER)
    ((status, origins, summary),) = db.rows("SELECT status, origins, summary FROM ingest_runs")
    assert status == "succeeded"
    assert _json(origins) == ["a.jsonl", "b.jsonl"]
    assert _json(summary) == {"received": 3}


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value
