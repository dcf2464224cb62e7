"""The RawOperations / RawSession contract (replay reads, raw marks, quarantine
decisions, synthesized rows, holds, retention), written once, run on SQLite, PostgreSQL
and the in-memory fake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingestry.domain.records import record_srn
from ingestry.domain.retention import RetentionReport
from ingestry.services.ports import (
    PurgeResult,
    RawOperations,
    RawWindow,
    RetentionPolicy,
    Storage,
)
from tests.contract.conftest import (
    CONVENTION,
    NOW,
    SOURCE,
    quarantine_row,
    raw_row,
    record_row,
    sha,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat(timespec="microseconds")


@pytest.fixture
def ops(storage: Storage) -> RawOperations:
    return storage.raw_operations()


def store_raw(storage: Storage, *rows: object) -> None:
    with storage.session() as session:
        session.append_raw(list(rows), [])  # type: ignore[arg-type]


def ids_of(ops: RawOperations, window: RawWindow, limit: int = 100) -> list[str]:
    """Every row of the window, read in pages of `limit` by the (received_at, id) keyset."""
    out: list[str] = []
    after = None
    while True:
        batch = ops.window_batch(window, after, limit)
        out += [r.source_id for r in batch]
        if len(batch) < limit:
            return out
        after = (batch[-1].received_at, batch[-1].id)


def test_a_window_is_read_in_received_order_by_keyset_pages(
    storage: Storage, ops: RawOperations
) -> None:
    store_raw(
        storage,
        raw_row("c", b"3", received_at=at(2)),
        raw_row("a", b"1", received_at=at(0)),
        raw_row("b", b"2", received_at=at(1)),
        raw_row("d", b"4", received_at=at(1)),  # same time as b, stored later: after it
        raw_row("x", b"5", received_at=at(1), source="other"),
    )
    window = RawWindow(SOURCE)
    assert ops.window_count(window) == 4
    assert ids_of(ops, window, limit=1) == ids_of(ops, window) == ["a", "b", "d", "c"]
    assert ids_of(ops, RawWindow(SOURCE, since=at(1), until=at(2))) == ["b", "d"]
    assert ops.window_count(RawWindow(SOURCE, since=at(1), until=at(2))) == 2
    assert ops.window_count(RawWindow(SOURCE, entity_type="nope")) == 0
    assert ops.window_count(RawWindow(SOURCE, extractor_version="v1")) == 4
    assert ops.window_count(RawWindow("missing")) == 0


def test_a_stored_raw_row_carries_its_fields_and_header(
    storage: Storage, ops: RawOperations
) -> None:
    header = (sha(b"h1,h2"), b"h1,h2")
    with storage.session() as session:
        session.append_raw([raw_row("R", b"1,2", header=header[0], line=3, error="e")], [header])
    (row,) = ops.window_batch(RawWindow(SOURCE), None, 10)
    assert (row.source_id, row.entity_type, row.payload, row.header) == (
        "R",
        "thing",
        b"1,2",
        header[1],
    )
    assert (row.sha256, row.line, row.origin, row.error) == (sha(b"1,2"), 3, "file.jsonl", "e")
    assert (row.extractor_version, row.synthesized) == ("v1", False)
    assert datetime.fromisoformat(str(row.received_at)) == datetime.fromisoformat(NOW)


def test_marks_record_the_extraction_and_move_ids_only_where_free(
    storage: Storage, ops: RawOperations
) -> None:
    store_raw(storage, raw_row("", b"p1"), raw_row("", b"p2"), raw_row("B", b"p2"))
    first, second, third = ops.window_batch(RawWindow(SOURCE), None, 10)
    with ops.session() as session:
        assert session.latest_raw_ids(SOURCE, ["B", "", "none"]) == {"B": third.id, "": second.id}
        session.mark_raw(
            SOURCE,
            [
                (first.id, first.received_at, first.sha256, "", "v2", None, "A", "thing"),
                (second.id, second.received_at, second.sha256, "", "v2", "bad", "B", "thing"),
            ],
            at(5),
        )
    rows = ops.window_batch(RawWindow(SOURCE), None, 10)
    assert [(r.source_id, r.extractor_version, r.error) for r in rows] == [
        ("A", "v2", None),
        ("", "v2", "bad"),  # B already holds these bytes: the row keeps its id
        ("B", "v1", None),
    ]
    (payload,) = storage.raw_payloads(SOURCE, "A")
    assert payload.processed_at == datetime.fromisoformat(at(5))
    assert ops.window_count(RawWindow(SOURCE, extractor_version="v2")) == 2


def test_synthesized_rows_are_marked_and_deduped(storage: Storage, ops: RawOperations) -> None:
    store_raw(storage, raw_row("S", b"s"))
    with ops.session() as session:
        assert session.append_synthesized([raw_row("S", b"s"), raw_row("T", b"t")]) == 1
    rows = ops.window_batch(RawWindow(SOURCE), None, 10)
    assert [(r.source_id, r.synthesized) for r in rows] == [("S", False), ("T", True)]


def test_records_are_found_and_learn_an_extractor_version(
    storage: Storage, ops: RawOperations
) -> None:
    with storage.session() as session:
        session.upsert_records(CONVENTION, [record_row(i) for i in ("r1", "r2", "r3")], NOW)
    with ops.session() as session:
        found = session.existing_records(CONVENTION, "harvest", SOURCE, ["r2", "r1", "zz"])
        assert sorted((r.source_id, r.extractor_version) for r in found) == [
            ("r1", "v1"),
            ("r2", "v1"),
        ]
        assert all(r.upstream == SOURCE and r.source_type == "harvest" for r in found)
        assert session.existing_records(CONVENTION, "harvest", "elsewhere", ["r1"]) == []
        session.set_extractor_version(CONVENTION, [("harvest", SOURCE, "r2")], "v2")
    assert ops.extractor_versions(CONVENTION, SOURCE) == {"v1": 2, "v2": 1}
    assert ops.extractor_versions(CONVENTION, "other") == {}
    pages = [ops.source_records(CONVENTION, SOURCE, None, 2)]
    pages.append(ops.source_records(CONVENTION, SOURCE, ("harvest", SOURCE, "r2"), 2))
    assert [[r.srn for r in page] for page in pages] == [
        [record_srn("thing", "harvest", SOURCE, i) for i in ("r1", "r2")],
        [record_srn("thing", "harvest", SOURCE, "r3")],
    ]
    record = storage.get_record(CONVENTION, record_srn("thing", "harvest", SOURCE, "r2"))
    assert record is not None and (record.version, record.extractor_version) == (1, "v2")


def test_quarantine_items_resolve_and_reopen(storage: Storage, ops: RawOperations) -> None:
    header = (sha(b"a,b"), b"a,b")
    with storage.session() as session:
        session.append_raw([raw_row("", b"bad1", error="no id")], [])
        session.quarantine([quarantine_row(p, f"reason {p!r}", line=n) for n, p in
                            enumerate((b"bad1", b"bad2", b"bad3"), 1)])  # fmt: skip
        session.quarantine_headers(SOURCE, header, [sha(b"bad2")])
    items = ops.quarantine_items(SOURCE, None, 0, 10)
    assert [(i.payload, i.line) for i in items] == [(b"bad1", 1), (b"bad2", 2), (b"bad3", 3)]
    assert [i.header for i in items] == [None, header[1], None]
    assert [i.payload for i in ops.quarantine_items(SOURCE, None, items[0].id, 1)] == [b"bad2"]
    assert [i.payload for i in ops.quarantine_items(SOURCE, [items[2].id], 0, 10)] == [b"bad3"]
    assert [r.payload for r in ops.quarantine_raw_rows(SOURCE, items[:1])] == [b"bad1"]
    with ops.session() as session:
        closed = session.resolve_quarantine(
            SOURCE, ids=[items[0].id], sha256s=[sha(b"bad3"), sha(b"nothing")],
            status="discarded", resolution="not wanted", actor="ann", now=at(9),
        )  # fmt: skip
    assert closed == [items[0].id, items[2].id]
    assert [i.payload for i in ops.quarantine_items(SOURCE, None, 0, 10)] == [b"bad2"]
    detail = ops.quarantine_entry(items[0].id)
    assert detail is not None
    assert (detail.entry.status, detail.resolution, detail.resolved_by) == (
        "discarded", "not wanted", "ann",
    )  # fmt: skip
    assert detail.resolved_at == datetime.fromisoformat(at(9))
    assert detail.entry.payload == b""  # a decision drops the entry's bytes
    assert detail.raw_payload == b"bad1"  # the raw row keeps them
    assert ops.quarantine_entry(10**9) is None
    with storage.session() as session:  # the same bytes failing again reopen the entry
        session.quarantine([quarantine_row(b"bad3", "again", line=7)])
    reopened = [(i.id, i.payload, i.line) for i in ops.quarantine_items(SOURCE, None, 0, 10)]
    assert reopened == [(items[1].id, b"bad2", 2), (items[2].id, b"bad3", 7)]


def test_holds_are_added_listed_and_released(storage: Storage, ops: RawOperations) -> None:
    with ops.session() as session:
        forever = session.add_hold(SOURCE, None, None, "audit", "ann", at(0))
        short = session.add_hold(SOURCE, "X", at(10), None, "bob", at(0))
        other = session.add_hold("other", None, None, None, "ann", at(0))
    assert [h.id for h in ops.holds(None, None)] == [forever, short, other]
    assert [h.id for h in ops.holds(SOURCE, at(5))] == [forever, short]
    assert [h.id for h in ops.holds(SOURCE, at(10))] == [forever]  # until is exclusive
    with ops.session() as session:
        assert session.release_hold(forever, "carl", at(1)) is True
        assert session.release_hold(forever, "carl", at(2)) is False
    (released,) = [h for h in ops.holds(SOURCE, None) if h.id == forever]
    assert (released.released_by, released.reason, released.created_by) == ("carl", "audit", "ann")
    assert ops.holds(SOURCE, at(5))[0].id == short


def test_retention_keeps_unextracted_quarantined_and_held_rows(
    storage: Storage, ops: RawOperations
) -> None:
    old, new = at(0), at(48)
    store_raw(
        storage,
        *(raw_row(f"p{i}", b"x" * (i + 1), received_at=old) for i in range(5)),
        raw_row("held", b"h", received_at=old),
        raw_row("quarantined", b"q", received_at=old, error="bad"),
        raw_row("fresh", b"f", received_at=new),
    )
    with storage.session() as session:
        session.append_raw([(*raw_row("unextracted", b"u", received_at=old)[:7], None,
                             *raw_row("u", b"u")[8:])], [])  # fmt: skip
        session.quarantine([quarantine_row(b"q", "bad")])
    policy = RetentionPolicy(SOURCE, at(24), ("held",))
    report = RetentionReport(SOURCE, datetime.fromisoformat(at(24)), 1)
    ops.retention_counts(policy, report)
    assert (report.expired, report.rows_purged, report.bytes_freed) == (8, 5, 15)
    assert (report.kept_unextracted, report.kept_quarantined, report.kept_held) == (1, 1, 1)
    # a partition holding kept rows is never dropped (a backend without partitions: {})
    assert ops.drop_partitions([policy], at(50)).get(SOURCE, PurgeResult(0, 0, 0)).rows == 0
    purged = ops.purge(policy, batch_rows=2)
    assert (purged.rows, purged.bytes) == (5, 15)
    assert sorted(ids_of(ops, RawWindow(SOURCE))) == ["fresh", "held", "quarantined", "unextracted"]
    assert ops.purge(policy, batch_rows=2).rows == 0
    with ops.session() as session:
        session.write_audit(report, "ann", at(49))
        report.source = "other"
        session.write_audit(report, "bob", at(50))
    entries = ops.audit(None, 10)
    assert [(e.source, e.actor) for e in entries] == [("other", "bob"), (SOURCE, "ann")]
    assert [e.actor for e in ops.audit(SOURCE, 10)] == ["ann"]
    assert (entries[1].rows_purged, entries[1].kept_held) == (5, 1)
    assert len(ops.audit(None, 1)) == 1


def test_a_failed_raw_session_writes_nothing(storage: Storage, ops: RawOperations) -> None:
    store_raw(storage, raw_row("A", b"a"))
    (row,) = ops.window_batch(RawWindow(SOURCE), None, 10)
    with pytest.raises(RuntimeError), ops.session() as session:
        session.mark_raw(SOURCE, [(row.id, row.received_at, row.sha256, "A", "v9", "e", None,
                                   None)], at(1))  # fmt: skip
        session.add_hold(SOURCE, None, None, None, "ann", at(1))
        raise RuntimeError("boom")
    assert ops.window_count(RawWindow(SOURCE, extractor_version="v9")) == 0
    assert ops.holds(None, None) == []
