"""Batch preparation in worker processes gives exactly what inline preparation gives."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import orjson
import pytest

import ingestry
from ingestry.adapters.files import open_inputs
from ingestry.adapters.parallel import ProcessMap, fork_available
from ingestry.services.batch import PreparedBatch
from ingestry.services.ingest import BatchWork, IngestService
from ingestry.store import Store
from tests.backends import Database

pytestmark = pytest.mark.skipif(not fork_available(), reason="needs os.fork")


def _orders(path: Path, n: int, bad_every: int = 0) -> Path:
    with path.open("wb") as out:
        for i in range(n):
            if bad_every and i % bad_every == 0:
                out.write(b'{"id": "broken\n')
                continue
            doc = {"id": f"P-{i}", "type": "order", "created_at": "2026-01-01T00:00:00Z",
                   "total_price": f"{i}.50", "customer": {"email": f"c{i}@x.org"}}  # fmt: skip
            out.write(orjson.dumps(doc) + b"\n")
    return path


def _ingest(store: Store, path: Path, workers: int) -> dict[str, object]:
    source = store.source("customer_orders")
    extractor = store.extractor(source)
    service = IngestService(
        store.storage,
        lambda _: extractor,
        batch_size=500,
        parallel=ProcessMap(workers) if workers else None,
        parallel_threshold=0,
    )
    summary = service.ingest(source, open_inputs([str(path)], source.format))
    return {k: v for k, v in summary.as_dict().items() if k not in ("seconds", "run_srn")}


@pytest.mark.parametrize("workers", [1, 2])
def test_workers_match_inline(
    tmp_path: Path, project: Path, other_db: Database, workers: int
) -> None:
    data = _orders(tmp_path / "orders.jsonl", 3_000, bad_every=97)
    config = project / "ingestry.yaml"
    results, records, quarantined = [], [], []
    for env, n in (({}, workers), ({"INGESTRY_DATABASE_URL": other_db.url}, 0)):
        with ingestry.open(ingestry.load_settings(config, env=env)) as store:
            results.append(_ingest(store, data, n))
            records.append([(r.srn, r.version, dict(r.columns)) for r in store.records("order")])
            quarantined.append([(q.line, q.reason) for q in store.quarantine("customer_orders")])
    assert results[0] == results[1]
    assert results[0]["records_created"] == 3_000 - len(range(0, 3_000, 97))
    assert records[0] == records[1]
    assert quarantined[0] == quarantined[1]


def _dies(work: BatchWork) -> PreparedBatch:
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")


def test_a_dead_worker_raises_instead_of_hanging() -> None:
    work: Iterator[BatchWork] = iter([([], "2026", "x", None, False)])
    with pytest.raises(BrokenProcessPool):
        list(ProcessMap(1)(_dies, work))
