"""Delete by filter as an API job (`delete` kind) and from Python, on every backend:
each matching record a tombstone version, idempotent, resumable after a takeover."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest

import ingestry
import ingestry.store.records as store_records
from ingestry.domain.errors import InputError
from ingestry.domain.jobs import Job
from ingestry.entrypoints.worker.handlers import delete_matching, job_handlers
from ingestry.services.worker import JobContext, JobInterruptedError, JobWorker
from ingestry.store import Store
from tests.apiclient import api_client, auth, create_key

ORDERS = "data/samples/orders.jsonl"
UNPAID = ["paid=false"]


def _drain(store: Store) -> int:
    worker = JobWorker(store.control.jobs, job_handlers(store), worker_id="t", lease_seconds=30)
    return worker.drain(threading.Event())


def _unpaid(store: Store) -> set[str]:
    return {r.srn for r in store.records("order", where=UNPAID)}


def _tombstones(store: Store, srn: str) -> int:
    return sum(1 for v in store.history(srn) if v.deleted is not None)


def test_a_delete_job_over_the_api(config_path: Path, project: Path) -> None:
    admin = create_key(config_path, "ops", [], admin=True)
    rates = create_key(config_path, "rates", ["exchange_rates"])
    with ingestry.open(config_path) as store:
        store.ingest_files("customer_orders", [str(project / ORDERS)])
        want = _unpaid(store)
        total = store.count("order")
    assert want
    spec = {"kind": "delete", "convention": "order", "where": UNPAID, "reason": "unpaid"}
    with api_client(config_path) as client:
        unfiltered = {"kind": "delete", "convention": "order"}
        assert client.post("/v1/jobs", json=unfiltered, headers=auth(admin)).status_code == 422
        bad = {**spec, "where": ["no_such_column=1"]}
        assert client.post("/v1/jobs", json=bad, headers=auth(admin)).status_code == 400
        assert client.post("/v1/jobs", json=spec, headers=auth(rates)).status_code == 403
        submitted = client.post("/v1/jobs", json=spec, headers=auth(admin, **{
            "Idempotency-Key": "unpaid-1"}))  # fmt: skip
        assert submitted.status_code == 202, submitted.text
        again = client.post("/v1/jobs", json=spec, headers=auth(admin, **{
            "Idempotency-Key": "unpaid-1"}))  # fmt: skip
        assert again.status_code == 200 and again.json()["id"] == submitted.json()["id"]
        with ingestry.open(config_path) as store:
            assert _drain(store) == 1
            job = store.jobs().get(submitted.json()["id"])
            assert job.status == "succeeded", job.error
            assert job.result is not None
            assert (job.result["deleted"], job.result["already_deleted"]) == (len(want), 0)
            assert _unpaid(store) == set() and store.count("order") == total - len(want)
            srn = sorted(want)[0]
            tomb = store.get(srn, include_deleted=True).deleted
            assert tomb is not None and tomb.reason == "unpaid"
            assert tomb.actor.startswith("api:")
        polled = client.get(f"/v1/jobs/{job.id}/result", headers=auth(admin))
        assert polled.json()["result"]["deleted"] == len(want)
        rerun = client.post("/v1/jobs", json=spec, headers=auth(admin))  # a new job
        with ingestry.open(config_path) as store:
            assert _drain(store) == 1
            second = store.jobs().get(rerun.json()["id"])
            assert second.result is not None and second.result["deleted"] == 0
            assert all(_tombstones(store, s) == 1 for s in want)  # nothing deleted twice


class _LosesLease(JobContext):
    """The worker's context, whose lease is taken over after `after` deletes."""

    def __init__(self, after: int) -> None:
        super().__init__(threading.Event())
        self.left = after

    def progress(self, **values: object) -> None:
        self.left -= 1
        if self.left == 0:
            self.lease_lost.set()
        super().progress(**values)


def test_a_delete_job_taken_over_goes_on_after_the_last_srn_done(
    store: Store, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_records, "DELETE_PAGE", 2)  # several pages
    store.ingest_files("customer_orders", [str(project / ORDERS)])
    want = _unpaid(store)
    assert len(want) > 4
    job, _ = store.jobs().submit("delete", {"convention": "order", "where": UNPAID})
    first = _LosesLease(after=3)
    with pytest.raises(JobInterruptedError):
        delete_matching(store, job, first)
    progress = first.snapshot()
    assert progress is not None and progress["deleted"] == 3
    taken: Job = replace(job, progress=progress)  # what the next claim hands over
    result = delete_matching(store, taken, JobContext(threading.Event()))
    assert (result["deleted"], result["already_deleted"]) == (len(want), 0)
    assert _unpaid(store) == set()
    assert all(_tombstones(store, s) == 1 for s in want)


def test_delete_matching_from_python_pages_through_the_selection(
    store: Store, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_records, "DELETE_PAGE", 2)
    store.ingest_files("customer_orders", [str(project / ORDERS)])
    want = _unpaid(store)
    with pytest.raises(InputError, match="needs a filter"):
        store.delete_matching("order")
    reports = list(store.delete_matching("order", where=UNPAID, reason="unpaid"))
    assert sorted(r.srn for r in reports) == sorted(want)
    assert [r.srn for r in reports] == sorted(r.srn for r in reports)  # srn order
    assert not any(r.already for r in reports)
    assert list(store.delete_matching("order", where=UNPAID)) == []  # idempotent
