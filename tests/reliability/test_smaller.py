"""Bug 9 of issue 14: durability settings that would lose acknowledged writes are not
accepted silently; Idempotency-Key is 1-255 characters (400 otherwise, as the IETF
draft says); error bodies are RFC 9457 problem details keeping the old fields."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.apiclient import TestClient, api_client, auth, create_key
from tests.backends import Database
from tests.integration.test_ingest import order

PATH = "/v1/sources/customer_orders/payloads"


@pytest.fixture
def client(config_path: Path) -> Iterator[TestClient]:
    with api_client(config_path) as c:
        yield c


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_an_empty_or_over_long_idempotency_key_is_a_400(
    client: TestClient, config_path: Path, db: Database, key: str
) -> None:
    token = create_key(config_path, "orders", ["customer_orders"])
    for path, body in [
        (PATH, order("IK1")),
        ("/v1/jobs", {"kind": "export", "source": "customer_orders"}),
    ]:
        answer = client.post(path, json=body, headers=auth(token, **{"Idempotency-Key": key}))
        assert answer.status_code == 400, (path, answer.status_code, answer.text)
        assert answer.json()["error"]["code"] == "invalid_idempotency_key"
    assert db.count("jobs") == 0
    longest = auth(token, **{"Idempotency-Key": "k" * 255})
    good = client.post(PATH, json=order("IK1"), headers=longest)
    assert good.status_code == 200, good.text


def test_error_bodies_are_problem_details_with_the_old_fields(
    client: TestClient, config_path: Path
) -> None:
    token = create_key(config_path, "orders", ["customer_orders"])
    for answer in [
        client.get("/v1/records/srn:nothing", headers=auth(token)),  # core error
        client.get("/v1/sources"),  # no key: 401
        client.post("/v1/jobs", json={"kind": "nope"}, headers=auth(token)),  # validation
    ]:
        assert answer.headers["content-type"] == "application/problem+json", answer.headers
        body = orjson.loads(answer.content)
        assert body["status"] == answer.status_code and body["type"] == "about:blank"
        assert body["title"] and body["detail"] == body["error"]["message"], body
        assert {"code", "message", "request_id"} <= set(body["error"]), body


@pytest.mark.parametrize("backend", ["postgres"])
def test_postgres_synchronous_commit_off_is_overridden_loudly(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    from ingestry.adapters.postgres.storage import connect

    url = db.url.replace("options=", "options=-csynchronous_commit%3Doff%20", 1)
    with caplog.at_level(logging.WARNING):
        conn = connect(url)
    try:
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("on",)
    finally:
        conn.close()
    assert "synchronous_commit" in caplog.text and "off" in caplog.text, caplog.text


@pytest.mark.parametrize("backend", ["sqlite"])
def test_sqlite_is_fully_synchronous(store: object, db: Database) -> None:
    import sqlite3

    from ingestry.adapters.sqlite.storage import SQLiteStorage

    assert db.sqlite_file is not None
    storage = SQLiteStorage(db.sqlite_file)
    try:
        conn: sqlite3.Connection = storage._conn
        assert conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    finally:
        storage.close()
