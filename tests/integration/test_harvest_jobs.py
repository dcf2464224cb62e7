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


def test_harvest_and_scheduled_file_jobs_are_counted_in_metrics(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    """A worker's harvest job adds its items, pages, requests, retries, bytes and
    seconds to /metrics, and a scheduled file ingest its rows, as an ingest job does;
    a skipped run adds nothing."""
    from ingestry.entrypoints.metrics import Metrics

    path = config(tmp_path, db, upstream)
    (tmp_path / "data" / "p.jsonl").write_bytes(b'{"id": "P1"}\n{"id": "P2"}\n')
    text = path.read_text(encoding="utf-8").replace(
        "    format: jsonl\n", "    format: jsonl\n    files: [data/p.jsonl]\n"
    )
    path.write_text(text, encoding="utf-8")
    upstream.fault("500", 2)
    metrics = Metrics()
    with ingestry.open(path) as store, ingestry.open(path) as other:
        store.jobs().submit("harvest", {"source": "api"})
        store.jobs().submit("source_files", {"source": "plain"})
        worker = JobWorker(
            store.control.jobs, job_handlers(store, metrics), worker_id="w", lease_seconds=30
        )
        worker.drain(threading.Event())
        locks = other.control.run_locks
        assert locks is not None
        with locks.hold("api"):  # the next run is skipped: nothing counted
            store.jobs().submit("harvest", {"source": "api"})
            worker.drain(threading.Event())
    scrape = metrics.render()
    api, plain = '{source="api"}', '{source="plain"}'
    assert f"ingestry_ingested_rows_total{api} 25.0" in scrape
    assert 'ingestry_records_written_total{outcome="created",source="api"} 25.0' in scrape
    assert f"ingestry_harvest_pages_total{api} 3.0" in scrape
    assert f"ingestry_harvest_requests_total{api} 4.0" in scrape
    assert f"ingestry_harvest_retries_total{api} 1.0" in scrape
    assert f"ingestry_harvest_seconds_count{api} 1.0" in scrape
    assert f"ingestry_ingested_rows_total{plain} 2.0" in scrape
    assert f"ingestry_ingest_seconds_count{plain} 1.0" in scrape
    bytes_line = next(x for x in scrape.splitlines() if x.startswith("ingestry_harvest_bytes"))
    assert float(bytes_line.split()[-1]) > 0
