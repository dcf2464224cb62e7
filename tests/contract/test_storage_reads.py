"""Storage reads: typed values, exact JSON, unusual ids, ordering, history, stats."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from ingestry.domain.query import Condition, Op, RecordQuery, Sort
from ingestry.domain.records import record_srn
from ingestry.services.ports import Storage
from tests.contract.conftest import CONVENTION, NOW, SOURCE, quarantine_row, raw_row, record_row

MARK = "\ue000"


def upsert(storage: Storage, *rows: object) -> None:
    with storage.session() as session:
        session.upsert_records(CONVENTION, list(rows), NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize("after_new", [False, True], ids=["first-batch", "after-new-batch"])
def test_columns_read_back_typed_and_exact(storage: Storage, after_new: bool) -> None:
    if after_new:  # PostgreSQL COPYs a batch straight into the table after all-new ones
        upsert(storage, record_row("T-0"))
    upsert(
        storage,
        record_row(
            "T-1",
            label="Zoë \t ünïcode",
            count=-(2**63),
            ratio=0.1 + 0.2,
            amount="-0.000000000000000000001",
            flag=False,
            at="1999-12-31T23:59:59.999999+00:00",
            day="0001-01-01",
            doc='{"a":12345678901234567890123,"b":[true,null,"x"]}',
            shape='{"coordinates":[[1,2],[3,4]],"type":"LineString"}',
            metadata={"z": 1, "a": {"y": 2, "b": "x\ny"}, "big": 10**30, "f": 2.5},
        ),
    )
    record = storage.get_record(CONVENTION, record_srn("thing", "harvest", SOURCE, "T-1"))
    assert record is not None
    measures = {c.name for c in CONVENTION.columns if c.derived is not None}
    assert {k: record.columns[k] for k in measures} == dict.fromkeys(measures)  # as written
    assert {k: v for k, v in record.columns.items() if k not in measures} == {
        "label": "Zoë \t ünïcode",
        "count": -(2**63),
        "ratio": 0.30000000000000004,
        "amount": Decimal("-0.000000000000000000001"),
        "flag": False,
        "at": datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        "day": date(1, 1, 1),
        "doc": {"a": 12345678901234567890123, "b": [True, None, "x"]},
        "shape": {"coordinates": [[1, 2], [3, 4]], "type": "LineString"},
    }
    assert record.metadata == {"a": {"b": "x\ny", "y": 2}, "big": 10**30, "f": 2.5, "z": 1}
    # canonical key order, as written (jsonb would order keys by length)
    assert list(record.metadata) == ["a", "big", "f", "z"]
    assert list(record.columns["doc"]) == ["a", "b"]
    assert record.version == 1 and record.data_source == SOURCE
    assert record.published_at == record.updated_at == datetime.fromisoformat(NOW)
    assert record.published_at.utcoffset() is not None


@pytest.mark.parametrize("after_new", [False, True], ids=["first-batch", "after-new-batch"])
def test_nul_and_the_escape_mark_round_trip(storage: Storage, after_new: bool) -> None:
    """U+0000 in text and JSON (PostgreSQL escapes it, with U+E000 as the mark)."""
    if after_new:
        upsert(storage, record_row("U-0"))
    upsert(
        storage,
        record_row(
            "U-1",
            label=f"a\x00b{MARK}0{MARK}{MARK}",
            doc='{"k":"\\u0000","m":"' + MARK + '0","s":"\\\\u0000"}',
            metadata={"nul": "x\x00y", "mark": MARK, "k\x00": "v"},
        ),
    )
    record = storage.get_record(CONVENTION, record_srn("thing", "harvest", SOURCE, "U-1"))
    assert record is not None
    assert record.columns["label"] == f"a\x00b{MARK}0{MARK}{MARK}"
    assert record.columns["doc"] == {"k": "\x00", "m": MARK + "0", "s": "\\u0000"}
    assert record.metadata == {"k\x00": "v", "mark": MARK, "nul": "x\x00y"}


def test_history_keeps_every_value_of_the_old_version(storage: Storage) -> None:
    old = record_row(
        "H-1",
        label=f"old \x00 {MARK}",
        ratio=1e16,
        amount="10.50",
        doc='"just a string"',
        metadata={"k": [1, {"y": 1, "x": 0}]},
        raw_sha=b"\x01" * 32,
    )
    upsert(storage, old)
    upsert(storage, record_row("H-1", label="new", ratio=None, doc=None, shape=None))
    srn = record_srn("thing", "harvest", SOURCE, "H-1")
    first, second = storage.record_history(CONVENTION, srn)
    assert first.version == 1 and second.version == 2
    assert first.columns["label"] == f"old \x00 {MARK}"
    assert first.columns["ratio"] == 1e16 and isinstance(first.columns["ratio"], float)
    assert first.columns["amount"] == Decimal("10.50") and str(first.columns["amount"]) == "10.50"
    assert first.columns["doc"] == "just a string"
    assert first.columns["shape"] == {"coordinates": [1.5, 2.5], "type": "Point"}
    assert first.columns["at"] == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert first.columns["day"] == date(2026, 11, 1)
    assert first.columns["flag"] is True and first.columns["count"] == 1
    assert first.metadata == {"k": [1, {"x": 0, "y": 1}]}
    assert list(first.metadata["k"][1]) == ["x", "y"]
    assert first.raw_sha256 == "01" * 32 and first.extractor_version == "v1"
    assert second.columns["ratio"] is None and second.columns["doc"] is None
    assert second.raw_sha256 is None


IDS = [
    "plain-ID_1.2~x",
    "with space",
    "a/b?c=d&e#f",
    "100%",
    "Zoë",
    "日本語",
    "emoji 🎉",
    "nul\x00inside",
    f"mark{MARK}0",
    "tab\tnewline\n",
]


@pytest.mark.parametrize("source_id", IDS, ids=range(len(IDS)))
def test_any_id_is_found_by_its_srn_and_versioned(storage: Storage, source_id: str) -> None:
    upsert(storage, record_row(source_id, label="a"))
    upsert(storage, record_row(source_id, label="b"))
    srn = record_srn("thing", "harvest", SOURCE, source_id)
    record = storage.get_record(CONVENTION, srn)
    assert record is not None and record.srn == srn and record.source.id == source_id
    history = storage.record_history(CONVENTION, srn)
    assert [(r.srn, r.version, r.columns["label"]) for r in history] == [
        (srn, 1, "a"),
        (srn, 2, "b"),
    ]
    with storage.session() as session:
        session.append_raw([raw_row(source_id, b"payload")], [])
    (raw,) = storage.raw_payloads(SOURCE, source_id)
    assert raw.source_id == source_id


def test_listing_is_bytewise_identity_order_with_keyset_pages(storage: Storage) -> None:
    ids = ["b", "B", "a", "ä", "a b", "Z", "a-", "aa", "10", "9", "日"]
    upsert(storage, *(record_row(i) for i in ids))
    upsert(storage, record_row("a", source_type="deposition"))
    listed = [(r.source.type, r.source.id) for r in storage.list_records(CONVENTION, None)]
    assert listed == [("deposition", "a"), *(("harvest", i) for i in sorted(ids))]
    first = list(storage.list_records(CONVENTION, 4))
    rest = list(storage.list_records(CONVENTION, None, after=first[-1].srn))
    assert [r.srn for r in first + rest] == [r.srn for r in storage.list_records(CONVENTION, None)]
    assert len(list(storage.list_records(CONVENTION, 0))) == 0


def test_stats_per_source(storage: Storage) -> None:
    with storage.session() as session:
        session.append_raw([raw_row("S-1", b"1"), raw_row("S-2", b"2")], [])
        session.append_raw([raw_row("S-1", b"1", source="other")], [])
        session.quarantine([quarantine_row(b"bad", "why")])
        session.upsert_records(CONVENTION, [record_row("S-1"), record_row("S-2")], NOW)
    stats = storage.stats({SOURCE: "thing", "other": "thing", "idle": "nope"})
    assert stats == {
        SOURCE: {"raw_rows": 2, "records": 2, "quarantined": 1},
        "other": {"raw_rows": 1, "records": 0, "quarantined": 0},
        "idle": {"raw_rows": 0, "records": 0, "quarantined": 0},
    }


def test_a_query_filters_sorts_counts_and_pages_alike(storage: Storage) -> None:
    """The same RecordQuery answers the same on every backend and the fake."""
    counts = {"q1": 3, "q2": None, "q3": 1, "q4": 3, "q5": 7}
    with storage.session() as session:
        rows = [record_row(i, count=n) for i, n in counts.items()]
        session.upsert_records(CONVENTION, rows, NOW)
    query = RecordQuery((Condition("count", Op.GE, (2,)),), Sort("count", desc=True))
    listed = [r.srn.rsplit(":", 1)[1] for r in storage.list_records(CONVENTION, None, None, query)]
    assert listed == ["q5", "q4", "q1"]
    assert storage.count_records(CONVENTION, query) == 3
    after = record_srn("thing", "harvest", SOURCE, "q4")
    page = storage.list_records(CONVENTION, 1, after, query)
    assert [r.srn.rsplit(":", 1)[1] for r in page] == ["q1"]
    ascending = RecordQuery((), Sort("count"))
    ordered = [
        r.srn.rsplit(":", 1)[1] for r in storage.list_records(CONVENTION, None, None, ascending)
    ]
    assert ordered == ["q3", "q1", "q4", "q5", "q2"]  # empty values last
    inside = RecordQuery((Condition("count", Op.IN, (1, 7)),))
    assert storage.count_records(CONVENTION, inside) == 2
