"""What `/metrics` reads at scrape time, on both backends: the outbox lag, and the
worker's lease-takeover counter."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingestry.domain.jobs import LEASE_LOST, Job
from ingestry.entrypoints.metrics import Metrics
from ingestry.entrypoints.worker.handlers import observe
from ingestry.store import Store
from tests.apiclient import api_client, auth, create_key
from tests.backends import Database


def test_outbox_lag_is_the_oldest_pending_event_age(
    store: Store, project: Path, db: Database
) -> None:
    os.chdir(project)
    assert store.outbox_lag() == 0.0
    store.ingest_files("customer_orders", ["data/samples/orders.jsonl"])
    assert store.pending_events() > 0
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    store.take_in_events()  # every change taken in, as a claim does
    oldest = db.scalar("SELECT min(id) FROM record_events")
    stamp = an_hour_ago.isoformat() if db.kind == "sqlite" else an_hour_ago
    db.execute("UPDATE record_events SET created_at = :t WHERE id = :i", t=stamp, i=oldest)
    assert 3590 < store.outbox_lag() < 3700
    store.dispatcher().run_once()
    assert store.pending_events() == 0 or store.outbox_lag() < 3590


def test_a_taken_over_job_is_counted() -> None:
    metrics = Metrics()
    now = datetime.now(UTC)
    job = Job("j", "export", {}, "running", "", 2, 3, now, now,
              error=f"attempt 1 of 3 lost: worker w1 {LEASE_LOST}")  # fmt: skip
    observe(metrics, job, {}, 0.1)
    fresh = Job("k", "export", {}, "running", "", 1, 3, now, now)
    observe(metrics, fresh, {}, 0.1)
    text = metrics.render()
    assert 'ingestry_job_lease_takeovers_total{kind="export"} 1.0' in text


def test_cache_counters_grow_by_what_the_cache_counted() -> None:
    metrics = Metrics()
    counts = [("memory", 0, 0, 0)]
    metrics.cache_stats = lambda: counts[0]
    metrics.sync_cache()
    counts[0] = ("memory", 5, 2, 1)
    metrics.sync_cache()
    counts[0] = ("memory", 7, 2, 1)
    text = metrics.render()  # a scrape syncs too
    assert 'ingestry_cache_hits_total{cache="memory"} 7.0' in text
    assert 'ingestry_cache_misses_total{cache="memory"} 2.0' in text
    assert 'ingestry_cache_invalidations_total{cache="memory"} 1.0' in text


def test_record_reads_over_the_api_count_cache_hits(config_path: Path) -> None:
    admin = create_key(config_path, "ops", [], admin=True)
    with api_client(config_path) as client:
        body = b'{"id": "C1", "created_at": "2026-11-01T00:00:00Z"}\n'
        posted = client.post(
            "/v1/sources/customer_orders/payloads",
            content=body,
            headers=auth(admin, **{"Content-Type": "application/x-ndjson"}),
        )
        assert posted.status_code == 200, posted.text
        listed = client.get("/v1/records?convention=order", headers=auth(admin)).json()
        srn = listed["items"][0]["srn"]
        for _ in range(3):
            assert client.get(f"/v1/records/{srn}", headers=auth(admin)).status_code == 200
        text = client.get("/metrics", headers=auth(admin)).text
    hits = [line for line in text.splitlines() if line.startswith("ingestry_cache_hits_total{")]
    assert hits and float(hits[0].split()[-1]) >= 2, text
