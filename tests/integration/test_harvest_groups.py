"""A harvest commits the pages already fetched together (services.harvest `_groups`):
what it stores, counts and keeps after a failure is what page-by-page commits would
leave, on both backends (PostgreSQL writes groups on its write lanes)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

import ingestry
from ingestry.domain.harvest import HarvestError
from ingestry.store import Store
from tests.backends import Database
from tests.conftest import DEFAULT_SQLITE
from tests.harvest_upstream import Upstream, make_items, serve
from tests.integration.harvest_support import (
    PAGINATORS,
    as_json,
    records,
    source_yaml,
    write_config,
)

PAGES = 12  # 120 items in pages of 10: 12 requests


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with serve(Upstream(items=make_items(10 * PAGES), page_size=10)) as up:
        yield up


def open_with(tmp_path: Path, db: Database, up: Upstream, extra: str = "") -> Store:
    path, paginator, items = PAGINATORS["link"]
    url = db.url if db.kind == "postgres" else DEFAULT_SQLITE
    sources = source_yaml("api", up.url + path, paginator, items, extra=extra)
    return ingestry.open(write_config(tmp_path, url, sources))


class SlowFirstCommit:
    """A progress callback that holds the writer after the first commit until the
    fetching thread has fetched `until` requests, so the next ones wait in a group."""

    def __init__(self, up: Upstream, until: int) -> None:
        self.up = up
        self.until = until
        self.calls: list[tuple[int, int, int]] = []

    def __call__(self, pages: int, items: int, requests: int) -> None:
        if not self.calls:
            deadline = time.monotonic() + 10
            while len(self.up.requests) < self.until and time.monotonic() < deadline:
                time.sleep(0.01)
        self.calls.append((pages, items, requests))


def test_pages_fetched_ahead_commit_together_and_keep_every_page_row(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    slow = SlowFirstCommit(upstream, PAGES)
    with open_with(tmp_path, db, upstream, "cursor: {field: updated_at, param: since}") as store:
        summary = store.harvest("api", progress=slow)
        assert records(store) == as_json(upstream.items)
        pages = store.harvest_pages("api", summary.run_srn)
        assert store.harvest_cursor("api") == max(i["updated_at"] for i in upstream.items)
    # the writer took the waiting pages in fewer transactions than pages
    assert len(slow.calls) < PAGES
    assert slow.calls[-1][:2] == (summary.pages, 10 * PAGES)
    assert summary.records_created == summary.received == 10 * PAGES
    # one row per response, in the order they were received, each with its bytes
    assert [p.seq for p in pages] == list(range(1, len(pages) + 1))
    assert len(pages) == summary.requests == summary.pages
    assert summary.bytes == sum(len(p.body) for p in pages)


def test_a_second_grouped_run_changes_nothing(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    with open_with(tmp_path, db, upstream) as store:
        store.harvest("api", progress=SlowFirstCommit(upstream, PAGES))
        upstream.requests.clear()
        again = store.harvest("api", progress=SlowFirstCommit(upstream, PAGES))
        assert records(store) == as_json(upstream.items)
    assert again.records_created == again.records_updated == 0
    # every page a 304 but the last, asked in full (a Link-header source: its Link
    # header is not what the ETag covers), its items unchanged
    assert again.not_modified == again.requests - 1 and again.received == 10


def test_duplicates_across_grouped_pages_are_one_record(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    """Pages whose ids meet are written one after the other (not on two lanes)."""
    upstream.fault("dupe", 2)
    upstream.fault("dupe", 5)
    with open_with(tmp_path, db, upstream) as store:
        summary = store.harvest("api", progress=SlowFirstCommit(upstream, PAGES))
        assert records(store) == as_json(upstream.items)
    assert summary.received == 10 * PAGES + 2
    assert summary.records_created == 10 * PAGES and summary.records_unchanged == 2


def test_a_failure_after_grouped_pages_keeps_them_committed(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    upstream.fault("500", 9, times=100)
    extra = "max_retries: 2\ncursor: {field: updated_at, param: since}"
    slow = SlowFirstCommit(upstream, 9 + 2)  # page 9 and its two retries
    with open_with(tmp_path, db, upstream, extra) as store:
        with pytest.raises(HarvestError, match="retry budget of 2 spent"):
            store.harvest("api", progress=slow)
        assert len(records(store)) == 80  # pages 1 to 8 committed
        assert [p.seq for p in store.harvest_pages("api")] == list(range(1, 9))
        assert store.harvest_cursor("api") is None
        upstream.faults.clear()
        summary = store.harvest("api")
        assert records(store) == as_json(upstream.items)
    assert summary.not_modified == 8 and summary.records_created == 10 * (PAGES - 8)


def test_a_quarantined_page_after_grouped_pages(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    path, paginator, items = PAGINATORS["jsonlink"]
    url = db.url if db.kind == "postgres" else DEFAULT_SQLITE
    upstream.fault("badjson", 6)
    sources = source_yaml("api", upstream.url + path, paginator, items)
    with ingestry.open(write_config(tmp_path, url, sources)) as store:
        with pytest.raises(HarvestError, match="not JSON"):
            store.harvest("api", progress=SlowFirstCommit(upstream, 6))
        assert len(records(store)) == 50
        pages = store.harvest_pages("api")
        (entry,) = store.quarantine("api")
    assert [p.seq for p in pages] == [1, 2, 3, 4, 5, 6]
    assert pages[-1].error and "not JSON" in pages[-1].error
    assert entry.payload == pages[-1].body


@pytest.mark.parametrize("workers", ["0", "1"])
def test_pages_prepared_inline_or_in_worker_processes_give_the_same_store(
    tmp_path: Path, db: Database, upstream: Upstream, workers: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """INGESTRY_WORKERS=0 prepares pages on the fetching thread, otherwise worker
    processes do (services.pullprep): the same records, raw payloads and page rows."""
    monkeypatch.setenv("INGESTRY_WORKERS", workers)
    upstream.fault("dupe", 3)
    with open_with(tmp_path, db, upstream) as store:
        summary = store.harvest("api", progress=SlowFirstCommit(upstream, PAGES))
        assert records(store) == as_json(upstream.items)
        item = upstream.items[25]
        (shown,) = store.raw("api", item["id"])
        pages = store.harvest_pages("api", summary.run_srn)
        again = store.harvest("api")
    assert summary.received == 10 * PAGES + 1
    assert summary.raw_stored == 10 * PAGES and summary.raw_duplicates == 1
    assert summary.records_created == 10 * PAGES and summary.records_unchanged == 1
    assert shown.payload == orjson.dumps(item) and shown.last_run_srn == summary.run_srn
    assert [p.seq for p in pages] == list(range(1, PAGES + 1))
    # page 3 comes without its repeated item now: new bytes, the same records; the
    # last page is asked in full (a Link-header source's kept last page)
    assert again.not_modified == PAGES - 2 and again.records_created == again.records_updated == 0


def test_worker_processes_prepare_the_pages_while_the_writer_is_held(
    tmp_path: Path, db: Database, upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The preparing thread drives the worker map (services.pullprep): with the writer
    held after its first commit, every page fetched gets prepared, not only the map's
    look-ahead of two (the writer used to drive it, so it found the rest unprepared)."""
    from ingestry.services import pullprep

    monkeypatch.setenv("INGESTRY_WORKERS", "1")
    made: list[pullprep.PullPreparer] = []
    real_init = pullprep.PullPreparer.__init__

    def init(self: pullprep.PullPreparer, *args: object) -> None:
        real_init(self, *args)  # type: ignore[arg-type]
        made.append(self)

    monkeypatch.setattr(pullprep.PullPreparer, "__init__", init)
    seen: list[tuple[int, int]] = []

    def held(pages: int, items: int, requests: int) -> None:
        if not seen:  # the writer waits here until the rest is prepared (or 30 s pass)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                ready, waiting = made[0].ready()
                # SQLite's one writer has taken nothing past its first group yet
                rest = PAGES - pages if db.kind == "sqlite" else waiting
                if len(upstream.requests) >= PAGES and ready == waiting == rest:
                    break
                time.sleep(0.01)
            seen.append((pages, *made[0].ready()))

    with open_with(tmp_path, db, upstream) as store:
        summary = store.harvest("api", progress=held)
        assert records(store) == as_json(upstream.items)
    ((first, ready, waiting),) = seen
    assert ready == waiting
    if db.kind == "sqlite":  # one writer: what it has not taken is all the rest
        assert waiting == PAGES - first > 2
    assert summary.pages == PAGES


