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
from ingestry.services.ingest import IngestService
from ingestry.services.preparation import BatchWork
from ingestry.store import Store
from tests.backends import Database

pytestmark = pytest.mark.skipif(not fork_available(), reason="needs os.fork")


def _orders(path: Path, n: int, bad_every: int = 0) -> Path:
    with path.open("wb") as out:
        for i in range(n):
            if bad_every and i % bad_every == 0:
                out.write(b'{"id": "broken-%d\n' % i)
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
    work: Iterator[BatchWork] = iter([([], "2026", "x", None, False, False)])
    with pytest.raises(BrokenProcessPool):
        list(ProcessMap(1)(_dies, work))


def _tricky(path: Path, start: int, stop: int, changed: frozenset[int] = frozenset()) -> Path:
    """Orders that push batches off the fast paths: an id repeated within a batch (two
    versions), identical lines (one raw row), U+0000 in a text column and in an id,
    long decimals, broken lines, blank and CRLF lines."""
    with path.open("wb") as out:
        for i in range(start, stop):
            doc = {"id": f"T-{i}", "type": "order", "created_at": "2026-01-01T00:00:00Z",
                   "total_price": f"{i}.{'5' if i in changed else '0'}",
                   "customer": {"email": f"t{i}@x.org"}}  # fmt: skip
            if i % 41 == 0:
                doc["customer"] = {"email": "nul\u0000inside"}
            if i % 53 == 0:
                doc["id"] = f"T-\u0000{i}"
            if i % 67 == 0:
                doc["total_price"] = "12345678901234567890.1234567890123"
            line = orjson.dumps(doc)
            out.write(line + (b"\r\n" if i % 5 == 0 else b"\n"))
            if i % 29 == 0:
                out.write(line + b"\n")  # the same bytes again: one raw row
            if i % 31 == 0:
                again = {**doc, "total_price": "999.99"}
                out.write(orjson.dumps(again) + b"\n")  # the same id, other content
            if i % 37 == 0:
                out.write(b"\n   \n")
            if i % 43 == 0:
                out.write(b'{"id": "broken-%d\n' % i)
    return path


@pytest.mark.parametrize("workers", [1, 2])
def test_workers_match_inline_on_batches_off_the_fast_paths(
    tmp_path: Path, project: Path, other_db: Database, workers: int
) -> None:
    """On PostgreSQL the workers also encode COPY rows (`adapters.postgres.wire`): every
    batch that cannot use them, and a re-ingest that overlaps (claims, then updates),
    must end as the inline path ends."""
    first = _tricky(tmp_path / "first.jsonl", 0, 1_200)
    second = _tricky(tmp_path / "second.jsonl", 600, 1_800, frozenset(range(700, 760)))
    config = project / "ingestry.yaml"
    seen = []
    for env, n in (({}, workers), ({"INGESTRY_DATABASE_URL": other_db.url}, 0)):
        with ingestry.open(ingestry.load_settings(config, env=env)) as store:
            summaries = [_ingest(store, first, n), _ingest(store, second, n)]
            records = [(r.srn, r.version, dict(r.columns)) for r in store.records("order")]
            raw = sum(len(store.raw("customer_orders", f"T-{i}")) for i in range(1_800))
            quarantined = sorted((q.line, q.reason) for q in store.quarantine("customer_orders"))
            events = store.pending_events()
            seen.append((summaries, records, raw, quarantined, events))
    assert seen[0] == seen[1]
    summaries, records, raw, quarantined, _ = seen[0]
    # 60 ids changed; the last occurrence of a repeated one is the same in both files
    assert summaries[0]["records_created"] > 1_000 and summaries[1]["records_updated"] >= 55
    assert len(quarantined) == len(range(0, 1_800, 43))
    assert raw > 1_700


SRC = "rates_raw"
RAW_RATES = """\
  rates_raw:
    strategy: raw
    convention: exchange_rate
    rationale: CSV cut into blocks for the workers
    format: csv
    id: [date, base, quote]
"""


