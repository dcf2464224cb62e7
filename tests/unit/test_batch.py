"""prepare_batch: the pure hot loop that turns frames into raw, record and quarantine rows."""

from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ingestry.domain.conventions import ColumnSpec, ColumnType, Convention
from ingestry.domain.provenance import DepositionSource, HarvestSource, source_from_dict
from ingestry.domain.sources import DataSource, SourceFormat, StorageStrategy
from ingestry.extract.compiler import Extractor
from ingestry.extract.framing import Frame
from ingestry.extract.jsonpage import exact_items
from ingestry.services.batch import PreparedBatch, Provenance
from ingestry.services.batch import prepare_batch as _prepare_batch
from ingestry.services.ports import QUARANTINE_FIELDS, RAW_FIELDS, RECORD_FIELDS

CONV = Convention(
    "order",
    (
        ColumnSpec("total", ("total",), ColumnType.DECIMAL),
        ColumnSpec("email", ("customer", "email"), ColumnType.TEXT),
        ColumnSpec("created_at", ("created_at",), ColumnType.TIMESTAMP, required=True),
    ),
)
HARVEST = Provenance.of(
    "harvest", harvest_run_srn="srn:ingestry:run:abc", upstream_source="shopify"
)
NOW = "2024-05-01T00:00:00.000000+00:00"


def _source(strategy: StorageStrategy, fmt: SourceFormat = SourceFormat.JSONL) -> DataSource:
    return DataSource(
        name="orders_src",
        strategy=strategy,
        convention="order",
        rationale="r",
        format=fmt,
        id_paths=(("id",),),
        entity_type_path=("kind",),
    )


def _payload(**fields: Any) -> bytes:
    doc: dict[str, Any] = {"id": "o-1", "total": "9.90", "created_at": "2024-01-01T00:00:00Z"}
    doc.update(fields)
    return json.dumps(doc).encode()


class _Named(SimpleNamespace):
    def __getitem__(self, index: int | slice) -> Any:
        return self._row[index]


def _named(row: tuple[Any, ...], fields: tuple[str, ...]) -> Any:
    view = _Named(**dict(zip(fields, row, strict=True)))
    view._row = row
    return view


def _view(batch: PreparedBatch) -> Any:
    """The batch with its tuple rows readable by field name (the tuples' documented order)."""
    return SimpleNamespace(
        raw=[_named(r, RAW_FIELDS) for r in batch.raw],
        records=[_named(r, RECORD_FIELDS) for r in batch.records],
        quarantine=[_named(r, QUARANTINE_FIELDS) for r in batch.quarantine],
        headers=batch.headers,
        received=batch.received,
        duplicate_ids=batch.duplicate_ids,
    )


def prepare_batch(*args: Any, **kwargs: Any) -> Any:
    return _view(_prepare_batch(*args, **kwargs))


def _prepare(
    frames: list[Frame],
    strategy: StorageStrategy = StorageStrategy.RAW,
    provenance: Provenance = HARVEST,
    header: tuple[bytes, bytes] | None = None,
) -> Any:
    source = _source(strategy)
    return prepare_batch(
        frames,
        source,
        Extractor(source, CONV),
        provenance,
        received_at=NOW,
        origin="file.jsonl",
        header=header,
    )


def test_raw_source_keeps_raw_rows() -> None:
    payload = _payload(kind="refund", customer={"email": "a@b.c"})
    batch = _prepare([Frame(3, payload)])
    assert batch.received == 1
    assert batch.quarantine == []
    assert len(batch.raw) == 1
    raw = batch.raw[0]
    assert raw.source == "orders_src"
    assert raw.entity_type == "refund"
    assert raw.source_id == "o-1"
    assert raw.payload == payload
    assert raw.sha256 == hashlib.sha256(payload).digest()
    assert raw.received_at == NOW
    assert raw.processed_at == NOW
    assert raw.extractor_version == Extractor(_source(StorageStrategy.RAW), CONV).version
    assert raw.error is None
    assert raw.line == 3
    assert raw.origin == "file.jsonl"
    assert raw.header_sha256 is None
    record = batch.records[0]
    assert record.raw_sha256 == raw.sha256


