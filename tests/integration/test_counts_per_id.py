"""Counts per record id (issue 13, item 6), on every backend and write path.

An id repeated among the payloads of a batch is one record: the last occurrence wins,
`records_created/updated/unchanged` count it once, `duplicate_ids` says how many ids
repeated, and ingesting the same input again reports everything unchanged and moves no
version. Every payload is still a receipt: raw sources keep each one's bytes.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ingestry
from ingestry.adapters.files import open_inputs
from ingestry.adapters.parallel import ProcessMap, fork_available
from ingestry.domain.records import record_srn
from ingestry.services.ingest import IngestService
from ingestry.store import Store
from tests.backends import Database
from tests.integration.test_ingest import order

EXAMPLES = itertools.count()
COUNTS = ("received", "records_created", "records_updated", "records_unchanged")


def counts(summary: ingestry.IngestSummary) -> tuple[int, ...]:
    return (*(getattr(summary, k) for k in COUNTS), summary.duplicate_ids)


def versions(store: Store, source: str) -> dict[str, tuple[int, Any]]:
    return {
        r.source.id: (r.version, r.metadata.get("note"))
        for r in store.records("order")
        if r.data_source == source
    }


def _array_with_repeats(path: Path) -> Path:
    """Ten orders, six of them repeated with other content (the issue's JSON array)."""
    docs = [order(f"J-{i}", note="first") for i in range(10)]
    docs += [order(f"J-{i}", note="second") for i in range(6)]
    docs += [order(f"J-{i}", note="last") for i in range(3)]
    path.write_bytes(orjson.dumps(docs))
    return path


def test_a_repeated_id_in_a_json_array_counts_once_and_the_last_wins(
    store: Store, tmp_path: Path, db: Database
) -> None:
    path = _array_with_repeats(tmp_path / "orders.json")
    first = store.ingest_files("orders_json", [path])
    assert counts(first) == (19, 10, 0, 0, 6)
    state = versions(store, "orders_json")
    assert state == {
        f"J-{i}": (1, "last" if i < 3 else "second" if i < 6 else "first") for i in range(10)
    }
    for _ in range(2):  # failed before: "6 updated" on every run, versions kept moving
        again = store.ingest_files("orders_json", [path])
        assert counts(again) == (19, 0, 0, 10, 6)
        assert versions(store, "orders_json") == state
    assert db.count("record_versions") == 0


@pytest.mark.parametrize("source", ["customer_orders", "orders_simple"])
def test_both_strategies_keep_every_receipt_and_one_record(
    store: Store, db: Database, source: str
) -> None:
    batch = [order("R-1", note="a"), order("R-2"), order("R-1", note="b"), order("R-1", note="c")]
    first = store.ingest(source, batch)
    assert counts(first) == (4, 2, 0, 0, 1)
    assert first.raw_stored == (4 if source == "customer_orders" else 0)
    record = store.get(record_srn("order", "harvest", source, "R-1"))
    assert (record.version, record.metadata["note"]) == (1, "c")
    store.take_in_events()  # every change taken in, as a claim does
    assert db.count("record_events") == 2  # one RecordPublished per record
    changed = store.ingest(source, [order("R-1", note="d"), order("R-1", note="e")])
    assert counts(changed) == (2, 0, 1, 0, 1)
    assert [r.metadata["note"] for r in store.history(record.srn)] == ["c", "e"]
    again = store.ingest(source, [order("R-1", note="d"), order("R-1", note="e")])
    assert counts(again) == (2, 0, 0, 1, 1)
    assert store.get(record.srn).version == 2
    if source == "customer_orders":  # every payload is a receipt, kept raw
        assert len(store.raw("customer_orders", "R-1")) == 5


def test_strict_runs_and_replay_follow_the_same_rule(store: Store) -> None:
    batch = [order("S-1", note="a"), order("S-1", note="b")]
    summary = store.ingest("customer_orders", batch, strict=True)
    assert counts(summary) == (2, 1, 0, 0, 1)
    replayed = store.replay("customer_orders")
    assert (replayed.records_updated, replayed.records_created) == (0, 0)
    record = store.get(record_srn("order", "harvest", "customer_orders", "S-1"))
    assert (record.version, record.metadata["note"]) == (1, "b")


def _fixed_width(path: Path, groups: int, size: int = 4) -> Path:
    """Groups of `size` lines of one id (last content differs), every line the same
    length, so batches of a multiple of `size` lines never split a group (worker
    blocks after the first are cut by bytes)."""
    with path.open("wb") as out:
        for g in range(groups):
            for k in range(size):
                doc = order(f"W-{g:05d}", note=f"n{k}")
                out.write(orjson.dumps(doc) + b"\n")
    return path


@pytest.mark.skipif(not fork_available(), reason="needs os.fork")
@pytest.mark.parametrize("lanes", ["1", "2"])
def test_worker_and_lane_paths(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lanes: str
) -> None:
    """Batches prepared in a worker process (PostgreSQL: encoded COPY rows, lean
    batches) and written on one or two connections count the same."""
    monkeypatch.setenv("INGESTRY_WRITE_LANES", lanes)
    path = _fixed_width(tmp_path / "orders.jsonl", 750)  # 3,000 lines, 6 batches
    with ingestry.open(store.settings) as opened:
        source = opened.source("customer_orders")
        extractor = opened.extractor(source)
        service = IngestService(
            opened.storage, lambda _: extractor, batch_size=500,
            parallel=ProcessMap(1), parallel_threshold=0,
        )  # fmt: skip

        def run() -> tuple[int, ...]:
            return counts(service.ingest(source, open_inputs([str(path)], source.format)))

        assert run() == (3000, 750, 0, 0, 750)
        state = versions(opened, "customer_orders")
        assert set(state.values()) == {(1, "n3")}
        assert run() == (3000, 0, 0, 750, 750)
        assert versions(opened, "customer_orders") == state


@settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.tuples(st.sampled_from(["A", "B", "C", "D"]), st.sampled_from(["x", "y", "z"])),
        min_size=1,
        max_size=12,
    )
)
def test_any_sequence_of_payloads_last_wins_and_again_changes_nothing(
    config_path: Path, payloads: list[tuple[str, str]]
) -> None:
    """Any sequence of payloads (ids repeated anywhere, with any content), ingested in
    one batch on a fresh source: one record per id holding its last content; the same
    input again changes nothing."""
    example = next(EXAMPLES)  # ids of their own in every example
    payloads = [(f"{example}-{i}", n) for i, n in payloads]
    with ingestry.open(config_path) as store:
        batch = [order(i, note=n) for i, n in payloads]
        last = dict(payloads)
        repeated = sum(1 for i in last if [p[0] for p in payloads].count(i) > 1)
        first = store.ingest("orders_simple", batch)
        assert counts(first) == (len(payloads), len(last), 0, 0, repeated)
        mine = {k: v for k, v in versions(store, "orders_simple").items() if k in last}
        assert mine == {i: (1, n) for i, n in last.items()}
        again = store.ingest("orders_simple", batch)
        assert counts(again) == (len(payloads), 0, 0, len(last), repeated)
        assert {k: v for k, v in versions(store, "orders_simple").items() if k in last} == mine


