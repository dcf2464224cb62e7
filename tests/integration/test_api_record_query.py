"""`GET /v1/records` filters and sort, `GET /v1/records/count`, scoped keys included."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.apiclient import TestClient, api_client, auth, create_key
from tests.integration.test_ingest import order

JSONL = {"content-type": "application/x-ndjson"}


@pytest.fixture
def client(config_path: Path) -> Iterator[TestClient]:
    with api_client(config_path) as c:
        yield c


def _post(client: TestClient, key: str, source: str, docs: list[dict[str, object]]) -> None:
    body = b"".join(orjson.dumps(d) + b"\n" for d in docs)
    response = client.post(
        f"/v1/sources/{source}/payloads", content=body, headers=auth(key, **JSONL)
    )
    assert response.status_code == 200, response.text


def test_where_sort_pages_and_scoped_counts(client: TestClient, config_path: Path) -> None:
    admin = create_key(config_path, "ops", [], admin=True)
    scoped = create_key(config_path, "orders", ["customer_orders"])
    qty = [3, 1, 4, 1, 5, 9, 2, 6]
    _post(client, admin, "customer_orders",
          [order(f"A{i}", line_items=[{"quantity": q}]) for i, q in enumerate(qty)])  # fmt: skip
    _post(client, admin, "orders_simple", [order("S1", line_items=[{"quantity": 7}])])
    params = {"convention": "order", "where": "item_count>=2", "sort": "item_count", "limit": "2"}
    seen: list[int] = []
    cursor = None
    while True:
        page = client.get(
            "/v1/records", params=params | ({"cursor": cursor} if cursor else {}),
            headers=auth(scoped),
        ).json()  # fmt: skip
        seen += [item["columns"]["item_count"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(q for q in qty if q >= 2)  # the other source's 7 is not seen
    count = {"convention": "order", "where": ["item_count>=2", "item_count<9"]}
    assert client.get("/v1/records/count", params=count, headers=auth(scoped)).json() == {
        "count": 5  # 3, 4, 5, 2, 6
    }
    assert client.get("/v1/records/count", params=count, headers=auth(admin)).json() == {
        "count": 6  # and the other source's 7
    }
    bad = client.get(
        "/v1/records", params={"convention": "order", "where": "nope=1"}, headers=auth(admin)
    )
    assert bad.status_code == 400 and "nope" in bad.text