def test_simple_source_has_no_raw_rows() -> None:
    batch = _prepare([Frame(1, _payload()), Frame(2, b"{bad")], StorageStrategy.SIMPLE)
    assert batch.raw == []
    assert len(batch.records) == 1
    assert batch.records[0].raw_sha256 is None
    assert len(batch.quarantine) == 1


def test_record_row_identity_and_harvest_source_json() -> None:
    batch = _prepare([Frame(1, _payload(customer={"email": "a@b.c"}, extra=[1]))])
    record = batch.records[0]
    assert record.source_type == "harvest"
    assert record.source_id == "o-1"
    assert record.data_source == "orders_src"
    assert json.loads(record.source) == {
        "type": "harvest",
        "id": "o-1",
        "harvest_run_srn": "srn:ingestry:run:abc",
        "upstream_source": "shopify",
    }
    assert source_from_dict(json.loads(record.source)) == HarvestSource(
        "o-1", "srn:ingestry:run:abc", "shopify"
    )
    assert record.columns == ("9.90", "a@b.c", "2024-01-01T00:00:00.000000+00:00")
    assert json.loads(record.metadata) == {
        "id": "o-1",
        "customer": {"email": "a@b.c"},
        "extra": [1],
    }
    assert record.metadata == '{"customer":{"email":"a@b.c"},"extra":[1],"id":"o-1"}'


def test_deposition_source_json_and_tricky_ids() -> None:
    source_id = 'quote"back\\slash é'
    batch = _prepare([Frame(1, _payload(id=source_id))], provenance=Provenance.of("deposition"))
    record = batch.records[0]
    assert json.loads(record.source) == {"type": "deposition", "id": source_id}
    assert source_from_dict(json.loads(record.source)) == DepositionSource(source_id)
    assert (record.source_type, record.source_id) == ("deposition", source_id)


def test_big_integer_id_stays_exact_in_source_json() -> None:
    batch = _prepare([Frame(1, b'{"id": 123456789012345678901234567890, "created_at": 0}')])
    record = batch.records[0]
    assert record.source_id == "123456789012345678901234567890"
    assert json.loads(record.source)["id"] == "123456789012345678901234567890"
    assert json.loads(record.metadata) == {"id": 123456789012345678901234567890}


def test_quarantine_rows_have_reason_and_line() -> None:
    good = _payload()
    missing = _payload(id="o-2", created_at=None)
    frames = [Frame(1, good), Frame(2, b"{not json"), Frame(4, missing), Frame(5, b"[1]")]
    batch = _prepare(frames)
    assert batch.received == 4
    assert len(batch.records) == 1
    reasons = {q.line: q.reason for q in batch.quarantine}
    assert set(reasons) == {2, 4, 5}
    assert reasons[2].startswith("invalid JSON")
    assert "required column 'created_at' is null" in reasons[4]
    assert "expected a JSON object" in reasons[5]
    for q in batch.quarantine:
        assert q.source == "orders_src"
        assert q.origin == "file.jsonl"
        assert q.received_at == NOW
        assert q.sha256 == hashlib.sha256(q.payload).digest()


def test_quarantined_payloads_are_kept_raw_with_error_on_raw_sources() -> None:
    batch = _prepare([Frame(7, b"{not json")])
    assert len(batch.raw) == 1
    raw = batch.raw[0]
    assert raw.payload == b"{not json"
    assert raw.error is not None and raw.error.startswith("invalid JSON")
    assert raw.source_id == ""
    assert raw.entity_type == "order"
    assert raw.line == 7


def test_frame_error_is_quarantined_without_extracting() -> None:
    batch = _prepare([Frame(3, b"1,2,3", None, "row has 3 fields, header has 2")])
    assert batch.records == []
    assert batch.quarantine[0].reason == "row has 3 fields, header has 2"
    assert batch.quarantine[0].line == 3


