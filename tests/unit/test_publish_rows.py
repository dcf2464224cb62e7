"""PublishExtractor: published metadata → record rows (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ingestry.domain.conventions import ColumnSpec, ColumnType, Convention
from ingestry.domain.errors import ExtractionError, InvalidSourceError
from ingestry.domain.provenance import DepositionSource, ForkSource, HarvestSource
from ingestry.domain.records import Record
from ingestry.services.publish_rows import PublishExtractor, as_source

CONVENTION = Convention(
    "order",
    (
        ColumnSpec("created_at", ("created_at",), ColumnType.TIMESTAMP, required=True),
        ColumnSpec("total", ("total_price",), ColumnType.DECIMAL),
        ColumnSpec("email", ("customer", "email"), ColumnType.TEXT),
    ),
)
META = {"created_at": "2026-11-01T10:00:00Z", "total_price": "1.50", "customer": {"email": "e"}}


def test_row_has_identity_columns_and_whole_metadata() -> None:
    extractor = PublishExtractor(CONVENTION)
    row = extractor.row(DepositionSource("D-1"), META)
    source_type, source_id, source, data_source, metadata, content, version, raw, columns = row[:9]
    assert (source_type, row[9], source_id) == ("deposition", "", "D-1")
    forked = extractor.row(ForkSource("D-1", source_node="eu-1"), META)
    assert (forked[0], forked[9], forked[1]) == ("fork", "eu-1", "D-1")
    assert source == '{"type":"deposition","id":"D-1"}'
    assert data_source is None and raw is None
    assert metadata == (
        '{"created_at":"2026-11-01T10:00:00Z","customer":{"email":"e"},"total_price":"1.50"}'
    )
    assert columns == ("2026-11-01T10:00:00.000000+00:00", "1.50", "e")
    assert len(content) == 16 and version == extractor.version


def test_equal_content_hashes_equal_and_ignores_provenance_fields() -> None:
    extractor = PublishExtractor(CONVENTION)
    a = extractor.row(HarvestSource("X", harvest_run_srn="r1", upstream_source="u"), META)
    b = extractor.row(
        {"type": "harvest", "id": "X", "harvest_run_srn": "r2", "upstream_source": "u"},
        dict(reversed(list(META.items()))),
    )
    assert a[5] == b[5]
    assert a[5] != extractor.row(DepositionSource("X"), {**META, "total_price": "2"})[5]


@pytest.mark.parametrize(
    ("source", "metadata", "error", "message"),
    [
        (DepositionSource("D"), {"total_price": "1"}, ExtractionError, "required column"),
        (DepositionSource("D"), {**META, "total_price": "x"}, ExtractionError, "column 'total'"),
        (DepositionSource("D"), ["not", "a", "mapping"], ExtractionError, "JSON object"),
        (DepositionSource("D"), {**META, "x": {1, 2}}, ExtractionError, "JSON-serializable"),
        (DepositionSource(""), META, InvalidSourceError, "non-empty"),
        ({"type": "nope", "id": "1"}, META, InvalidSourceError, "unknown provenance"),
        ("deposition:1", META, InvalidSourceError, "must be a RecordSource"),
    ],
)
def test_bad_items(source: object, metadata: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        PublishExtractor(CONVENTION).row(source, metadata)  # type: ignore[arg-type]


def test_big_integers_stay_exact() -> None:
    row = PublishExtractor(CONVENTION).row(DepositionSource("D"), {**META, "n": 10**30})
    assert '"n":1000000000000000000000000000000' in row[4]


def test_update_row_keeps_top_level_columns_missing_from_metadata() -> None:
    at = datetime(2026, 11, 1, 10, tzinfo=UTC)
    record = Record(
        srn="srn:ingestry:record:order:harvest:customer_orders:H", convention="order",
        source=HarvestSource("H", harvest_run_srn="r", upstream_source="u"),
        metadata={"customer": {"email": "e"}}, version=3, published_at=at, updated_at=at,
        columns={"created_at": at, "total": Decimal("9.90"), "email": "e"}, data_source="src",
    )  # fmt: skip
    extractor = PublishExtractor(CONVENTION)
    row = extractor.update_row(record, {"customer": {"email": "new"}})
    assert row[8] == ("2026-11-01T10:00:00.000000+00:00", "9.90", "new")
    assert row[4] == '{"customer":{"email":"new"}}'  # the metadata as given
    assert row[3] == "src"
    cleared = extractor.update_row(record, {"total_price": None})
    assert cleared[8][1] is None
    with pytest.raises(ExtractionError, match="required column 'created_at' is null"):
        extractor.update_row(record, {"created_at": None})


def test_as_source() -> None:
    assert as_source({"type": "deposition", "id": 5}) == DepositionSource("5")
    source = DepositionSource("x")
    assert as_source(source) is source