def test_bulk_publish_counts_each_id_once(store: Store) -> None:
    items = [({"type": "deposition", "id": "P-1"}, {**order("P-1"), "note": n}) for n in "abc"]
    summary = store.bulk_publish("order", items)
    assert (summary.created, summary.updated, summary.duplicate_ids) == (1, 0, 1)
    record = store.get(record_srn("order", "deposition", "", "P-1"))
    assert (record.version, record.metadata["note"]) == (1, "c")


def _in_batches_of_3(
    store: Store, tmp_path: Path, docs: list[dict[str, Any]], name: str = "customer_orders"
) -> tuple[int, ...]:
    path = tmp_path / "orders.jsonl"
    path.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in docs))
    source = store.source(name)
    extractor = store.extractor(source)
    service = IngestService(store.storage, lambda _: extractor, batch_size=3)
    return counts(service.ingest(source, open_inputs([str(path)], source.format)))


def test_a_repeat_in_the_next_batch_is_superseded_too(store: Store, tmp_path: Path) -> None:
    """However the input is cut into batches (inline: by count; workers: by bytes), an
    id repeated in the next batch is one record from its last occurrence."""
    docs = [order("A", note="a"), order("B"), order("C"),
            order("A", note="b"), order("D"), order("A", note="c"),
            order("E"), order("A", note="d")]  # fmt: skip
    assert _in_batches_of_3(store, tmp_path, docs) == (8, 5, 0, 0, 1)
    state = versions(store, "customer_orders")
    assert state["A"] == (1, "d")
    assert _in_batches_of_3(store, tmp_path, docs) == (8, 0, 0, 5, 1)
    assert versions(store, "customer_orders") == state


