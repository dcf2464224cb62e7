"""The HTTP API in process (real app, real database, both backends)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

import ingestry
from ingestry.domain.records import record_srn
from tests.apiclient import TestClient, api_client, auth, create_key
from tests.backends import Database
from tests.integration.test_ingest import order

JSONL = {"content-type": "application/x-ndjson"}


@pytest.fixture
def client(config_path: Path) -> Iterator[TestClient]:
    with api_client(config_path) as c:
        yield c


@pytest.fixture
def token(config_path: Path) -> str:
    return create_key(config_path, "orders", ["customer_orders"])


@pytest.fixture
def admin(config_path: Path) -> str:
    return create_key(config_path, "ops", [], admin=True)


def jsonl(*docs: object) -> bytes:
    return b"".join(orjson.dumps(d) + b"\n" for d in docs)


def post(client: TestClient, token: str, body: bytes, source: str = "customer_orders",
         **headers: str) -> dict[str, object]:  # fmt: skip
    response = client.post(
        f"/v1/sources/{source}/payloads", content=body, headers=auth(token, **JSONL, **headers)
    )
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def error(response: object) -> dict[str, str]:
    body = response.json()  # type: ignore[attr-defined]
    # RFC 9457 problem details, the old body's fields kept as the `error` member
    assert set(body) == {"type", "title", "status", "detail", "error"}, body
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    assert {"code", "message", "request_id"} <= set(body["error"])
    detail: dict[str, str] = body["error"]
    return detail


# --- ingest ---------------------------------------------------------------------------------


def test_batch_ingest_returns_the_cli_summary(client: TestClient, token: str, db: Database) -> None:
    bad = {"id": "X", "type": "order"}  # no created_at: quarantined, batch goes on
    summary = post(client, token, jsonl(order("A1"), order("A2"), bad))
    assert summary["received"] == 3 and summary["raw_stored"] == 3
    assert summary["records_created"] == 2 and summary["quarantined"] == 1
    assert set(summary) >= {"source", "raw_duplicates", "records_updated", "records_unchanged",
                            "seconds", "run_srn"}  # fmt: skip
    assert db.count("records_order") == 2
    again = post(client, token, jsonl(order("A1")))
    assert again["raw_duplicates"] == 1 and again["records_unchanged"] == 1


def test_json_object_and_array_bodies(client: TestClient, token: str, db: Database) -> None:
    one = client.post("/v1/sources/customer_orders/payloads", json=order("J1"), headers=auth(token))
    assert one.status_code == 200 and one.json()["records_created"] == 1
    body = (
        b'[ {"id":"J2","created_at":"2026-11-01T10:00:00Z"} ,\n'
        b' {"id":"J3","created_at":"2026-11-01T10:00:00Z"}]'
    )
    many = client.post(
        "/v1/sources/customer_orders/payloads",
        content=body,
        headers=auth(token, **{"content-type": "application/json"}),
    )
    assert many.status_code == 200 and many.json()["records_created"] == 2
    # the exact bytes of each element are kept
    stored = db.rows("SELECT payload FROM raw_payloads WHERE source_id = 'J2'")
    assert bytes(stored[0][0]) == b'{"id":"J2","created_at":"2026-11-01T10:00:00Z"}'
    broken = client.post(
        "/v1/sources/customer_orders/payloads",
        content=b'[{"id":"J4"',
        headers=auth(token, **{"content-type": "application/json"}),
    )
    # a raw source keeps a body that does not frame, whole, as one quarantined payload
    assert broken.status_code == 200 and broken.json()["quarantined"] == 1
    assert db.rows("SELECT payload, error FROM raw_payloads WHERE source_id = ''") == [
        (b'[{"id":"J4"', "unexpected end of JSON document at line 1")
    ]


def test_media_type_must_fit_the_source(client: TestClient, admin: str) -> None:
    csv = b"date,base,quote,rate\n2026-11-01,EUR,USD,1.08\n"
    wrong = client.post("/v1/sources/exchange_rates/payloads", content=csv, headers=auth(admin))
    assert wrong.status_code == 415 and error(wrong)["code"] == "unsupported_media_type"
    right = client.post(
        "/v1/sources/exchange_rates/payloads",
        content=csv,
        headers=auth(admin, **{"content-type": "text/csv"}),
    )
    assert right.status_code == 200 and right.json()["records_created"] == 1


def test_idempotency_key_replays_refuses_and_survives_restart(
    config_path: Path, token: str, db: Database
) -> None:
    body = jsonl(order("I1"))
    with api_client(config_path) as client:
        first = client.post(
            "/v1/sources/customer_orders/payloads",
            content=body,
            headers=auth(token, **JSONL, **{"Idempotency-Key": "batch-1"}),
        )
        assert first.status_code == 200
    with api_client(config_path) as client:  # another process's view: the key is in the DB
        again = client.post(
            "/v1/sources/customer_orders/payloads",
            content=body,
            headers=auth(token, **JSONL, **{"Idempotency-Key": "batch-1"}),
        )
        assert again.status_code == 200
        assert again.json() == first.json()  # the first response, not a new run
        assert again.headers["idempotent-replayed"] == "true"
        other = client.post(
            "/v1/sources/customer_orders/payloads",
            content=jsonl(order("I2")),
            headers=auth(token, **JSONL, **{"Idempotency-Key": "batch-1"}),
        )
        assert other.status_code == 422 and error(other)["code"] == "idempotency_key_reused"
        # a request still in flight with that key (claimed, no response yet)
        with __import__("ingestry").open(config_path) as store:
            prefix = token.split("_")[1]
            assert store.idempotency().start(prefix, "busy", b"x") is None
        busy = client.post(
            "/v1/sources/customer_orders/payloads",
            content=body,
            headers=auth(token, **JSONL, **{"Idempotency-Key": "busy"}),
        )
        assert busy.status_code in (409, 422)
    assert db.count("ingest_runs") == 1


def test_in_flight_key_is_409(config_path: Path, token: str) -> None:
    import ingestry
    from ingestry.services.idempotency import fingerprint

    body = jsonl(order("F1"))
    path = "/v1/sources/customer_orders/payloads"
    with ingestry.open(config_path) as store:
        request = fingerprint("POST", path, b"application/x-ndjson" + body)
        assert store.idempotency().start(token.split("_")[1], "slow", request) is None
    with api_client(config_path) as client:
        busy = client.post(
            path, content=body, headers=auth(token, **JSONL, **{"Idempotency-Key": "slow"})
        )
    assert busy.status_code == 409 and error(busy)["code"] == "idempotency_in_flight"


# --- security -------------------------------------------------------------------------------


def test_no_key_is_401_and_a_revoked_key_too(config_path: Path, token: str) -> None:
    with api_client(config_path, {"INGESTRY_API_AUTH_CACHE_SECONDS": "0"}) as client:
        missing = client.get("/v1/sources")
        assert missing.status_code == 401 and error(missing)["code"] == "unauthorized"
        assert "www-authenticate" in missing.headers
        assert client.get("/v1/sources", headers=auth("ik_nothere_nope")).status_code == 401
        bearer = client.get("/v1/sources", headers={"Authorization": f"Bearer {token}"})
        assert bearer.status_code == 200
        import ingestry

        with ingestry.open(config_path) as store:
            assert store.api_keys().revoke(token.split("_")[1]) == 1
        assert client.get("/v1/sources", headers=auth(token)).status_code == 401


def test_scopes_forbid_other_sources_without_leaking_existence(
    client: TestClient, token: str, admin: str
) -> None:
    assert [
        s["name"] for s in client.get("/v1/sources", headers=auth(token)).json()["sources"]
    ] == ["customer_orders"]
    assert len(client.get("/v1/sources", headers=auth(admin)).json()["sources"]) == 4
    # an ungranted source: 403 whether it exists or not
    for source in ("orders_simple", "no_such_source"):
        denied = client.post(f"/v1/sources/{source}/payloads", content=b"{}", headers=auth(token))
        assert denied.status_code == 403 and error(denied)["code"] == "forbidden"
    assert (
        client.post("/v1/sources/no_such_source/payloads", json={}, headers=auth(admin)).status_code
        == 404
    )
    # a record of the same convention from another source looks exactly like a missing one
    client.post("/v1/sources/orders_simple/payloads", json=order("S1"), headers=auth(admin))
    post(client, token, jsonl(order("C1")))
    other = record_srn("order", "harvest", "orders_simple", "S1")
    absent = record_srn("order", "harvest", "orders_simple", "NOPE")
    seen_other = client.get(f"/v1/records/{other}", headers=auth(token))
    seen_absent = client.get(f"/v1/records/{absent}", headers=auth(token))
    assert seen_other.status_code == seen_absent.status_code == 404
    assert error(seen_other)["message"].replace("S1", "?") == error(seen_absent)["message"].replace(
        "NOPE", "?"
    )
    assert client.get(f"/v1/records/{other}", headers=auth(admin)).status_code == 200
    assert client.get(f"/v1/records/{other}/history", headers=auth(token)).status_code == 404
    # a convention none of the key's sources feeds: 403 before any lookup
    rate = record_srn("exchange_rate", "harvest", "customer_orders", "x")
    assert client.get(f"/v1/records/{rate}", headers=auth(token)).status_code == 403
    assert (
        client.get(
            "/v1/records", params={"convention": "exchange_rate"}, headers=auth(token)
        ).status_code
        == 403
    )
    # lists only show the key's own sources' records
    listed = client.get("/v1/records", params={"convention": "order"}, headers=auth(token)).json()
    assert [r["data_source"] for r in listed["items"]] == ["customer_orders"]


def test_body_limit_is_413_before_the_body_is_read(config_path: Path, token: str) -> None:
    with api_client(config_path, {"INGESTRY_API_MAX_BODY_BYTES": "1000"}) as client:
        big = jsonl(*(order(f"B{i}") for i in range(20)))
        declared = client.post(
            "/v1/sources/customer_orders/payloads", content=big, headers=auth(token, **JSONL)
        )
        assert declared.status_code == 413 and error(declared)["code"] == "payload_too_large"

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
            for i in range(20):
                yield jsonl(order(f"B{i}"))

        streamed = client.post(
            "/v1/sources/customer_orders/payloads", content=chunks(), headers=auth(token, **JSONL)
        )
        assert streamed.status_code == 413
        small = client.post(
            "/v1/sources/customer_orders/payloads",
            content=jsonl(order("S")),
            headers=auth(token, **JSONL),
        )
        assert small.status_code == 200


def test_rate_limit_is_429_with_retry_after(config_path: Path, token: str, admin: str) -> None:
    env = {"INGESTRY_API_RATE_LIMIT": "0.5", "INGESTRY_API_RATE_BURST": "3"}
    with api_client(config_path, env) as client:
        statuses = [client.get("/v1/sources", headers=auth(token)).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = client.get("/v1/sources", headers=auth(token))
        assert limited.status_code == 429 and error(limited)["code"] == "rate_limited"
        assert int(limited.headers["retry-after"]) >= 1
        assert client.get("/v1/sources", headers=auth(admin)).status_code == 200  # per key


@pytest.mark.redis
def test_rate_limit_shared_through_redis(config_path: Path, token: str, redis_url: str) -> None:
    env = {
        "INGESTRY_API_RATE_LIMIT": "0.5",
        "INGESTRY_API_RATE_BURST": "2",
        "INGESTRY_CACHE_URL": redis_url,
    }
    with api_client(config_path, env) as one, api_client(config_path, env) as two:
        assert one.get("/v1/sources", headers=auth(token)).status_code == 200
        assert two.get("/v1/sources", headers=auth(token)).status_code == 200
        third = one.get("/v1/sources", headers=auth(token))  # the bucket is shared
        assert third.status_code == 429 and "retry-after" in third.headers


# --- records --------------------------------------------------------------------------------


def test_records_keyset_pagination(client: TestClient, token: str) -> None:
    post(client, token, jsonl(*(order(f"P{i:02}") for i in range(7))))
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"convention": "order", "limit": "3"} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/records", params=params, headers=auth(token)).json()
        seen += [r["srn"] for r in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == len(set(seen)) == 7 and seen == sorted(seen)
    bad = client.get(
        "/v1/records", params={"convention": "order", "cursor": "%%%"}, headers=auth(token)
    )
    assert bad.status_code == 400 and error(bad)["code"] == "invalid_cursor"


def test_record_get_history_and_etag(client: TestClient, token: str) -> None:
    post(client, token, jsonl(order("H1")))
    post(client, token, jsonl(order("H1", total_price="11.00")))
    srn = record_srn("order", "harvest", "customer_orders", "H1")
    got = client.get(f"/v1/records/{srn}", headers=auth(token))
    assert got.status_code == 200 and got.json()["version"] == 2
    assert got.headers["etag"] == '"2"' and got.json()["columns"]["total"] == "11.00"
    history = client.get(f"/v1/records/{srn}/history", headers=auth(token)).json()
    assert [v["version"] for v in history["versions"]] == [1, 2]


def test_patch_needs_if_match(client: TestClient, token: str) -> None:
    post(client, token, jsonl(order("M1")))
    srn = record_srn("order", "harvest", "customer_orders", "M1")
    missing = client.patch(f"/v1/records/{srn}", json={"metadata": {"a": 1}}, headers=auth(token))
    assert missing.status_code == 428 and error(missing)["code"] == "precondition_required"
    garbled = client.patch(
        f"/v1/records/{srn}", json={"metadata": {}}, headers=auth(token, **{"If-Match": "abc"})
    )
    assert garbled.status_code == 400


# --- operations -----------------------------------------------------------------------------


def test_request_id_echoed_or_made_and_logged(
    client: TestClient, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ingestry")
    given = client.get("/v1/sources", headers=auth(token, **{"X-Request-ID": "trace-123"}))
    assert given.headers["x-request-id"] == "trace-123"
    made = client.get("/v1/nothing-here", headers=auth(token))
    assert made.status_code == 404 and len(made.headers["x-request-id"]) == 32
    assert error(made)["request_id"] == made.headers["x-request-id"]
    from ingestry.entrypoints.logs import JsonFormatter

    lines = [r for r in caplog.records if getattr(r, "path", None) == "/v1/sources"]
    assert lines and orjson.loads(JsonFormatter().format(lines[-1]))["request_id"] == "trace-123"


def test_healthz_metrics_and_docs(
    config_path: Path, client: TestClient, token: str, admin: str
) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "database": "reachable"}
    post(client, token, jsonl(order("X1"), {"id": "bad"}))
    assert client.get("/metrics", headers=auth(token)).status_code == 403
    text = client.get("/metrics", headers=auth(admin)).text
    assert 'ingestry_ingested_rows_total{source="customer_orders"} 2' in text
    assert 'ingestry_quarantined_total{source="customer_orders"} 1' in text
    assert "ingestry_http_request_duration_seconds_bucket{" in text
    assert "ingestry_job_queue_depth 0" in text
    assert 'ingestry_quarantine_open{source="customer_orders"} 1' in text
    assert client.get("/docs").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    with api_client(config_path, {"INGESTRY_ENV": "production"}) as prod:
        assert prod.get("/docs").status_code == 404
        assert prod.get("/openapi.json").status_code == 404
        assert prod.get("/healthz").status_code == 200


# --- jobs -----------------------------------------------------------------------------------


def test_jobs_submit_poll_fetch(client: TestClient, config_path: Path, project: Path, token: str,
                                db: Database) -> None:  # fmt: skip
    import ingestry
    from ingestry.entrypoints.worker.handlers import job_handlers
    from ingestry.services.worker import JobWorker

    inbox = project / "data" / "inbox" / "customer_orders"  # where API jobs read
    inbox.mkdir(parents=True)
    (inbox / "orders.jsonl").write_bytes((project / "data/samples/orders.jsonl").read_bytes())
    spec = {"kind": "ingest", "source": "customer_orders", "path": "orders.jsonl"}
    submitted = client.post("/v1/jobs", json=spec, headers=auth(token, **{"Idempotency-Key": "j"}))
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()
    assert job["status"] == "queued" and submitted.headers["location"] == f"/v1/jobs/{job['id']}"
    again = client.post("/v1/jobs", json=spec, headers=auth(token, **{"Idempotency-Key": "j"}))
    assert again.status_code == 200 and again.json()["id"] == job["id"]
    early = client.get(f"/v1/jobs/{job['id']}/result", headers=auth(token))
    assert early.status_code == 409 and error(early)["code"] == "job_not_finished"
    with ingestry.open(config_path) as store:
        import threading

        worker = JobWorker(store.control.jobs, job_handlers(store), worker_id="t", lease_seconds=30)
        assert worker.drain(threading.Event()) == 1
    polled = client.get(f"/v1/jobs/{job['id']}", headers=auth(token)).json()
    assert polled["status"] == "succeeded" and polled["attempts"] == 1
    result = client.get(f"/v1/jobs/{job['id']}/result", headers=auth(token)).json()
    assert result["result"]["received"] == 46 and result["result"]["records_created"] == 43
    assert db.count("records_order") == 43
    # another key does not see the job at all
    other = create_key(config_path, "other", ["customer_orders"])
    assert client.get(f"/v1/jobs/{job['id']}", headers=auth(other)).status_code == 404


def test_job_paths_stay_under_the_data_root(client: TestClient, project: Path, token: str) -> None:
    outside = project / "secret.jsonl"
    outside.write_text('{"id":"1"}\n')
    inbox = project / "data" / "inbox" / "customer_orders"
    inbox.mkdir(parents=True)
    (inbox / "link.jsonl").symlink_to(outside)
    (inbox / "dir").mkdir()
    for path, code in [
        ("../../../secret.jsonl", "path_outside_data_root"),
        ("/etc/passwd", "path_outside_data_root"),
        ("link.jsonl", "path_outside_data_root"),
        ("dir/../../../../secret.jsonl", "path_outside_data_root"),
        ("missing.jsonl", "invalid_input"),
        ("dir", "invalid_input"),
    ]:
        spec = {"kind": "ingest", "source": "customer_orders", "path": path}
        refused = client.post("/v1/jobs", json=spec, headers=auth(token))
        assert refused.status_code == 422, (path, refused.text)
        assert error(refused)["code"] == code, path


def test_export_job_writes_jsonl_atomically(client: TestClient, config_path: Path, project: Path,
                                            token: str) -> None:  # fmt: skip
    import threading

    import ingestry
    from ingestry.entrypoints.worker.handlers import job_handlers
    from ingestry.services.worker import JobWorker

    post(client, token, jsonl(order("E1"), order("E2")))
    job = client.post("/v1/jobs", json={"kind": "export", "source": "customer_orders"},
                      headers=auth(token)).json()  # fmt: skip
    convention = client.post("/v1/jobs", json={"kind": "export", "convention": "order"},
                             headers=auth(token))  # fmt: skip
    assert convention.status_code == 403  # orders_simple feeds it too
    with ingestry.open(config_path) as store:
        JobWorker(store.control.jobs, job_handlers(store), worker_id="t", lease_seconds=30).drain(
            threading.Event()
        )
    result = client.get(f"/v1/jobs/{job['id']}/result", headers=auth(token)).json()["result"]
    path = Path(result["path"])
    assert path.parent == project / "data" / "processed" and result["records"] == 2
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert [r["metadata"]["id"] for r in lines] == ["E1", "E2"]
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []
    assert os.access(path, os.R_OK)


def test_replay_job_re_extracts_a_raw_source(
    client: TestClient, config_path: Path, token: str, admin: str
) -> None:
    import threading

    import ingestry
    from ingestry.entrypoints.worker.handlers import job_handlers
    from ingestry.services.worker import JobWorker

    post(client, token, jsonl(order("R1"), order("R2")))
    simple = client.post(
        "/v1/jobs", json={"kind": "replay", "source": "orders_simple"}, headers=auth(admin)
    )
    assert simple.status_code == 422 and error(simple)["code"] == "not_a_raw_source"
    spec = {"kind": "replay", "source": "customer_orders", "since": "2000-01-01T00:00:00"}
    job = client.post("/v1/jobs", json=spec, headers=auth(token)).json()
    with ingestry.open(config_path) as store:
        JobWorker(store.control.jobs, job_handlers(store), worker_id="t", lease_seconds=30).drain(
            threading.Event()
        )
    done = client.get(f"/v1/jobs/{job['id']}/result", headers=auth(token)).json()
    assert done["status"] == "succeeded", done
    assert done["result"]["scanned"] == 2 and done["result"]["records_unchanged"] == 2


def test_concurrent_posts_share_commits_but_keep_their_own_summaries(
    client: TestClient, config_path: Path, db: Database
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    token = create_key(config_path, "simple", ["orders_simple"])

    def send(i: int) -> tuple[int, dict[str, object]]:
        body = b'[{"id": "G' if i == 7 else jsonl(order(f"G{i}"), order(f"G{i}b"))
        response = client.post(
            "/v1/sources/orders_simple/payloads", content=body, headers=auth(token, **JSONL)
            if i != 7 else auth(token, **{"content-type": "application/json"}),
        )  # fmt: skip
        return response.status_code, response.json()

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(send, range(24)))
    for i, (status, body) in enumerate(results):
        if i == 7:  # a simple source refuses a document that does not frame: alone
            assert status == 422, body
            continue
        assert status == 200, body
        assert (body["received"], body["records_created"]) == (2, 2), body
    runs = {str(body["run_srn"]) for i, (_, body) in enumerate(results) if i != 7}
    assert len(runs) == 23  # one run per request, even when written in one transaction
    assert db.count("records_order") == 46
    assert db.count("ingest_runs", "WHERE status = 'succeeded'") == 23


def test_patch_with_if_match_updates_or_reports_the_current_version(
    client: TestClient, token: str
) -> None:
    post(client, token, jsonl(order("U1")))
    srn = record_srn("order", "harvest", "customer_orders", "U1")
    changed = order("U1", total_price="99.00")
    updated = client.patch(
        f"/v1/records/{srn}", json={"metadata": changed}, headers=auth(token, **{"If-Match": '"1"'})
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2 and updated.json()["columns"]["total"] == "99.00"
    assert updated.headers["etag"] == '"2"'
    stale = client.patch(
        f"/v1/records/{srn}",
        json={"metadata": order("U1")},
        headers=auth(token, **{"If-Match": "1"}),
    )
    assert stale.status_code == 409
    detail = error(stale)
    assert detail["code"] == "version_conflict" and detail["current_version"] == 2  # type: ignore[comparison-overlap]
    assert stale.headers["etag"] == '"2"'
    history = client.get(f"/v1/records/{srn}/history", headers=auth(token)).json()
    assert [v["version"] for v in history["versions"]] == [1, 2]


def test_features_of_a_record(client: TestClient, token: str) -> None:
    post(client, token, jsonl(order("V1")))
    srn = record_srn("order", "harvest", "customer_orders", "V1")
    found = client.get(f"/v1/records/{srn}/features", headers=auth(token))
    assert found.status_code == 200 and found.json() == {"srn": srn, "features": []}
    missing = client.get(
        f"/v1/records/{record_srn('order', 'harvest', 'customer_orders', 'NO')}/features",
        headers=auth(token),
    )
    assert missing.status_code == 404


def test_api_ingests_write_outbox_events(
    client: TestClient, token: str, db: Database, config_path: Path
) -> None:
    post(client, token, jsonl(order("OB1"), order("OB2")))
    post(client, token, jsonl(order("OB1", total_price="12.00")))
    with ingestry.open(config_path) as store:
        assert store.pending_events() == 3
        store.take_in_events()  # every change taken in, as a claim does
    assert db.count("record_events") == 3  # two published, one updated: hooks run for API data too