def test_csv_rows_are_extracted_from_the_row_not_the_bytes() -> None:
    header = (hashlib.sha256(b"id,total,created_at").digest(), b"id,total,created_at")
    frames = [
        Frame(2, b"c-1,5.00,2024-01-01", {"id": "c-1", "total": "5.00", "created_at": "2024-01-01"})
    ]
    source = _source(StorageStrategy.RAW, SourceFormat.CSV)
    batch = prepare_batch(
        frames,
        source,
        Extractor(source, CONV),
        HARVEST,
        received_at=NOW,
        origin="f.csv",
        header=header,
    )
    assert batch.records[0].source_id == "c-1"
    assert batch.records[0].columns[0] == "5.00"
    assert batch.headers == [header]
    assert batch.raw[0].header_sha256 == header[0]
    assert batch.raw[0].payload == b"c-1,5.00,2024-01-01"


def test_simple_source_drops_csv_headers() -> None:
    header = (b"h" * 32, b"id,total")
    source = _source(StorageStrategy.SIMPLE, SourceFormat.CSV)
    batch = prepare_batch(
        [], source, Extractor(source, CONV), HARVEST, received_at=NOW, origin="f", header=header
    )
    assert batch.headers == []
    assert batch.received == 0


def test_equal_content_equal_hash() -> None:
    a = _prepare([Frame(1, b'{"id": "x", "created_at": 0, "m": {"p": 1, "q": 2}, "z": 1}')])
    reordered = (
        b'{"z": 1,\n "m": {"q": 2, "p": 1}, "created_at": "1970-01-01T00:00:00Z", "id": "x"}'
    )
    b = _prepare([Frame(9, reordered)])
    assert a.records[0].content_hash == b.records[0].content_hash
    assert len(a.records[0].content_hash) == 16
    # different bytes, so different raw hashes, but the same record content
    assert a.raw[0].sha256 != b.raw[0].sha256


@pytest.mark.parametrize(
    "changed",
    [
        b'{"id": "x", "created_at": 1, "m": 1}',  # column value
        b'{"id": "x", "created_at": 0, "m": 2}',  # metadata value
        b'{"id": "x", "created_at": 0, "m": "1"}',  # metadata type
        b'{"id": "x", "created_at": 0, "m": 1, "n": null}',  # extra metadata key
        b'{"id": "x", "created_at": 0, "m": 1, "total": "1"}',  # column appears
        b'{"id": "x", "created_at": 0, "m": 1, "total": "1.0"}',  # decimal scale
    ],
)
def test_different_content_different_hash(changed: bytes) -> None:
    base = _prepare([Frame(1, b'{"id": "x", "created_at": 0, "m": 1}')]).records[0]
    other = _prepare([Frame(1, changed)]).records[0]
    assert (other.source_type, other.source_id) == (base.source_type, base.source_id)
    assert other.content_hash != base.content_hash


def test_hash_separates_columns_from_metadata() -> None:
    # a value moving from a column to metadata changes the hash
    conv_a = Convention("order", (ColumnSpec("created_at", ("created_at",), ColumnType.TEXT),))
    source = _source(StorageStrategy.RAW)
    doc = b'{"id": "x", "created_at": "t"}'
    with_column = prepare_batch(
        [Frame(1, doc)], source, Extractor(source, conv_a), HARVEST, received_at=NOW, origin="o"
    )
    without = prepare_batch(
        [Frame(1, doc)],
        source,
        Extractor(source, Convention("order")),
        HARVEST,
        received_at=NOW,
        origin="o",
    )
    assert with_column.records[0].content_hash != without.records[0].content_hash


def test_same_id_twice_in_a_batch_is_one_record_the_last_wins() -> None:
    frames = [
        Frame(1, _payload(total="1")),
        Frame(2, _payload(id="o-2")),
        Frame(3, _payload(total="2")),
        Frame(4, _payload(total="3")),
    ]
    batch = _prepare(frames)
    assert [(r.source_id, r.columns[0]) for r in batch.records] == [("o-2", "9.90"), ("o-1", "3")]
    assert batch.duplicate_ids == 1
    assert len(batch.raw) == 4  # every payload is a receipt


