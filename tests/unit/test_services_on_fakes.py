"""The use cases on the in-memory fakes (`tests/fakes`): what a service decides
(counts, no-op replays, event order, retries), with no database behind the ports.

The same services run on SQLite and PostgreSQL in `tests/integration`; here they run
in milliseconds, so their logic can be tried on many inputs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestry.config import parse_settings
from ingestry.domain.events import EventSettings, RecordEvent
from ingestry.domain.records import record_srn
from ingestry.extract.compiler import Extractor
from ingestry.services.dispatch import EventDispatcher
from ingestry.services.ingest import IngestService
from ingestry.services.outbox import event_writer
from ingestry.services.payloads import PayloadInput
from ingestry.services.ports import RawWindow
from ingestry.services.replay import ReplayService
from ingestry.services.runcontext import IngestSummary, ingest_run
from ingestry.services.writemode import WriteMode
from tests.conftest import TEST_CONFIG
from tests.fakes import MemoryStorage

SETTINGS = parse_settings(TEST_CONFIG, Path("/nowhere/ingestry.yaml"), {})
RAW = SETTINGS.source("customer_orders")
SIMPLE = SETTINGS.source("orders_simple")
ORDER = SETTINGS.convention("order")
T0 = datetime(2026, 12, 1, 10, tzinfo=UTC)


class Clock:
    """A clock that moves only when told (times are inputs, never waited for)."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def order(ident: str, total: str = "10.00", **extra: object) -> bytes:
    doc = {"id": ident, "type": "order", "created_at": "2026-11-01T10:00:00Z",
           "total_price": total, **extra}  # fmt: skip
    return orjson.dumps(doc)


@pytest.fixture
def storage() -> Iterator[MemoryStorage]:
    opened = MemoryStorage()
    opened.prepare(list(SETTINGS.conventions.values()), auto_upgrade=True)
    yield opened


def ingester(storage: MemoryStorage, clock: Clock | None = None) -> IngestService:
    extractors: dict[str, Extractor] = {}

    def extractor_for(source: object) -> Extractor:
        name = source.name  # type: ignore[attr-defined]
        if name not in extractors:
            extractors[name] = Extractor(SETTINGS.source(name), ORDER)
        return extractors[name]

    return IngestService(
        storage, extractor_for, clock=clock or Clock(), batch_size=3, on_changes=event_writer()
    )


def test_ingest_counts_every_payload_once(storage: MemoryStorage) -> None:
    service = ingester(storage)
    payloads = [order("A"), order("B"), order("A"), b"{not json", order("C", total="x"), order("D")]
    summary = service.ingest(RAW, [PayloadInput(payloads, "batch.jsonl")])
    # a raw source keeps every payload's bytes, the malformed ones too (quarantined)
    assert (summary.received, summary.raw_stored, summary.raw_duplicates) == (6, 5, 1)
    assert (summary.records_created, summary.quarantined) == (3, 2)
    again = service.ingest(RAW, [PayloadInput(payloads, "batch.jsonl")])
    assert (again.raw_stored, again.records_created, again.records_updated) == (0, 0, 0)
    assert (again.raw_duplicates, again.records_unchanged) == (6, 3)
    changed = service.ingest(RAW, [PayloadInput([order("A", total="11.00")], "fix.jsonl")])
    assert (changed.raw_stored, changed.records_updated) == (1, 1)
    record = storage.get_record(ORDER, record_srn("order", "harvest", RAW.name, "A"))
    assert record is not None and record.version == 2
    runs = storage.db.tables.runs
    assert [r["status"] for r in runs.values()] == ["succeeded"] * 3
    assert [r["summary"]["records_updated"] for r in runs.values()] == [0, 0, 1]


def test_a_strict_ingest_that_fails_leaves_nothing(storage: MemoryStorage) -> None:
    service = ingester(storage)
    with pytest.raises(Exception, match="line 2"):
        service.ingest(RAW, [PayloadInput([order("A"), b"{bad"], "f.jsonl")], strict=True)
    assert storage.stats({RAW.name: "order"})[RAW.name] == {
        "raw_rows": 0, "records": 0, "quarantined": 0,
    }  # fmt: skip
    assert storage.db.tables.runs == {}


