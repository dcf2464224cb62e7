"""Pure parts of the raw-store operations: content identity, synthesized payloads,
stored-payload extraction, window SQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from ingestry.adapters.sql.window import window_where
from ingestry.domain.conventions import ColumnSpec, ColumnType, Convention
from ingestry.domain.provenance import HarvestSource
from ingestry.domain.records import Record
from ingestry.domain.sources import DataSource, SourceFormat, StorageStrategy
from ingestry.extract.compiler import Extractor
from ingestry.extract.jsonio import loads
from ingestry.services.migrate import synthesize_payload
from ingestry.services.ports import RawWindow
from ingestry.services.reextract import Extracted, extract_stored

SOURCE = DataSource("s", StorageStrategy.RAW, "c", "r", SourceFormat.JSONL, (("id",),))
NAME = ColumnSpec("name", ("name",), ColumnType.TEXT)
NOTE = ColumnSpec("note", ("note",), ColumnType.TEXT)
AT = ColumnSpec("at", ("at",), ColumnType.TIMESTAMP)


def content(columns: tuple[ColumnSpec, ...], payload: bytes) -> bytes:
    found = extract_stored(Extractor(SOURCE, Convention("c", columns)), payload, None)
    assert isinstance(found, Extracted)
    return found.content_hash


def test_a_new_null_column_or_a_reordering_keeps_the_content() -> None:
    payload = b'{"id": "1", "name": "a", "at": "2026-11-01T00:00:00Z"}'
    base = content((NAME, AT), payload)
    assert content((AT, NAME), payload) == base  # column order in the config
    assert content((NAME, AT, NOTE), payload) == base  # a column the payload lacks
    assert content((NAME, AT, NOTE), payload[:-1] + b', "note": "x"}') != base
    assert content((NAME,), payload) != base  # a value moving into metadata


def test_stored_payload_failures_carry_ingest_reasons() -> None:
    extractor = Extractor(SOURCE, Convention("c", (AT,)))
    assert str(extract_stored(extractor, b'{"id": ', None)).startswith("invalid JSON")
    assert "missing id" in str(extract_stored(extractor, b'{"x": 1}', None))
    csv = DataSource("s", StorageStrategy.RAW, "c", "r", SourceFormat.CSV, (("id",),))
    csv_extractor = Extractor(csv, Convention("c", (NAME,)))
    assert extract_stored(csv_extractor, b"1,a", None) == "no CSV header stored for this row"
    assert "header has 2" in str(extract_stored(csv_extractor, b"1,a,b", b"id,name"))
    found = extract_stored(csv_extractor, b"1,a", b"id,name")
    assert isinstance(found, Extracted) and found.draft.columns == ("a",)
    # a synthesized payload of a CSV source is JSON
    synthesized = extract_stored(csv_extractor, b'{"id":"1","name":"a"}', None, synthesized=True)
    assert isinstance(synthesized, Extracted) and synthesized.draft.source_id == "1"


def test_synthesized_payload_extracts_to_the_same_content() -> None:
    columns = (
        NAME,
        AT,
        ColumnSpec("total", ("total_price",), ColumnType.DECIMAL),
        ColumnSpec("day", ("day",), ColumnType.DATE),
        ColumnSpec("doc", ("doc",), ColumnType.JSON),
        ColumnSpec("email", ("customer", "email"), ColumnType.TEXT),
    )
    convention = Convention("c", columns)
    original = (
        b'{"id": 7, "name": "a", "at": 1762000000, "total_price": "10.50", "day": "2026-11-01",'
        b' "doc": {"b": [1, 2]}, "customer": {"email": "x@y"},'
        b' "big": 123456789012345678901234567890}'
    )
    first = extract_stored(Extractor(SOURCE, convention), original, None)
    assert isinstance(first, Extracted)
    record = Record(
        srn="srn:x",
        convention="c",
        source=HarvestSource("7", "srn:run", "s"),
        metadata=first.draft.metadata,
        columns={
            "name": "a",
            "at": datetime(2025, 11, 1, 12, 26, 40, tzinfo=UTC),
            "total": Decimal("10.50"),
            "day": date(2026, 11, 1),
            "doc": {"b": [1, 2]},
            "email": "x@y",
        },
        version=1,
        published_at=datetime(2026, 11, 1, tzinfo=UTC),
        updated_at=datetime(2026, 11, 1, tzinfo=UTC),
    )
    payload = synthesize_payload(convention, record)
    assert loads(payload)["big"] == 123456789012345678901234567890
    again = extract_stored(Extractor(SOURCE, convention), payload, None, synthesized=True)
    assert isinstance(again, Extracted)
    assert again.content_hash == first.content_hash
    assert synthesize_payload(convention, record) == payload  # deterministic bytes


def test_window_where_bounds_by_source_and_time_first() -> None:
    window = RawWindow("s", "order", "2026-11-01", "2026-11-02", "decl+1")
    where, params = window_where(window, "%s", "%s::timestamptz", "p.")
    assert where == (
        "p.source = %s AND p.received_at >= %s::timestamptz AND p.received_at < %s::timestamptz"
        " AND p.entity_type = %s AND p.extractor_version = %s"
    )
    assert params == ["s", "2026-11-01", "2026-11-02", "order", "decl+1"]
    assert window_where(RawWindow("s"), "?", "?") == ("source = ?", ["s"])