@pytest.mark.parametrize("source", ["customer_orders", "orders_simple"])
def test_repeats_further_apart_change_nothing_when_ingested_again(
    store: Store, tmp_path: Path, source: str
) -> None:
    """An occurrence two batches later: the first run writes it batch by batch (it
    cannot know yet), notices it, and every later run of the source defers that id to
    its last occurrence: an identical re-ingest is all unchanged, no version moves
    (failed before: A moved to v3, v4, ... on every run)."""
    docs = [order("A", note="a"), order("B"), order("C"),
            order("D"), order("E"), order("F"),
            order("A", note="b")]  # fmt: skip
    assert _in_batches_of_3(store, tmp_path, docs, source) == (7, 6, 1, 0, 0)
    state = versions(store, source)
    assert state["A"] == (2, "b")
    for _ in range(2):
        assert _in_batches_of_3(store, tmp_path, docs, source) == (7, 0, 0, 6, 0)
        assert versions(store, source) == state
    # the deferred id's later occurrence gone: its only occurrence writes it, at the end
    assert _in_batches_of_3(store, tmp_path, docs[:-1], source) == (6, 0, 1, 5, 0)
    assert versions(store, source)["A"] == (3, "a")
    assert _in_batches_of_3(store, tmp_path, docs[:-1], source) == (6, 0, 0, 6, 0)
    assert versions(store, source)["A"] == (3, "a")


def test_far_apart_repeats_in_a_json_array_change_nothing_again(
    store: Store, tmp_path: Path
) -> None:
    """A JSON document is written in one transaction, batch by batch: the same rule."""
    docs = [order(f"J-{i}", note="first") for i in range(4)]
    docs += [order(f"K-{i}") for i in range(6)]
    docs += [order(f"J-{i}", note="last") for i in range(2)]
    path = tmp_path / "orders.json"
    path.write_bytes(orjson.dumps(docs))
    source = store.source("orders_json")
    extractor = store.extractor(source)
    service = IngestService(store.storage, lambda _: extractor, batch_size=3)

    def run() -> tuple[int, ...]:
        return counts(service.ingest(source, open_inputs([str(path)], source.format)))

    assert run() == (12, 10, 2, 0, 0)
    state = versions(store, "orders_json")
    assert state["J-0"] == (2, "last") and state["J-3"] == (1, "first")
    assert run() == (12, 0, 0, 10, 0)
    assert versions(store, "orders_json") == state


@pytest.mark.skipif(not fork_available(), reason="needs os.fork")
@pytest.mark.parametrize("lanes", ["1", "2"])
def test_far_apart_repeats_with_workers_and_lanes(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lanes: str
) -> None:
    """Batches prepared in a worker process (lean batches on PostgreSQL, the rows left
    in the worker) and written on one or two connections: a re-ingest of a file whose
    ids come again thousands of lines later changes nothing either, and a re-ingest
    after the file changed writes each changed id once."""
    monkeypatch.setenv("INGESTRY_WRITE_LANES", lanes)

    def write(notes: dict[int, str]) -> Path:
        path = tmp_path / "orders.jsonl"
        with path.open("wb") as out:
            for g in range(3000):
                out.write(orjson.dumps(order(f"W-{g:05d}", note="n")) + b"\n")
            for g in range(0, 3000, 30):  # 100 ids again, 2,000 to 3,000 lines later
                out.write(orjson.dumps(order(f"W-{g:05d}", note=notes.get(g, "z"))) + b"\n")
        return path

    with ingestry.open(store.settings) as opened:
        source = opened.source("customer_orders")
        extractor = opened.extractor(source)
        service = IngestService(
            opened.storage, lambda _: extractor, batch_size=500,
            parallel=ProcessMap(1), parallel_threshold=0, mode=opened.write_mode,
        )  # fmt: skip

        def run(path: Path) -> tuple[int, ...]:
            return counts(service.ingest(source, open_inputs([str(path)], source.format)))

        path = write({})
        first = run(path)  # a repeat in the next batch (blocks cut by bytes) is one write
        assert first[:2] == (3100, 3000) and 0 < first[2] <= 100 and first[3] == 0
        state = versions(opened, "customer_orders")
        assert state["W-00030"] == (2, "z") and state["W-00031"] == (1, "n")
        assert {state[f"W-{g:05d}"][1] for g in range(0, 3000, 30)} == {"z"}
        for _ in range(2):
            assert run(path)[:4] == (3100, 0, 0, 3000)
            assert versions(opened, "customer_orders") == state
        path = write({0: "changed", 60: "n"})
        assert run(path)[:4] == (3100, 0, 2, 2998)
        after = versions(opened, "customer_orders")
        assert after["W-00000"] == (3, "changed") and after["W-00060"] == (3, "n")
        assert {k: v for k, v in after.items() if k not in ("W-00000", "W-00060")} == {
            k: v for k, v in state.items() if k not in ("W-00000", "W-00060")
        }
