"""The PostgreSQL wire encoding built in preparation workers: the bytes of each row are
exactly those psycopg's binary formatter writes for the whole row, a batch with values
to escape gets no records part, and one scan of the payload bytes finds every value
that would need escaping."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from ingestry.adapters.postgres.binary import column_types
from ingestry.adapters.postgres.rows import escaped_raw
from ingestry.adapters.postgres.wire import (
    _PAYLOAD_PART,
    _RECORD_PART,
    KEY_COLUMNS,
    PAYLOAD_COLUMNS,
    WireEncoder,
    _Context,
    _formatter,
    _transformer,
    clean_payloads,
)
from ingestry.domain.conventions import ColumnSpec, ColumnType, Convention
from ingestry.domain.sources import DataSource, SourceFormat, StorageStrategy
from ingestry.extract.compiler import Extractor
from ingestry.extract.framing import Frame
from ingestry.services.batch import PreparedBatch, Provenance, prepare_batch

CONV = Convention(
    "order",
    (
        ColumnSpec("number", ("number",), ColumnType.TEXT),
        ColumnSpec("created_at", ("created_at",), ColumnType.TIMESTAMP, required=True),
        ColumnSpec("total", ("total",), ColumnType.DECIMAL),
        ColumnSpec("count", ("count",), ColumnType.INTEGER),
        ColumnSpec("paid", ("paid",), ColumnType.BOOLEAN),
        ColumnSpec("ratio", ("ratio",), ColumnType.FLOAT),
        ColumnSpec("day", ("day",), ColumnType.DATE),
        ColumnSpec("tags", ("tags",), ColumnType.JSON),
    ),
)
SOURCE = DataSource(
    name="orders", strategy=StorageStrategy.RAW, convention="order", rationale="r",
    format=SourceFormat.JSONL, id_paths=(("id",),), entity_type_path=("kind",),
)  # fmt: skip
NOW = "2026-12-01T10:00:00.123456+00:00"


def _batch(docs: list[dict[str, Any]]) -> tuple[PreparedBatch, bytes]:
    payloads = [json.dumps(doc, ensure_ascii=False).encode() for doc in docs]
    frames = [Frame(n + 1, p, None, None) for n, p in enumerate(payloads)]
    extractor = Extractor(SOURCE, CONV)
    provenance = Provenance.of("harvest", harvest_run_srn="srn:x:run:1", upstream_source="s")
    batch = prepare_batch(frames, SOURCE, extractor, provenance, received_at=NOW, origin="f.jl")
    return batch, b"\n".join(payloads)


def _doc(i: int, **extra: Any) -> dict[str, Any]:
    doc = {"id": f"O-{i}", "kind": "order" if i % 2 else "refund", "number": f"#{i}",
           "created_at": "2026-01-02T03:04:05.5Z", "total": f"{i}.50", "count": i,
           "paid": i % 3 == 0, "ratio": i / 7, "day": "2026-02-03", "tags": ["a", i],
           "note": "é" * (i % 4)}  # fmt: skip
    if i % 5 == 0:
        for key in ("total", "count", "paid", "ratio", "day", "tags", "number"):
            doc.pop(key)
    doc.update(extra)
    return doc


def _reference(types: list[str], values: tuple[Any, ...], count: int) -> bytes:
    """What psycopg's own binary formatter writes for the row, with the row's field
    count (the writer appends the fields past `values`)."""
    out = bytearray()
    _formatter()(values, _transformer(_Context(), types), out)
    out[:2] = count.to_bytes(2, "big")
    return bytes(out)


def _converted(columns: tuple[Any, ...]) -> tuple[Any, ...]:
    kinds = [c.type for c in CONV.columns]
    out = []
    for kind, value in zip(kinds, columns, strict=True):
        if value is not None and kind is ColumnType.TIMESTAMP:
            value = datetime.fromisoformat(value)
        elif value is not None and kind is ColumnType.DECIMAL:
            value = Decimal(value)
        elif value is not None and kind is ColumnType.DATE:
            value = datetime.fromisoformat(value).date()
        out.append(value)
    return tuple(out)


@pytest.mark.parametrize("with_payloads", [True, False])
def test_rows_are_what_the_binary_formatter_writes(with_payloads: bool) -> None:
    batch, blob = _batch([_doc(i) for i in range(40)])
    wire = WireEncoder(CONV)(batch.raw, batch.records, blob if with_payloads else None)
    assert wire is not None and wire["complete"]
    moment = datetime.fromisoformat(NOW)
    raw_types = [*_PAYLOAD_PART, "bytea"]
    expected_raw = [
        _reference(raw_types, (r[0], r[1], r[2], r[3], r[5], moment, moment, r[8], r[9], r[10],
                               r[11], r[4]), len(PAYLOAD_COLUMNS))
        for r in batch.raw
    ]  # fmt: skip
    assert [bytes(p) for p in wire["raw"]] == expected_raw
    order = sorted(range(len(batch.raw)), key=lambda n: (batch.raw[n][2], batch.raw[n][3]))
    assert wire["key_order"] == order
    key_types = ["text", "text", "bytea", "timestamptz"]
    assert [bytes(k) for k in wire["keys"]] == [
        _reference(key_types, (r[0], r[2], r[3], moment), len(KEY_COLUMNS))
        for r in (batch.raw[n] for n in order)
    ]
    record_types = [*_RECORD_PART, *column_types(CONV), "jsonb"]
    # counted, written by the writer: version, published_at, updated_at, id
    rows = sorted(batch.records, key=lambda r: (r[0], r[9], r[1]))
    assert [bytes(p) for p in wire["records"]] == [
        _reference(record_types, (r[0], r[1], b"\x01" + r[2].encode(), r[3], r[5], r[6], r[7],
                                  r[9], *_converted(r[8]), r[4]), len(record_types) + 4)
        for r in rows
    ]  # fmt: skip
    assert wire["received"] == [NOW]
    assert wire["lines"] == [r[10] for r in batch.raw]  # the direct append's receipts
    assert wire["arrivals"] == [(NOW, "f.jl")]


def test_a_value_to_escape_keeps_the_records_off_the_wire() -> None:
    docs = [_doc(1), _doc(2, number="nul\u0000inside")]
    batch, blob = _batch(docs)
    assert not clean_payloads(blob)
    wire = WireEncoder(CONV)(batch.raw, batch.records, blob)
    assert wire is not None and "records" not in wire and not wire["complete"]
    # raw rows still go (their texts escaped), and match the escaped rows' encoding
    escaped = escaped_raw(batch.raw)
    moment = datetime.fromisoformat(NOW)
    assert [bytes(p) for p in wire["raw"]] == [
        _reference([*_PAYLOAD_PART, "bytea"], (r[0], r[1], r[2], r[3], r[5], moment, moment,
                   r[8], r[9], r[10], r[11], r[4]), len(PAYLOAD_COLUMNS))
        for r in escaped
    ]  # fmt: skip


def test_a_repeated_id_keeps_records_and_keys_off_the_wire() -> None:
    batch, blob = _batch([_doc(1), _doc(1, total="2.00")])
    assert len(batch.records) == 1  # preparation keeps the last occurrence only
    twice = [*batch.records, *batch.records]  # rows as another caller may pass them
    wire = WireEncoder(CONV)(batch.raw, twice, blob)
    assert wire is not None
    assert "records" not in wire and "keys" in wire and not wire["complete"]
    same, _ = _batch([_doc(1), _doc(1)])
    assert "keys" not in WireEncoder(CONV)(same.raw, same.records, None)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("payload", "clean"),
    [
        (b'{"a": "plain \\u00e9 text", "b": "\\\\n"}', True),
        ('{"a": "é ü 日本"}'.encode(), True),
        (b'{"a": "\\u0000"}', False),
        (b'{"a": "\\ue000"}', False),
        (b'{"a": "\\uE000"}', False),
        ('{"a": "\ue000"}'.encode(), False),
        (b'{"a": "x\x00y"}', False),
        (b"a,b\n1,\x00\n", False),
    ],
)
def test_the_payload_scan_finds_what_would_need_escaping(payload: bytes, clean: bool) -> None:
    assert clean_payloads(payload) is clean
