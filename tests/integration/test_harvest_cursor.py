"""Incremental cursors whose values a float cannot hold: integers wider than 64 bits,
one near 2**63, decimals spelled as strings. The mark is stored, compared and sent as
the exact text of the value (review of issue 18: it went through a float), on both
backends, against the real test upstream."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

import ingestry
from ingestry.domain.harvest import HarvestError
from ingestry.services.worker import JobInterruptedError
from ingestry.store import Store
from tests.backends import Database
from tests.conftest import DEFAULT_SQLITE
from tests.harvest_upstream import Upstream, make_items, serve
from tests.integration.harvest_support import PAGINATORS, records, source_yaml, write_config

WIDE = 123456789012345678901234567
NEAR_2_63 = 2**63 - 6  # crosses 2**63 within the run (and 2**64 - 1 is u64's last)


def _items(cursors: list[Any], start: int = 1) -> list[dict[str, Any]]:
    items = make_items(len(cursors), start=start)
    for item, value in zip(items, cursors, strict=True):
        item["updated_at"] = value
    return items


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with serve(Upstream(page_size=10)) as up:
        yield up


def _store(
    tmp_path: Path,
    db: Database,
    up: Upstream,
    extra: str = "cursor: {field: updated_at, param: since}",
) -> Store:
    path, paginator, items = PAGINATORS["jsonlink"]
    url = db.url if db.kind == "postgres" else DEFAULT_SQLITE
    config = "conventions:\n  item:\n    columns:\n      name: {path: name, type: text}\n"
    sources = source_yaml("api", up.url + path, paginator, items, extra=extra)
    written = write_config(tmp_path, url, sources)
    text = written.read_text().split("conventions:")[0] + config + "sources:\n" + sources
    written.write_text(text)
    return ingestry.open(written)


CASES = {
    "wider than 64 bits": ([WIDE + n for n in range(15)], [WIDE + 100 + n for n in range(3)]),
    "near 2**63": (
        [NEAR_2_63 + n for n in range(15)],
        [2**64 - 1, 2**64, 2**64 + 1],  # u64's last, then past it
    ),
    "decimal strings": (
        [f"{WIDE}.{n:06d}" for n in range(1, 16)],
        [f"{WIDE}.{n:06d}" for n in range(100, 103)],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_cursor_is_kept_compared_and_sent_exactly(
    tmp_path: Path, db: Database, upstream: Upstream, case: str
) -> None:
    first, later = CASES[case]
    upstream.items = _items(list(first))
    with _store(tmp_path, db, upstream) as store:
        summary = store.harvest("api")
        mark = store.harvest_cursor("api")
        assert mark == str(max(first)) == summary.cursor
        upstream.items += _items(list(later), start=100)
        upstream.requests.clear()
        again = store.harvest("api")
        assert store.harvest_cursor("api") == str(max(later)) == again.cursor
        assert len(records(store)) == 18
    assert f"since={quote(str(max(first)))}" in upstream.requests[0]
    assert again.received == 3 and again.records_created == 3


def test_a_run_of_items_at_the_mark_or_below_keeps_it(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    """The upstream resends items at and just below the mark (a float of the mark lies
    below both): exact comparison keeps the mark where it is."""
    upstream.items = _items([WIDE - 2, WIDE - 1, WIDE])
    with _store(tmp_path, db, upstream) as store:
        store.harvest("api")
        assert store.harvest_cursor("api") == str(WIDE)
        upstream.items = _items([WIDE - 1, WIDE], start=50)
        upstream.ignore_since = True  # a careless upstream sends them again
        summary = store.harvest("api")
        assert store.harvest_cursor("api") == str(WIDE) == summary.cursor


def test_a_run_whose_lease_is_no_longer_live_never_sets_the_cursor(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    """A worker stopped past its lease (its job taken over) may still finish its run
    when it continues, before its heartbeat notices: the cursor write itself checks the
    lease, so the run cannot move the mark the new owner set (it moved back before:
    tests/reliability/test_worker_stopped_harvest.py, one run in many)."""
    upstream.items = _items(list(range(1, 6)))
    with _store(tmp_path, db, upstream) as store:
        store.jobs().submit("harvest", {"source": "api"})
        claimed = store.control.jobs.claim("live-worker", 60.0, time.time())
        assert claimed is not None and claimed.lease_owner is not None
        store.harvest("api", owner=claimed.lease_owner)  # a live lease: the mark moves
        assert store.harvest_cursor("api") == "5"
        upstream.items += _items(list(range(6, 9)), start=50)
        with pytest.raises(JobInterruptedError, match="lease"):
            store.harvest("api", owner="stopped-worker")  # its lease was taken over
        assert store.harvest_cursor("api") == "5"
        assert len(records(store)) == 8  # what the run committed stays


def test_a_lookback_asks_again_for_items_made_visible_late(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    """An item stamped 5 s before the mark that the upstream shows only after the run
    (a long transaction upstream): without a lookback the next run asks `since=MARK`
    and never sees it. With `lookback: 10` it asks 10 s earlier, takes the late item,
    finds the 10 items it already had unchanged, and the mark does not move back."""
    upstream.items = make_items(35)
    late = {**make_items(1, start=900)[0], "updated_at": "2026-01-01T00:00:30.000000Z"}
    for lookback, created in ((0, 0), (10, 1)):
        extra = f"cursor: {{field: updated_at, param: since, lookback: {lookback}}}"
        home = tmp_path / f"lookback-{lookback}"
        home.mkdir()
        with _store(home, db, upstream, extra) as store:
            store.harvest("api")
            mark = store.harvest_cursor("api")
            upstream.items.append(late)
            upstream.requests.clear()
            summary = store.harvest("api")
            assert store.harvest_cursor("api") == mark == "2026-01-01T00:00:35.000035Z"
            assert ("it-900" in records(store)) is bool(created)
        upstream.items.remove(late)
        sent = "2026-01-01T00:00:25.000035Z" if lookback else mark
        assert f"since={quote(sent)}" in upstream.requests[0]
        assert summary.records_created == created
        assert summary.records_unchanged == (10 if lookback else 0)


def test_a_lookback_on_a_mark_that_cannot_move_back_stops_the_run(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    upstream.items = _items(["tok-a", "tok-b"])
    extra = "cursor: {field: updated_at, param: since, lookback: 5}"
    with _store(tmp_path, db, upstream, extra) as store:
        store.harvest("api")
        with pytest.raises(
            HarvestError, match="lookback needs a mark that is a number or a timestamp"
        ):
            store.harvest("api")
        assert store.harvest_cursor("api") == "tok-b"