def _rates(path: Path, n: int) -> Path:
    """A CSV whose rows a block cut must respect: quoted fields over several lines,
    quotes at block ends, malformed rows, blank lines, CRLF, repeated ids."""
    rows = [b"date,base,quote,rate,provider"]
    for i in range(n):
        day = f"2026-{i % 12 + 1:02d}-{i % 28 + 1:02d}".encode()
        quote = b"Q%d" % (i % 700)  # ids repeat, within and across batches
        provider = b'"line one\nline, two"' if i % 7 == 0 else b"ecb"
        if i % 53 == 0:
            rows.append(b"%s,EUR,%s,1.5" % (day, quote))  # a field short
        elif i % 89 == 0:
            rows.append(b'%s,EUR,%s,1.5,"bad"x' % (day, quote))  # strict quoting
        elif i % 61 == 0:
            rows.append(b"")
        else:
            rows.append(b"%s,EUR,%s,%d.25,%s" % (day, quote, i, provider))
    data = b"\n".join(r + (b"\r" if k % 11 == 0 else b"") for k, r in enumerate(rows))
    path.write_bytes(data + b'\n2026-01-01,EUR,LAST,1.0,"never closed\n')
    return path


@pytest.mark.parametrize("workers", [1, 2])
def test_csv_blocks_in_workers_match_inline(
    tmp_path: Path, project: Path, other_db: Database, workers: int
) -> None:
    """A CSV file is cut into blocks of rows that the workers frame
    (`extract.csvblocks`): what is stored is what inline framing stores."""
    data = _rates(tmp_path / "rates.csv", 2_500)
    config = project / "ingestry.yaml"
    config.write_text(config.read_text() + RAW_RATES)
    seen = []
    ids_of = range(2_500)
    for env, n in (({}, workers), ({"INGESTRY_DATABASE_URL": other_db.url}, 0)):
        with ingestry.open(ingestry.load_settings(config, env=env)) as store:
            source = store.source(SRC)
            extractor = store.extractor(source)
            service = IngestService(
                store.storage, lambda _, e=extractor: e, batch_size=300,
                parallel=ProcessMap(n) if n else None, parallel_threshold=0,
            )  # fmt: skip
            summary = service.ingest(source, open_inputs([str(data)], source.format))
            counts = {k: v for k, v in summary.as_dict().items() if k not in ("seconds", "run_srn")}
            records = [(r.srn, r.version, dict(r.columns)) for r in store.records("exchange_rate")]
            ids = sorted({f"2026-{i % 12 + 1:02d}-{i % 28 + 1:02d}|EUR|Q{i % 700}" for i in ids_of})
            raw = [(p.sha256, p.payload, p.line, p.error) for i in ids for p in store.raw(SRC, i)]
            quarantined = sorted((q.line, q.reason, q.payload) for q in store.quarantine(SRC))
            seen.append((counts, records, raw, quarantined))
    assert seen[0] == seen[1]
    counts, records, raw, quarantined = seen[0]
    assert counts["received"] > 2_400 and len(records) > 2_000 and len(raw) > 2_000
    assert any(b"\n" in payload for _, payload, _, _ in raw)  # a quoted line end kept
    assert quarantined[-1][2] == b'2026-01-01,EUR,LAST,1.0,"never closed'
    assert len(quarantined) > len(range(0, 2_500, 53))


def _niceness(_: int) -> int:
    return os.nice(0)


def test_a_yielding_maps_workers_run_below_the_callers_priority() -> None:
    """An HTTP pull's workers yield the cores to its writer (`ProcessMap.yielding`);
    a file ingest's run at the caller's priority."""
    from ingestry.adapters.parallel import YIELDING_NICENESS, ProcessMap
    from ingestry.bootstrap import yielding

    mine = os.nice(0)
    plain = ProcessMap(1)
    assert list(plain.ordered(_niceness, [0])) == [mine]
    lowered = yielding(plain)
    assert isinstance(lowered, ProcessMap)
    assert list(lowered.ordered(_niceness, [0])) == [min(19, mine + YIELDING_NICENESS)]
    assert yielding(None) is None
