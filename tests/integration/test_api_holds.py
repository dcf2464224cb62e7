"""POST /v1/holds, GET /v1/holds, POST /v1/holds/{id}/release over a real app, on every
backend: a hold placed over the API blocks an erasure until released over the API."""

from __future__ import annotations

from pathlib import Path

import ingestry
from tests.apiclient import api_client, auth, create_key
from tests.backends import Database
from tests.integration.test_ingest import order


def test_legal_holds_over_the_api(config_path: Path, db: Database) -> None:
    with ingestry.open(config_path) as store:
        store.ingest("customer_orders", [order("H-1"), order("H-2")])
    admin = create_key(config_path, "admin", [], admin=True)
    scoped = create_key(config_path, "scoped", ["customer_orders"])
    body = {"source": "customer_orders", "id": "H-1", "reason": "court order", "by": "legal"}
    erase = {"source": "customer_orders", "id": "H-1", "reason": "GDPR art. 17"}
    with api_client(config_path) as client:
        assert client.post("/v1/holds", json=body, headers=auth(scoped)).status_code == 403
        placed = client.post("/v1/holds", json=body, headers=auth(admin))
        assert placed.status_code == 201, placed.text
        hold = placed.json()
        assert (hold["source_id"], hold["created_by"], hold["released_at"]) == (
            "H-1", "legal", None)  # fmt: skip
        simple = client.post("/v1/holds", json={"source": "orders_simple"}, headers=auth(admin))
        assert simple.status_code == 422 and simple.json()["error"]["code"] == "not_a_raw_source"
        unknown = client.post("/v1/holds", json={"source": "nope"}, headers=auth(admin))
        assert unknown.status_code == 404
        listed = client.get("/v1/holds", params={"active": True}, headers=auth(admin))
        assert [h["id"] for h in listed.json()] == [hold["id"]]
        blocked = client.post("/v1/erasures", json=erase, headers=auth(admin))
        assert blocked.status_code == 409 and blocked.json()["error"]["code"] == "legal_hold"
        released = client.post(f"/v1/holds/{hold['id']}/release", headers=auth(admin))
        assert released.status_code == 200, released.text
        assert released.json()["released_by"].startswith("api:")
        again = client.post(f"/v1/holds/{hold['id']}/release", headers=auth(admin))
        assert again.status_code == 409 and again.json()["error"]["code"] == "hold_released"
        missing = client.post("/v1/holds/99999/release", headers=auth(admin))
        assert missing.status_code == 404
        assert client.get("/v1/holds", params={"active": True}, headers=auth(admin)).json() == []
        assert client.post("/v1/erasures", json=erase, headers=auth(admin)).status_code == 200


def test_a_hold_id_past_bigint_is_422_not_an_overflow(config_path: Path, db: Database) -> None:
    """Found by tests/e2e/test_openapi_fuzz.py: a 34-digit id was a 500."""
    admin = create_key(config_path, "admin", [], admin=True)
    with api_client(config_path) as client:
        huge = client.post(f"/v1/holds/{2**111}/release", headers=auth(admin))
        assert huge.status_code == 422, huge.text


def test_a_body_that_is_not_utf8_is_a_documented_400(config_path: Path, db: Database) -> None:
    """FastAPI answers 400 to a body it cannot decode (schemathesis found it on
    POST /v1/holds); every operation with a body documents it."""
    admin = create_key(config_path, "admin", [], admin=True)
    with api_client(config_path) as client:
        sent = client.post(
            "/v1/holds",
            content=b"Jcr\xff",
            headers={**auth(admin), "Content-Type": "application/json"},
        )
        assert sent.status_code == 400
        assert sent.headers["content-type"].startswith("application/problem+json")
        spec = client.get("/openapi.json").json()
    with_body = [
        op for path in spec["paths"].values() for op in path.values() if "requestBody" in op
    ]
    assert with_body and all("400" in op["responses"] for op in with_body)
