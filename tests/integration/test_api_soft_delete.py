"""DELETE /v1/records/{srn} (soft delete) over a real app, on every backend: scope
checks, 404 for unknown and out-of-scope, idempotence, the tombstone on request."""

from __future__ import annotations

from pathlib import Path

import ingestry
from ingestry.domain.records import record_srn
from tests.apiclient import api_client, auth, create_key
from tests.backends import Database
from tests.integration.test_ingest import order

SRN = record_srn("order", "harvest", "customer_orders", "D-1")
OTHER = record_srn("order", "harvest", "orders_simple", "D-2")


def test_soft_delete_over_the_api(config_path: Path, db: Database) -> None:
    with ingestry.open(config_path) as store:
        store.ingest("customer_orders", [order("D-1"), order("D-3")])
        store.ingest("orders_simple", [order("D-2")])
    admin = create_key(config_path, "admin", [], admin=True)
    scoped = create_key(config_path, "scoped", ["customer_orders"])
    with api_client(config_path) as client:
        assert client.delete(f"/v1/records/{OTHER}", headers=auth(scoped)).status_code == 404
        unknown = record_srn("order", "harvest", "customer_orders", "nobody")
        assert client.delete(f"/v1/records/{unknown}", headers=auth(scoped)).status_code == 404
        done = client.delete(
            f"/v1/records/{SRN}", params={"reason": "duplicate"}, headers=auth(scoped)
        )
        assert done.status_code == 200, done.text
        out = done.json()
        assert (out["status"], out["version"], out["reason"]) == ("deleted", 2, "duplicate")
        assert out["by"].startswith("api:") and out["already_deleted"] is False
        gone = client.get(f"/v1/records/{SRN}", headers=auth(scoped))
        assert gone.status_code == 404 and "deleted at version 2" in gone.json()["detail"]
        shown = client.get(
            f"/v1/records/{SRN}", params={"include_deleted": True}, headers=auth(scoped)
        )
        assert shown.status_code == 200 and shown.json()["deleted"]["reason"] == "duplicate"
        listed = client.get("/v1/records", params={"convention": "order"}, headers=auth(admin))
        assert SRN not in {r["srn"] for r in listed.json()["items"]}
        assert all(r["deleted"] is None for r in listed.json()["items"])
        count = client.get("/v1/records/count", params={"convention": "order"}, headers=auth(admin))
        assert count.json() == {"count": 2}
        history = client.get(f"/v1/records/{SRN}/history", headers=auth(scoped))
        assert history.status_code == 200
        versions = history.json()["versions"]
        assert [(v["version"], v["deleted"] is not None) for v in versions] == [
            (1, False), (2, True),
        ]  # fmt: skip
        again = client.delete(f"/v1/records/{SRN}", headers=auth(admin))
        assert again.status_code == 200 and again.json()["status"] == "already deleted"
        spec = client.get("/openapi.json").json()
        assert "delete" in spec["paths"]["/v1/records/{srn}"]
