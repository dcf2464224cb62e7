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
from tests.backends import Database


def test_outbox_lag_is_the_oldest_pending_event_age(
    store: Store, project: Path, db: Database
) -> None:
    os.chdir(project)
    assert store.outbox_lag() == 0.0
    store.ingest_files("customer_orders", ["data/samples/orders.jsonl"])
    assert store.pending_events() > 0
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
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