def test_replay_with_an_unchanged_extractor_changes_nothing(storage: MemoryStorage) -> None:
    clock = Clock()
    ingester(storage, clock).ingest(
        RAW, [PayloadInput([order("A"), order("B"), order("A", total="2.00"), b"{x"], "f")]
    )
    before = [storage.get_record(ORDER, record_srn("order", "harvest", RAW.name, i))
              for i in ("A", "B")]  # fmt: skip
    events = storage.lifecycle().pending_events()
    replay = ReplayService(storage, lambda s: Extractor(s, ORDER), clock=clock, batch_size=2,
                           on_changes=event_writer(clock))  # fmt: skip
    clock.advance(60)
    first = replay.replay(RAW, RawWindow(RAW.name))
    second = replay.replay(RAW, RawWindow(RAW.name))
    for summary in (first, second):
        assert (summary.records_created, summary.records_updated) == (0, 0)
        assert (summary.scanned, summary.records_unchanged, summary.superseded) == (4, 2, 1)
    after = [storage.get_record(ORDER, record_srn("order", "harvest", RAW.name, i))
             for i in ("A", "B")]  # fmt: skip
    assert after == before
    assert storage.lifecycle().pending_events() == events


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(st.sampled_from("ABC"), st.sampled_from(["1", "2", "3"])),
            min_size=1,
            max_size=6,
        ),
        min_size=1,
        max_size=4,
    )
)
def test_any_sequence_of_ingests_counts_what_a_model_says(
    runs: list[list[tuple[str, str]]],
) -> None:
    """Records created + updated + unchanged = payloads extracted; the version of each id
    is the number of times its total changed from what the store held."""
    storage = MemoryStorage()
    storage.prepare([ORDER], auto_upgrade=True)
    service = ingester(storage)
    held: dict[str, tuple[str, int]] = {}
    for run in runs:
        summary = service.ingest(SIMPLE, [PayloadInput([order(i, t) for i, t in run], "r")])
        last = dict(run)  # one record per id: the last occurrence wins
        created = sum(i not in held for i in last)
        updated = sum(i in held and held[i][0] != t for i, t in last.items())
        assert (summary.records_created, summary.records_updated) == (created, updated)
        ids = [i for i, _ in run]
        assert summary.duplicate_ids == sum(ids.count(i) > 1 for i in last)  # ids, not rows
        for i, t in last.items():
            version = held[i][1] + (held[i][0] != t) if i in held else 1
            held[i] = (t, version)
    for i, (total, version) in held.items():
        record = storage.get_record(ORDER, record_srn("order", "harvest", SIMPLE.name, i))
        assert record is not None and (str(record.columns["total"]), record.version) == (
            f"{total}", version,
        )  # fmt: skip


def test_events_are_delivered_in_version_order_and_retried(
    storage: MemoryStorage, tmp_path: Path
) -> None:
    clock = Clock()
    service = ingester(storage, clock)
    service.ingest(SIMPLE, [PayloadInput([order("A"), order("B")], "1")])
    service.ingest(SIMPLE, [PayloadInput([order("A", total="5.00")], "2")])
    seen: list[tuple[str, int]] = []
    failing = {"once": True}

    def handler(event: RecordEvent) -> None:
        if event.srn.endswith(":B") and failing.pop("once", False):
            raise RuntimeError("downstream down")
        seen.append((event.srn.rsplit(":", 1)[1], event.version))

    dispatcher = EventDispatcher(
        storage.lifecycle(), [handler], convention=SETTINGS.convention, work_root=tmp_path,
        settings=EventSettings(max_attempts=3, backoff_seconds=10, lease_seconds=60),
        clock=clock, owner="test",
    )  # fmt: skip
    first = dispatcher.run_once()
    assert (first.delivered, first.retried) == (2, 1)
    assert seen == [("A", 1), ("A", 2)]
    assert dispatcher.run_once().claimed == 0  # B waits for its backoff
    clock.advance(11)
    assert dispatcher.run_once().delivered == 1
    assert seen[-1] == ("B", 1)
    assert storage.lifecycle().pending_events() == 0


def test_a_run_is_recorded_failed_unless_it_was_one_transaction(storage: MemoryStorage) -> None:
    clock = Clock()
    failing = IngestSummary(source=RAW.name, run_srn="srn:run:own")
    with pytest.raises(RuntimeError), ingest_run(failing, ["f"], clock, storage=storage):
        failing.received = 7
        raise RuntimeError("boom")
    run = storage.db.tables.runs["srn:run:own"]
    assert (run["status"], run["summary"]["received"], run["origins"]) == ("failed", 7, ["f"])
    alone = IngestSummary(source=RAW.name, run_srn="srn:run:tx")
    with (
        pytest.raises(RuntimeError),
        storage.session() as session,
        ingest_run(alone, ["g"], clock, session=session),
    ):
        raise RuntimeError("boom")
    assert "srn:run:tx" not in storage.db.tables.runs  # rolled back with its batches
    done = IngestSummary(source=RAW.name, run_srn="srn:run:ok")
    with storage.session() as session, ingest_run(done, [], clock, session=session):
        done.received = 1
    assert storage.db.tables.runs["srn:run:ok"]["status"] == "succeeded"


def test_the_write_mode_is_what_the_storage_declares(storage: MemoryStorage) -> None:
    assert WriteMode.of(storage) == WriteMode(encoder=None, offload=None, lanes=None, probe=False)
    assert ingester(storage).mode == WriteMode()  # a bare service asks once, when built
    assert WriteMode(probe=True).rescan(RAW, python_extractor=False).enabled
    assert not WriteMode(probe=True).rescan(SIMPLE, python_extractor=False).enabled
    assert not WriteMode(probe=True).rescan(RAW, python_extractor=True).enabled
    assert not WriteMode().lean().enabled
