"""Write lanes on PostgreSQL: batches written on two connections at once leave exactly
what one connection writing batch after batch leaves (records, every version of the
history, raw rows, quarantine, outbox events, summaries)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

import ingestry
from ingestry.adapters.files import open_inputs
from ingestry.services.ingest import IngestService
from ingestry.services.outbox import event_writer
from ingestry.store import Store
from tests.backends import Database

pytestmark = pytest.mark.postgres

BATCH = 100


@pytest.fixture
def backend() -> str:
    return "postgres"


def _orders(path: Path, lines: Iterator[tuple[int, str]]) -> Path:
    """JSON Lines orders: (id number, total) per line; some lines broken on purpose."""
    with path.open("wb") as out:
        for n, (i, total) in enumerate(lines):
            if n % 97 == 5:
                out.write(b'{"id": "broken\n')  # the same bad bytes in many batches
            doc = {"id": f"L-{i}", "type": "order", "created_at": "2026-01-01T00:00:00Z",
                   "total_price": total, "customer": {"email": f"l{i}@x.org"}}  # fmt: skip
            out.write(orjson.dumps(doc) + b"\n")
    return path


def _mixed() -> Iterator[tuple[int, str]]:
    """Stretches of fresh ids (batches side by side) and stretches where each id comes
    back a batch or two later with other content (batches that must wait)."""
    for i in range(1_000):
        yield i, f"{i}.00"
    for round_ in range(3):
        for i in range(400):
            yield 2_000 + i % 150, f"{i}.{round_}"
    for i in range(1_000, 1_500):
        yield i, f"{i}.00"
    for i in range(300):
        yield i * 3, "7.77"  # updates of the first stretch


def _ingest(store: Store, path: Path, source: str = "customer_orders") -> dict[str, Any]:
    data_source = store.source(source)
    extractor = store.extractor(data_source)
    service = IngestService(
        store.storage, lambda _: extractor, batch_size=BATCH, on_changes=event_writer()
    )
    summary = service.ingest(data_source, open_inputs([str(path)], data_source.format))
    return {k: v for k, v in summary.as_dict().items() if k not in ("seconds", "run_srn")}


def _state(store: Store, db: Database) -> tuple[Any, ...]:
    records = []
    for record in store.records("order"):
        versions = [(r.version, dict(r.columns), r.metadata) for r in store.history(record.srn)]
        records.append((record.srn, versions))
    raw = db.rows(
        "SELECT source, source_id, sha256, payload, line FROM raw_payloads"
        " ORDER BY source, source_id, sha256"
    )
    quarantined = db.rows("SELECT sha256, line, reason FROM quarantine ORDER BY sha256")
    events = db.rows("SELECT srn, version FROM record_events ORDER BY srn, id")
    return records, raw, quarantined, events


def test_two_lanes_write_what_one_lane_writes(
    tmp_path: Path, project: Path, db: Database, other_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _orders(tmp_path / "first.jsonl", _mixed())
    again = _orders(tmp_path / "again.jsonl", ((i, f"{i}.5") for i in range(0, 2_200, 2)))
    config = project / "ingestry.yaml"
    seen = []
    for lanes, database in (("2", db), ("1", other_db)):
        monkeypatch.setenv("INGESTRY_WRITE_LANES", lanes)
        name = f"lanes-{secrets.token_hex(4)}"  # this store's connections, by name
        env = {"INGESTRY_DATABASE_URL": f"{database.url}&application_name={name}"}
        with ingestry.open(ingestry.load_settings(config, env=env)) as store:
            summaries = [_ingest(store, first), _ingest(store, again), _ingest(store, again)]
            connections = database.scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name",
                name=name,
            )
            seen.append((summaries, _state(store, database)))
        assert connections == int(lanes)
    assert seen[0] == seen[1]
    summaries, (records, raw, quarantined, events) = seen[0]
    assert summaries[0]["records_created"] == 1_000 + 150 + 500
    assert summaries[0]["records_updated"] > 500
    # the even ids below 2,200: 500 + 250 + 75 of them exist, 275 are new
    assert (summaries[1]["records_updated"], summaries[1]["records_created"]) == (825, 275)
    assert len(raw) == summaries[0]["raw_stored"] + summaries[1]["raw_stored"]
    # the same file again: every payload a raw duplicate (12 broken lines among them)
    assert summaries[2]["raw_duplicates"] == 1_100 + 12
    assert summaries[2]["records_unchanged"] == 1_100
    assert summaries[2]["raw_stored"] == summaries[2]["records_updated"] == 0
    assert len(quarantined) == 1  # the same bad bytes, in many batches: one entry
    # versions count up one by one, each with its own content
    for _, versions in records:
        assert [v for v, _, _ in versions] == list(range(1, len(versions) + 1))
    assert len(events) == sum(len(versions) for _, versions in records)


def test_a_csv_header_shared_by_every_batch(
    tmp_path: Path, project: Path, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every batch of a CSV file carries its header: only the first batch stores it, the
    others run side by side again once it committed."""
    monkeypatch.setenv("INGESTRY_WRITE_LANES", "2")
    config = project / "ingestry.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("    files: data/samples/exchange_rates.csv", "")
        + "  rates_raw:\n    strategy: raw\n    convention: exchange_rate\n"
        "    rationale: test\n    format: csv\n    id: [date, base, quote]\n",
        encoding="utf-8",
    )
    path = tmp_path / "rates.csv"
    rows = [f"2026-01-{1 + i % 28:02d},EUR,C{i:04d},1.{i:04d}" for i in range(1_000)]
    path.write_text("date,base,quote,rate\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with ingestry.open(config) as store:
        summary = _ingest(store, path, "rates_raw")
    assert summary["records_created"] == 1_000
    assert db.count("raw_payloads") == 1_000
    assert db.count("raw_headers") == 1


def test_a_batch_gives_way_when_a_rival_closes_a_cycle_through_the_commit_order(
    db: Database,
) -> None:
    """Batch 0 waits for a rival's row x; batch 1 (written, waiting for batch 0's
    commit) holds y, which the rival then wants. The database sees no deadlock (batch
    1's wait for the earlier commit is invisible to it): batch 1 must roll back, let the
    rival through, and be written again."""
    import psycopg

    from ingestry.adapters.postgres import PostgresStorage
    from ingestry.adapters.postgres.session import PostgresSession
    from ingestry.adapters.postgres.url import libpq_url
    from ingestry.services.lanes import OrderedLanes

    db.execute("CREATE TABLE lane_keys (k text PRIMARY KEY)")
    storage = PostgresStorage(db.url, lanes=2)
    rival = psycopg.connect(libpq_url(db.url))
    rival.execute("INSERT INTO lane_keys VALUES ('x')")  # held until the rival commits
    written: list[str] = []
    y_held = threading.Event()

    def insert(key: str) -> Callable[[PostgresSession], str]:
        def write(session: PostgresSession) -> str:
            session.tx.begin()
            session.tx.conn.execute(
                "INSERT INTO lane_keys VALUES (%s) ON CONFLICT DO NOTHING", (key,)
            )
            written.append(key)
            if key == "y":
                y_held.set()
            return key

        return write

    def rival_wants_y() -> None:
        if not y_held.wait(10):
            return
        try:
            rival.execute("INSERT INTO lane_keys VALUES ('y') ON CONFLICT DO NOTHING")
        except psycopg.errors.QueryCanceled:
            return  # the test gave up on a hang (see below)
        rival.commit()

    done: list[str] = []

    def run() -> None:
        with OrderedLanes(storage.lane_session, 2, done.append, storage.blocked_by) as lanes:
            lanes.submit(frozenset({"x"}), insert("x"))
            time.sleep(0.3)  # batch 0 is waiting for the rival's x by now
            lanes.submit(frozenset({"y"}), insert("y"))

    threads = [threading.Thread(target=run), threading.Thread(target=rival_wants_y)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join(20)
        hung = any(thread.is_alive() for thread in threads)
    finally:
        if threads[1].is_alive():
            rival.cancel()  # its wait for y ends: the rival can roll back, x is free
            threads[1].join(20)
        rival.rollback()
        threads[0].join(20)
        rival.close()
        storage.close()
    assert not hung, "the cycle through the commit order was not broken"
    assert done == ["x", "y"]
    assert written.count("y") == 2  # rolled back once, then written again
    assert db.rows("SELECT k FROM lane_keys ORDER BY k") == [("x",), ("y",)]