def test_a_writer_waiting_for_its_page_leaves_every_page_to_the_workers(
    tmp_path: Path, db: Database, upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """services.pullprep: the worker map is held on its first page until every page is
    fetched; the writer, waiting for that page, prepares none itself (it used to
    prepare the latest queued pages, which cost the writer more than it saved): every
    page goes through the map, with what the workers do for the writer. The store is
    the same as ever, each page once."""
    import threading

    from ingestry.services import pullprep

    monkeypatch.setenv("INGESTRY_WORKERS", "1")
    gate = threading.Event()
    mapped: list[str] = []  # the pages' URLs the worker map was given
    made: list[pullprep.PullPreparer] = []
    real_init = pullprep.PullPreparer.__init__

    def init(self: pullprep.PullPreparer, source: Any, prep: Any, parallel: Any) -> None:
        def held(fn: Any, works: Any) -> Any:
            def counted() -> Any:
                for work in works:
                    if work[2]:
                        mapped.append(work[2])
                    yield work

            for n, batch in enumerate(parallel(fn, counted())):
                if n == 0:
                    gate.wait(30)
                yield batch

        real_init(self, source, prep, held)
        made.append(self)

    monkeypatch.setattr(pullprep.PullPreparer, "__init__", init)

    def opener() -> None:  # opens the gate once every page is fetched
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not gate.is_set():
            if made and len(upstream.requests) >= PAGES and made[0].ready()[1] >= 2:
                time.sleep(0.2)  # the writer waits in `take` meanwhile
                break
            time.sleep(0.01)
        gate.set()

    watcher = threading.Thread(target=opener)
    watcher.start()
    try:
        with open_with(tmp_path, db, upstream) as store:
            summary = store.harvest("api")
            assert records(store) == as_json(upstream.items)
            pages = store.harvest_pages("api", summary.run_srn)
    finally:
        gate.set()
        watcher.join()
    assert summary.pages == PAGES and summary.records_created == 10 * PAGES
    assert [p.seq for p in pages] == list(range(1, PAGES + 1))
    assert len(mapped) == PAGES  # the writer prepared none
    # the workers take work off the writer (SQLite: images; PostgreSQL: COPY rows)
    assert made[0].prep.encode is not None