def test_provenance_of_builds_json_members() -> None:
    assert Provenance.of("deposition") == Provenance("deposition", b"")
    prov = Provenance.of("fork", source_node='n"1')
    assert prov.fields == b',"source_node":"n\\"1"'


def test_unencodable_payload_is_quarantined_not_a_crash() -> None:
    payload = b'{"id": "x", "created_at": 0, "s": "\\ud800", "n": 123456789012345678901234567890}'
    batch = _prepare([Frame(1, payload)])
    assert len(batch.records) + len(batch.quarantine) == 1


def test_record_metadata_is_always_valid_json() -> None:
    payload = b'{"id": "x", "created_at": 0, "f": 1e400, "n": 123456789012345678901234567890}'
    batch = _prepare([Frame(1, payload)])
    for record in batch.records:

        def refuse(name: str) -> Any:
            raise AssertionError(f"metadata holds {name}")

        json.loads(record.metadata, parse_constant=refuse)


def test_a_long_integer_anywhere_in_the_batch_keeps_every_payload_exact() -> None:
    """The batch is checked once for digit runs that overflow 64 bits; one such
    payload sends the whole batch through the exact parser, the others stay exact too."""
    from ingestry.extract.jsonio import may_hold_long_integers

    plain = [b'{"id": "A", "n": 123456789012345678}', b'{"id": "B", "n": 1.5}']
    assert not may_hold_long_integers(plain)
    assert may_hold_long_integers([*plain, b'{"id": "C", "n": 12345678901234567890123}'])
    # a run cannot span two payloads
    assert not may_hold_long_integers([b'{"n": 1234567890}', b'{"n": 123456789}'])


def test_a_mixed_batch_parses_each_payload_exactly() -> None:
    batch = _prepare(
        [
            Frame(1, b'{"id": "A-1", "created_at": 0, "n": 7}'),
            Frame(2, b'{"id": 123456789012345678901234567890, "created_at": 0}'),
        ]
    )
    assert [r[1] for r in batch.records] == ["A-1", "123456789012345678901234567890"]
    assert json.loads(batch.records[1][4]) == {"id": 123456789012345678901234567890}


_ITEM_VALUES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
    | st.sampled_from(["9.90", "1e3", "2024-01-01T00:00:00Z", "x"])
)
_ITEMS = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "id": st.sampled_from(["a", "b", ""]) | st.integers(0, 3) | st.none(),
            "total": _ITEM_VALUES,
            "created_at": st.sampled_from([0, "2024-01-01T00:00:00Z", "soon", None]),
            "customer": st.fixed_dictionaries({}, optional={"email": _ITEM_VALUES}),
            "kind": st.sampled_from(["order", "refund"]),
            "extra": _ITEM_VALUES,
        },
    )
    | _ITEM_VALUES,
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(items=_ITEMS, strategy=st.sampled_from([StorageStrategy.RAW, StorageStrategy.SIMPLE]))
@example(items=[{"id": "a", "total": 9.9, "created_at": 0}], strategy=StorageStrategy.RAW)
def test_a_page_s_objects_handed_on_parsed_give_the_batch_their_bytes_give(
    items: list[Any], strategy: StorageStrategy
) -> None:
    """A harvested page's objects reach the extractor as orjson parsed them from the page
    (`exact_items(parsed=True)`), not parsed again from their bytes: the same rows,
    hashes, reasons and lines, a decimal's digits still read from the text."""
    body = orjson.dumps(items)
    plain = exact_items(body, None, numbered=True)
    parsed = exact_items(body, None, numbered=True, parsed=True)
    assert plain is not None and parsed is not None
    assert [f[:2] for f in parsed] == [f[:2] for f in plain]
    assert [f.line for f in plain] == list(range(1, len(items) + 1))
    assert [f.row for f in parsed] == [i if type(i) is dict else None for i in items]
    assert vars(_prepare(parsed, strategy)) == vars(_prepare(plain, strategy))
