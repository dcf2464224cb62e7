"""Inputs through the Python and HTTP APIs (every backend): the same limits and reasons
as the CLI's files (see tests/e2e/test_cli_inputs.py)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

import ingestry
from ingestry import ExtractionError, InputError, StrictModeError
from ingestry.domain.provenance import DepositionSource
from ingestry.store import Store
from tests.apiclient import TestClient, api_client, auth, create_key
from tests.backends import Database
from tests.integration.test_ingest import order

TOO_DEEP = "JSON nested deeper than 254 levels"


def deep(levels: int) -> bytes:
    """`levels` levels of arrays."""
    return b"[" * levels + b"]" * levels


def deep_order(ident: str, levels: int) -> bytes:
    """An order document `levels` levels deep (the object is the first level)."""
    return b'{"id":"%s","created_at":"2026-11-01T10:00:00Z","deep":%s}' % (
        ident.encode(),
        deep(levels - 1),
    )


@pytest.fixture
def client(config_path: Path) -> Iterator[TestClient]:
    with api_client(config_path) as c:
        yield c


def test_http_bodies_quarantine_deep_nesting_with_the_one_reason(
    client: TestClient, config_path: Path, store: Store
) -> None:
    token = create_key(config_path, "deep", ["customer_orders", "orders_json"])
    bodies = [
        ("customer_orders", "application/x-ndjson", deep_order("H1", 100_000) + b"\n"),
        ("customer_orders", "application/json", deep_order("H2", 500)),
        ("orders_json", "application/json", b"[" + deep_order("H3", 255) + b"]"),
        ("orders_json", "application/json", b"[" + deep_order("H4", 254) + b"]"),
    ]
    for source, media, body in bodies:
        response = client.post(
            f"/v1/sources/{source}/payloads", content=body, headers=auth(token, **{
                "content-type": media})
        )  # fmt: skip
        assert response.status_code == 200, response.text
    reasons = [q.reason for s in ("customer_orders", "orders_json") for q in store.quarantine(s)]
    assert reasons == [TOO_DEEP] * 3
    assert [r.source.id for r in store.records("order")] == ["H4"]


def test_replay_keeps_the_reason_of_deep_nesting(store: Store) -> None:
    store.ingest("customer_orders", [deep_order("R1", 300)])
    summary = store.replay("customer_orders")
    assert summary.quarantined == 1
    assert [q.reason for q in store.quarantine("customer_orders")] == [TOO_DEEP]


def test_publishing_too_deep_metadata_is_refused_with_the_reason(
    store: Store, db: Database
) -> None:
    metadata = {**order("P1"), "deep": []}
    cursor = metadata["deep"]
    for _ in range(300):
        assert isinstance(cursor, list)
        cursor.append([])
        cursor = cursor[0]
    with pytest.raises(ExtractionError, match=TOO_DEEP):
        store.publish_record("order", DepositionSource("P1"), metadata)
    assert db.count("records_order") == 0


def test_a_csv_body_without_the_id_column_is_refused_whole(
    client: TestClient, config_path: Path, db: Database
) -> None:
    token = create_key(config_path, "rates", ["exchange_rates"])
    response = client.post(
        "/v1/sources/exchange_rates/payloads",
        content=b"day,base,quote,rate\n2026-11-01,EUR,USD,1.08\n",
        headers=auth(token, **{"content-type": "text/csv"}),
    )
    assert response.status_code == 422, response.text
    message = response.json()["error"]["message"]
    assert message.endswith(": header has no 'date' (found: day, base, quote, rate)")
    assert db.count("records_exchange_rate") == 0 and db.count("quarantine") == 0


def test_a_records_cursor_that_is_no_srn_is_a_400(client: TestClient, config_path: Path) -> None:
    token = create_key(config_path, "reader", ["customer_orders"])
    cursor = base64.urlsafe_b64encode(b"srn:ingestry:record:order").decode()
    response = client.get(f"/v1/records?convention=order&cursor={cursor}", headers=auth(token))
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_cursor"


RATES_RAW = """\
  rates_raw:
    strategy: raw
    convention: exchange_rate
    rationale: Partner rates, kept as received
    format: csv
    id: [date, base, quote]
"""


def test_dict_rows_for_a_csv_source_are_csv_rows_that_replay(config_path: Path) -> None:
    config_path.write_text(config_path.read_text() + RATES_RAW)
    rows = [
        {"date": "2026-11-01", "base": "EUR", "quote": "USD", "rate": "1.0811", "note": "ok"},
        {"date": "2026-11-01", "base": "EUR", "quote": "JPY", "rate": 161.46, "note": None},
    ]
    with ingestry.open(config_path) as store:
        summary = store.ingest("rates_raw", rows)
        assert (summary.records_created, summary.quarantined) == (2, 0)
        (raw,) = store.raw("rates_raw", "2026-11-01|EUR|JPY")
        assert raw.payload == b"2026-11-01,EUR,JPY,161.46,"
        again = store.replay("rates_raw")
        assert (again.records_unchanged, again.quarantined) == (2, 0)
        with pytest.raises(InputError, match=r"row 1 .*CSV source 'rates_raw'"):
            store.ingest("rates_raw", [b"2026-11-01,EUR,USD,1.08"])
        with pytest.raises(InputError, match=r"row 2 has the columns date, base; row 1"):
            store.ingest("rates_raw", [rows[0], {"date": "2026-11-02", "base": "EUR"}])
        assert store.stats()["rates_raw"] == {"raw_rows": 2, "records": 2, "quarantined": 0}


def test_the_python_api_keeps_an_unframeable_document_whole_for_a_raw_source(
    config_path: Path, tmp_path: Path
) -> None:
    config_path.write_text(config_path.read_text() + SIMPLE_JSON)
    cut = tmp_path / "cut.json"
    cut.write_bytes(b'[{"id":"PY1","created_at":"2026-11-01T10:00:00Z"}, {"id":')
    with ingestry.open(config_path) as store:
        summary = store.ingest_files("orders_json", [cut])
        assert (summary.received, summary.quarantined, summary.records_created) == (1, 1, 0)
        (entry,) = store.quarantine("orders_json")
        assert (entry.payload, entry.line) == (cut.read_bytes(), 1)
        assert entry.reason == "unexpected end of JSON document at line 1"
        with pytest.raises(StrictModeError, match=r"cut\.json line 1: unexpected end"):
            store.ingest_files("orders_json", [cut], strict=True)
        with pytest.raises(InputError, match=r"cut\.json: unexpected end of JSON document"):
            store.ingest_files("json_simple", [cut])
        assert store.stats()["json_simple"] == {"raw_rows": 0, "records": 0, "quarantined": 0}


SIMPLE_JSON = """\
  json_simple:
    strategy: simple
    convention: order
    rationale: Re-fetchable JSON exports
    format: json
    id: id
"""
