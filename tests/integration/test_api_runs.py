"""GET /v1/runs, /v1/runs/{srn} and /v1/stats: scoped keys see only their sources."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestry.store import Store
from tests.apiclient import TestClient, api_client, auth, create_key


@pytest.fixture
def client(config_path: Path) -> Iterator[TestClient]:
    with api_client(config_path) as c:
        yield c


def test_runs_and_stats_over_http(client: TestClient, config_path: Path, project: Path) -> None:
    import ingestry

    with ingestry.open(config_path) as store:
        _ingest(store, project)
    admin = create_key(config_path, "ops", [], admin=True)
    scoped = create_key(config_path, "rates", ["exchange_rates"])
    every = client.get("/v1/runs", headers=auth(admin)).json()["items"]
    assert {r["source"] for r in every} == {"customer_orders", "exchange_rates"}
    mine = client.get("/v1/runs", headers=auth(scoped)).json()["items"]
    assert [r["source"] for r in mine] == ["exchange_rates"]
    orders_run = next(r["srn"] for r in every if r["source"] == "customer_orders")
    assert client.get(f"/v1/runs/{orders_run}", headers=auth(scoped)).status_code == 404
    assert client.get(f"/v1/runs/{orders_run}", headers=auth(admin)).json()["kind"] == "ingest"
    forbidden = client.get("/v1/runs", params={"source": "customer_orders"}, headers=auth(scoped))
    assert forbidden.status_code == 403
    days = client.get("/v1/stats", params={"every": "day"}, headers=auth(scoped)).json()["items"]
    assert [(d["source"], d["runs"]) for d in days] == [("exchange_rates", 1)]
    bad = client.get("/v1/stats", params={"since": "soon"}, headers=auth(admin))
    assert bad.status_code == 400


def _ingest(store: Store, project: Path) -> None:
    store.ingest_files("customer_orders", [project / "data/samples/orders.jsonl"])
    store.ingest_files("exchange_rates", [project / "data/samples/exchange_rates.csv"])
