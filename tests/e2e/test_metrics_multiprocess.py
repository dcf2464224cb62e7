"""`/metrics` scraped from a real `ingestry serve --workers 2` (prometheus-client in
multiprocess mode): every scrape, whichever process answers, sums the counts of both
API processes and of a job worker sharing PROMETHEUS_MULTIPROC_DIR."""

from __future__ import annotations

import re
from pathlib import Path

import orjson

from tests.apiclient import create_key
from tests.e2e.cli import run
from tests.e2e.processes import child_env, server

POSTS = 12


def _value(text: str, series: str) -> float:
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    assert match, f"{series} not in:\n{text}"
    return float(match.group(1))


def _pids(directory: Path) -> set[str]:
    return {p.stem.rsplit("_", 1)[-1] for p in directory.glob("*.db")}


def test_metrics_sum_every_process(local_project: Path, tmp_path: Path) -> None:
    config = local_project / "ingestry.yaml"
    admin = create_key(config, "ops", [], admin=True)
    multiproc = tmp_path / "metrics"
    env = child_env({"PROMETHEUS_MULTIPROC_DIR": str(multiproc)})
    headers = {"X-API-Key": admin, "Content-Type": "application/x-ndjson"}
    inbox = local_project / "data" / "inbox" / "customer_orders"
    inbox.mkdir(parents=True)
    (inbox / "j.jsonl").write_bytes(b'{"id": "J1", "created_at": "2026-11-01T00:00:00Z"}\n')
    assert run("backup", "--out", "data/backups/ingestry-backup-20261201T030000Z.tar",
               cwd=local_project).returncode == 0  # fmt: skip
    with server(local_project, env, tmp_path / "serve.log", ("--workers", "2")) as client:
        posts = 0
        while posts < POSTS or len(_pids(multiproc)) < 2:  # until both processes answered
            assert posts < 500, "every request went to one process"
            body = orjson.dumps({"id": f"M{posts}", "created_at": "2026-11-01T00:00:00Z"})
            response = client.post("/v1/sources/customer_orders/payloads", content=body + b"\n",
                                   headers={**headers, "Connection": "close"})  # fmt: skip
            assert response.status_code == 200, response.text
            posts += 1
        spec = {"kind": "ingest", "source": "customer_orders", "path": "j.jsonl"}
        job = client.post("/v1/jobs", headers={"X-API-Key": admin}, json=spec)
        assert job.status_code == 202, job.text
        worker = run(
            "worker", "--once", cwd=local_project, env={"PROMETHEUS_MULTIPROC_DIR": str(multiproc)}
        )
        assert worker.returncode == 0, worker.stderr
        assert len(_pids(multiproc)) >= 3  # two API processes and the worker wrote values
        for _ in range(4):  # whichever process answers, the sums are the same
            scrape = {"X-API-Key": admin, "Connection": "close"}
            text = client.get("/metrics", headers=scrape).text
            received = _value(text, 'ingestry_ingested_rows_total{source="customer_orders"}')
            assert received == posts + 1
            assert _value(text, 'ingestry_rows_stored_total{source="customer_orders"}') == posts + 1
            assert (
                _value(text, 'ingestry_ingest_seconds_count{source="customer_orders"}') == posts + 1
            )
            assert _value(text, "ingestry_job_queue_depth") == 0
            assert _value(text, "ingestry_outbox_dead") == 0
            assert _value(text, "ingestry_outbox_lag_seconds") >= 0
            assert 0 < _value(text, "ingestry_backup_age_seconds") < 10 * 365 * 86400
            assert "# TYPE ingestry_http_request_duration_seconds histogram" in text
