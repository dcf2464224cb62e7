"""Bug 8 (and the path half of bug 5) of issue 14: an API key's ingest job reads only
from its source's inbox, `data/inbox/{source}/`; never the store's own files, another
key's export, or anything a long or odd path makes the file system choke on (422, not
500)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import ingestry
from ingestry.entrypoints.worker.handlers import job_handlers
from ingestry.services.worker import JobWorker
from tests.apiclient import TestClient, api_client, auth, create_key
from tests.backends import Database
from tests.conftest import EXAMPLES


@pytest.fixture
def client(config_path: Path) -> Iterator[TestClient]:
    with api_client(config_path) as c:
        yield c


def drain(config_path: Path) -> None:
    with ingestry.open(config_path) as store:
        JobWorker(store.control.jobs, job_handlers(store), worker_id="t", lease_seconds=30).drain(
            threading.Event()
        )


def test_api_jobs_read_only_from_the_source_inbox(
    client: TestClient, config_path: Path, project: Path, db: Database
) -> None:
    token = create_key(config_path, "orders", ["customer_orders"])
    inbox = project / "data" / "inbox" / "customer_orders"
    inbox.mkdir(parents=True)
    shutil.copy(EXAMPLES / "data" / "samples" / "orders.jsonl", inbox / "orders.jsonl")
    # the store's own files and everything outside the inbox are refused
    (project / "data" / "ingestry.db-wal").touch()
    refused = {}
    for path in [
        "../../ingestry.db",
        "../../ingestry.db-wal",
        "../../samples/orders.jsonl",
        "samples/orders.jsonl",  # relative to the data root: not the inbox
        "x" * 5000,
        ("deep/" * 900) + "f.jsonl",
    ]:
        spec = {"kind": "ingest", "source": "customer_orders", "path": path}
        answer = client.post("/v1/jobs", json=spec, headers=auth(token))
        refused[path[:40]] = answer.status_code
    assert set(refused.values()) == {422}, refused

    spec = {"kind": "ingest", "source": "customer_orders", "path": "orders.jsonl"}
    submitted = client.post("/v1/jobs", json=spec, headers=auth(token))
    assert submitted.status_code == 202, submitted.text
    drain(config_path)
    job = client.get(f"/v1/jobs/{submitted.json()['id']}", headers=auth(token)).json()
    assert job["status"] == "succeeded", job
    assert db.count("records_order") == 43


def test_a_store_file_inside_an_inbox_is_still_refused(
    client: TestClient, config_path: Path, project: Path
) -> None:
    token = create_key(config_path, "orders", ["customer_orders"])
    inbox = project / "data" / "inbox" / "customer_orders"
    inbox.mkdir(parents=True)
    (inbox / "db.jsonl").symlink_to(project / "data" / "ingestry.db")
    spec = {"kind": "ingest", "source": "customer_orders", "path": "db.jsonl"}
    answer = client.post("/v1/jobs", json=spec, headers=auth(token))
    assert answer.status_code == 422, answer.text


def test_one_keys_export_is_not_another_keys_input(
    client: TestClient, config_path: Path, project: Path
) -> None:
    first = create_key(config_path, "a", ["customer_orders"])
    second = create_key(config_path, "b", ["customer_orders"])
    client.post(
        "/v1/sources/customer_orders/payloads",
        content=(EXAMPLES / "data" / "samples" / "orders.jsonl").read_bytes(),
        headers=auth(first, **{"content-type": "application/x-ndjson"}),
    )
    made = client.post(
        "/v1/jobs", json={"kind": "export", "source": "customer_orders"}, headers=auth(first)
    )
    assert made.status_code == 202, made.text
    drain(config_path)
    job_id = made.json()["id"]
    assert client.get(f"/v1/jobs/{job_id}/result", headers=auth(second)).status_code == 404
    result = client.get(f"/v1/jobs/{job_id}/result", headers=auth(first)).json()["result"]
    exported = Path(result["path"]).relative_to(project / "data")
    spec = {"kind": "ingest", "source": "customer_orders", "path": f"../../{exported}"}
    answer = client.post("/v1/jobs", json=spec, headers=auth(second))
    assert answer.status_code == 422, answer.text
