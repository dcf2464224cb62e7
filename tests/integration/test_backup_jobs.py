"""Backups as jobs: the API's `backup`/`verify` kinds (admin keys only) and the
worker's `backup.schedule`, on both backends."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import ingestry
from ingestry.entrypoints.worker.handlers import job_handlers
from ingestry.services.worker import JobWorker
from ingestry.store import Store
from tests.apiclient import api_client, auth, create_key


def _drain(store: Store) -> int:
    worker = JobWorker(store.control.jobs, job_handlers(store), worker_id="t", lease_seconds=30)
    return worker.drain(threading.Event())


def test_backup_and_verify_jobs_over_the_api(config_path: Path, project: Path) -> None:
    admin = create_key(config_path, "ops", [], admin=True)
    scoped = create_key(config_path, "shop", ["customer_orders"])
    with api_client(config_path) as client:
        refused = client.post("/v1/jobs", json={"kind": "backup"}, headers=auth(scoped))
        assert refused.status_code == 403, refused.text
        submitted = client.post("/v1/jobs", json={"kind": "backup"}, headers=auth(admin))
        assert submitted.status_code == 202, submitted.text
        with ingestry.open(config_path) as store:
            store.ingest_files("customer_orders", [str(project / "data/samples/orders.jsonl")])
            assert _drain(store) == 1
            job = store.jobs().get(submitted.json()["id"])
        assert job.status == "succeeded", job.error
        assert job.result is not None and job.result["tables"]["raw_payloads"] > 0
        name = Path(job.result["path"]).name
        assert (project / "data" / "backups" / name).is_file()

        escape = {"kind": "verify", "path": "../ingestry.yaml"}
        assert client.post("/v1/jobs", json=escape, headers=auth(admin)).status_code == 422
        spec = {"kind": "verify", "path": name}
        verify = client.post("/v1/jobs", json=spec, headers=auth(admin))
        assert verify.status_code == 202, verify.text
        with ingestry.open(config_path) as store:
            assert _drain(store) == 1
            checked = store.jobs().get(verify.json()["id"])
        assert checked.status == "succeeded" and checked.result is not None
        assert checked.result["ok"] is True


def test_the_schedule_submits_one_job_per_due_moment(config_path: Path, project: Path) -> None:
    config_path.write_text(
        config_path.read_text() + "backup: {schedule: '0 3 * * *', keep: 1, out: backups}\n"
    )
    now = [datetime(2026, 12, 1, 2, 59, tzinfo=UTC)]
    with ingestry.open(config_path) as store, ingestry.open(config_path) as other:
        schedulers = [s.backup_scheduler(lambda: now[0]) for s in (store, other)]  # 2 workers
        for scheduler in schedulers:
            assert scheduler is not None
            assert scheduler.tick() is None  # 02:59: not due
        now[0] += timedelta(minutes=1, seconds=5)
        keys = [s.tick() for s in schedulers if s is not None]
        assert keys == ["scheduled-backup:2026-12-01T03:00:00.000000+00:00"] * 2
        assert store.jobs().counts().get("queued") == 1  # one job for both workers
        assert _drain(store) == 1
        now[0] += timedelta(days=1)
        ticked = [s.tick() for s in schedulers if s is not None]
        assert ticked[0] is not None and ticked[0] == ticked[1]
        assert _drain(store) == 1
    kept = list((project / "backups").iterdir())
    assert len(kept) == 1  # keep: 1 pruned the first
