"""publish_record and bulk_publish on every backend: identity, idempotence, columns,
versions, rejected items, strict mode."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import ingestry
from ingestry import (
    DepositionSource,
    ExtractionError,
    ForkSource,
    HarvestSource,
    ImportSource,
    InvalidSourceError,
    RecordSource,
    StrictModeError,
    UnknownConventionError,
    record_srn,
    srn_of,
)
from ingestry.services.publish import PublishService
from ingestry.store import Store
from tests.backends import Database

META = {
    "order_number": "#1",
    "created_at": "2026-11-01T10:00:00Z",
    "total_price": "12.50",
    "customer": {"email": "a@example.com"},
    "line_items": [{"quantity": 2}],
    "financial": {"paid": True},
    "note": "kept",
}

SOURCES: list[RecordSource] = [
    DepositionSource("P-1"),
    HarvestSource("P-1", harvest_run_srn="srn:ingestry:harvest-run:x", upstream_source="pdb"),
    ForkSource("P-1", source_node="node-b"),
    ImportSource("P-1", source_node="node-c"),
]


def events(store: Store, db: Database) -> list[tuple[str, int]]:
    store.take_in_events()  # every change taken in, as a claim does
    return [(s, v) for s, v in db.rows("SELECT srn, version FROM record_events ORDER BY id")]


def test_identity_rule_across_the_four_provenance_types(store: Store, db: Database) -> None:
    published = [store.publish_record("order", source, META) for source in SOURCES]
    # different type → different record, even with the same id
    assert len({r.srn for r in published}) == 4
    for source, record in zip(SOURCES, published, strict=True):
        assert record.srn == srn_of("order", source)
        assert record.source == source
        assert record.version == 1
    # same convention + type + id → the same record, whichever way the source is given
    for source in SOURCES:
        as_dict = ingestry.domain.provenance.source_to_dict(source)
        again = store.publish_record("order", as_dict, META)
        assert again.srn == srn_of("order", source)
        assert again.version == 1
    assert db.count("records_order") == 4
    assert sorted(events(store, db)) == sorted((r.srn, 1) for r in published)


def test_the_upstream_is_part_of_the_identity(store: Store) -> None:
    # the identity is (type, upstream, id): another node's F-9 is another record
    first = store.publish_record("order", ForkSource("F-9", source_node="a"), META)
    second = store.publish_record("order", ForkSource("F-9", source_node="b"), META)
    assert second.srn != first.srn
    assert second.srn == record_srn("order", "fork", "b", "F-9")
    # while other provenance fields (the harvest run) do not make a new record
    run1 = HarvestSource("H-9", harvest_run_srn="r1", upstream_source="shop")
    run2 = HarvestSource("H-9", harvest_run_srn="r2", upstream_source="shop")
    assert (
        store.publish_record("order", run1, META).srn
        == store.publish_record("order", run2, META).srn
    )
    assert store.get(record_srn("order", "harvest", "shop", "H-9")).version == 1


def test_columns_are_extracted_and_metadata_kept_whole(store: Store) -> None:
    record = store.publish_record("order", DepositionSource("C-1"), META)
    assert record.columns["total"] == Decimal("12.50")
    assert record.columns["email"] == "a@example.com"
    assert record.columns["item_count"] == 2
    assert record.columns["paid"] is True
    assert record.columns["created_at"].isoformat() == "2026-11-01T10:00:00+00:00"
    assert dict(record.metadata) == META  # nothing moved out
    assert record.data_source is None


def test_changed_content_is_a_new_version_with_history(store: Store, db: Database) -> None:
    source = DepositionSource("V-1")
    store.publish_record("order", source, META)
    same = store.publish_record("order", source, dict(reversed(list(META.items()))))
    assert same.version == 1  # key order is not content
    changed = store.publish_record("order", source, {**META, "total_price": "99"})
    assert changed.version == 2
    assert changed.columns["total"] == Decimal("99")
    history = store.history(changed.srn)
    assert [r.version for r in history] == [1, 2]
    assert history[0].columns["total"] == Decimal("12.50")
    assert events(store, db) == [(changed.srn, 1), (changed.srn, 2)]


def test_invalid_publish_names_the_record_and_writes_nothing(store: Store, db: Database) -> None:
    with pytest.raises(ExtractionError, match=r"deposition::X-1: required column 'created_at'"):
        store.publish_record("order", DepositionSource("X-1"), {"total_price": "1"})
    with pytest.raises(ExtractionError, match="column 'total'"):
        store.publish_record("order", DepositionSource("X-2"), {**META, "total_price": "lots"})
    with pytest.raises(InvalidSourceError, match="unknown provenance type"):
        store.publish_record("order", {"type": "upload", "id": "X-3"}, META)
    with pytest.raises(InvalidSourceError, match="needs 'source_node'"):
        store.publish_record("order", {"type": "fork", "id": "X-4"}, META)
    with pytest.raises(ExtractionError, match="not JSON-serializable"):
        store.publish_record("order", DepositionSource("X-5"), {**META, "x": object()})
    with pytest.raises(UnknownConventionError):
        store.publish_record("nope", DepositionSource("X-6"), META)
    assert db.count("records_order") == 0
    store.take_in_events()  # every change taken in, as a claim does
    assert db.count("record_events") == 0


def _items(n: int, start: int = 0, **extra: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [
        ({"type": "harvest", "id": f"B-{i}", "harvest_run_srn": "r1", "upstream_source": "geo"},
         {**META, "order_number": f"#{i}", **extra})
        for i in range(start, start + n)
    ]  # fmt: skip


def test_bulk_publish_counts_versions_and_reports_bad_items(store: Store, db: Database) -> None:
    items: list[Any] = _items(5)
    items.insert(2, ({"type": "harvest", "id": "B-bad"}, META))  # provenance incomplete
    items.append(({"type": "deposition", "id": "B-x"}, {"total_price": "1"}))  # no created_at
    items.append("not a pair")
    summary = store.bulk_publish("order", items)
    assert (summary.received, summary.created, summary.updated, summary.unchanged) == (8, 5, 0, 0)
    assert summary.rejected == 3
    assert [e.index for e in summary.errors] == [2, 6, 7]
    assert "harvest_run_srn" in summary.errors[0].reason
    assert "created_at" in summary.errors[1].reason
    assert db.count("records_order") == 5
    again = store.bulk_publish("order", _items(3) + _items(2, 3, note="changed"))
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 2, 3, 0)
    store.take_in_events()  # every change taken in, as a claim does
    assert db.count("record_events") == 7
    assert db.count("record_versions") == 2


def test_bulk_publish_strict_rolls_everything_back(store: Store, db: Database) -> None:
    items: list[Any] = _items(4)
    items.append(({"type": "deposition", "id": "S-x"}, {"total_price": "1"}))
    with pytest.raises(StrictModeError, match=r"item 4: required column 'created_at'"):
        store.bulk_publish("order", items, strict=True)
    assert db.count("records_order") == 0
    store.take_in_events()  # every change taken in, as a claim does
    assert db.count("record_events") == 0


def test_bulk_publish_batches_and_repeated_ids(store: Store, db: Database) -> None:
    service = PublishService(store.storage, store.settings.convention, batch_size=3)
    # batches of 3: B-2 is created by the first; the third holds it twice (last wins)
    items = [*_items(7), *_items(1, 2, note="v2"), *_items(1, 2, note="v3")]
    summary = service.bulk_publish("order", items)
    assert (summary.created, summary.updated, summary.duplicate_ids) == (7, 1, 1)
    srn = record_srn("order", "harvest", "geo", "B-2")
    assert store.get(srn).version == 2
    assert store.get(srn).metadata["note"] == "v3"
    assert [r.version for r in store.history(srn)] == [1, 2]
    assert [v for s, v in events(store, db) if s == srn] == [1, 2]


def test_bulk_publish_accepts_a_generator(store: Store) -> None:
    summary = store.bulk_publish("order", (pair for pair in _items(3)))
    assert summary.created == 3
    assert summary.as_dict()["errors"] == []
