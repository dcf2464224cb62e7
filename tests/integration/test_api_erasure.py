"""POST /v1/erasures and GET /v1/erasures over a real app, on every backend."""

from __future__ import annotations

from pathlib import Path

import ingestry
from ingestry.domain.erasure import srn_digest
from ingestry.domain.records import record_srn
from tests.apiclient import api_client, auth, create_key
from tests.backends import Database
from tests.integration.test_ingest import order

SRN = record_srn("order", "harvest", "customer_orders", "E-1")


def test_erasure_over_the_api(config_path: Path, db: Database) -> None:
    with ingestry.open(config_path) as store:
        store.ingest("customer_orders", [order("E-1"), order("E-2")])
        hold = store.raw_hold("customer_orders", source_id="E-1", reason="court order")
    admin = create_key(config_path, "admin", [], admin=True)
    scoped = create_key(config_path, "scoped", ["customer_orders"])
    body = {"source": "customer_orders", "id": "E-1", "reason": "GDPR art. 17"}
    with api_client(config_path) as client:
        assert client.get(f"/v1/records/{SRN}", headers=auth(admin)).status_code == 200
        assert client.post("/v1/erasures", json=body, headers=auth(scoped)).status_code == 403
        blocked = client.post("/v1/erasures", json=body, headers=auth(admin))
        assert blocked.status_code == 409 and blocked.json()["error"]["code"] == "legal_hold"
        assert "court order" in blocked.json()["detail"]
        with ingestry.open(config_path) as store:
            store.raw_release(hold.id)
        done = client.post("/v1/erasures", json=body, headers=auth(admin))
        assert done.status_code == 200, done.text
        out = done.json()
        assert out["srn"] == SRN and out["records"] == 1 and out["raw_payloads"] == 1
        assert out["actor"].startswith("api:")
        assert client.get(f"/v1/records/{SRN}", headers=auth(admin)).status_code == 404
        again = client.post("/v1/erasures", json={"srn": SRN, "reason": "x"}, headers=auth(admin))
        assert again.status_code == 404
        bad = client.post("/v1/erasures", json={"reason": "x"}, headers=auth(admin))
        assert bad.status_code == 422
        audit = client.get("/v1/erasures", params={"srn": SRN}, headers=auth(admin))
        assert audit.status_code == 200
        (row,) = audit.json()
        assert row["srn_sha256"] == srn_digest(SRN) and "E-1" not in audit.text
        spec = client.get("/openapi.json").json()
        assert "post" in spec["paths"]["/v1/erasures"]
        assert "409" in spec["paths"]["/v1/erasures"]["post"]["responses"]
