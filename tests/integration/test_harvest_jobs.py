"""Harvest as an API job run by the worker, and a busy source skipped, not failed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import ingestry
from ingestry.entrypoints.worker.handlers import job_handlers
from ingestry.services.worker import JobWorker
from tests.apiclient import api_client, auth, create_key
from tests.backends import Database
from tests.conftest import DEFAULT_SQLITE
from tests.harvest_upstream import Upstream, make_items, serve
from tests.integration.harvest_support import as_json, records, source_yaml, write_config


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with serve(Upstream(items=make_items(25), page_size=10)) as up:
        yield up


def config(tmp_path: Path, db: Database, up: Upstream) -> Path:
    url = db.url if db.kind == "postgres" else DEFAULT_SQLITE
    pulled = source_yaml("api", up.url + "/link", "{type: link_header}", None)
    files = source_yaml("plain", up.url, "{type: none}", None).split("    pull:")[0]
    return write_config(tmp_path, url, pulled + files + "    format: jsonl\n")


def test_api_job_runs_a_harvest(tmp_path: Path, db: Database, upstream: Upstream) -> None:
    path = config(tmp_path, db, upstream)
    token = create_key(path, "partner", ["api", "plain"])
    with api_client(path) as client:
        refused = client.post(
            "/v1/jobs", json={"kind": "harvest", "source": "plain"}, headers=auth(token)
        )
        submitted = client.post(
            "/v1/jobs", json={"kind": "harvest", "source": "api"}, headers=auth(token)
        )
    assert refused.status_code == 422 and "no pull" in refused.text
    assert submitted.status_code == 202
    with ingestry.open(path) as store:
        JobWorker(store.control.jobs, job_handlers(store), worker_id="w", lease_seconds=30).drain(
            threading.Event()
        )
        job = store.jobs().get(submitted.json()["id"])
        assert records(store) == as_json(upstream.items)
    assert job.status == "succeeded" and job.result is not None
    assert job.result["records_created"] == 25 and job.result["pages"] == 3


def test_a_busy_source_is_skipped(tmp_path: Path, db: Database, upstream: Upstream) -> None:
    path = config(tmp_path, db, upstream)
    with ingestry.open(path) as store, ingestry.open(path) as other:
        job, _ = store.jobs().submit("harvest", {"source": "api"})
        locks = other.control.run_locks
        assert locks is not None
        with locks.hold("api"):  # a CLI run, or another worker, holds the source
            JobWorker(
                store.control.jobs, job_handlers(store), worker_id="w", lease_seconds=30
            ).drain(threading.Event())
        done = store.jobs().get(job.id)
        assert records(store) == {}
    assert done.status == "succeeded" and done.result is not None
    assert "in progress" in str(done.result["skipped"])
