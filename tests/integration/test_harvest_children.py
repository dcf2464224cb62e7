"""Child resources (`pull.for_each`, docs/harvest.md "Child resources"): one list per
record of a parent source, on both backends, against a real HTTP upstream that serves
each parent's items under `/children/{parent}`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from ingestry.domain.errors import ConfigError
from ingestry.domain.harvest import HarvestError
from ingestry.store import Store
from tests.backends import Database
from tests.harvest_upstream import Upstream, make_items, serve
from tests.integration.harvest_support import (
    as_json,
    open_with,
    records,
    source_yaml,
)

EACH = "for_each: {source: repos, field: name}"


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    # four parents named "item 1".."item 4"; the fourth is gone upstream (404)
    with serve(Upstream(items=make_items(4), page_size=10)) as up:
        up.children = {
            "item 1": make_items(25, start=100),
            "item 2": make_items(5, start=200),
            "item 3": [],
        }
        yield up


def project(
    tmp_path: Path, db: Database, up: Upstream, extra: str = EACH, field: str = "name"
) -> Store:
    sources = source_yaml("repos", up.url + "/link", "{type: link_header}", None)
    child = up.url + "/children/{" + field + "}"
    sources += source_yaml("issues", child, "{type: link_header}", None, extra=extra)
    return open_with(tmp_path, db, sources)


def expected(up: Upstream) -> dict[str, dict[str, object]]:
    return as_json([item for items in up.children.values() for item in items])


@pytest.mark.parametrize("concurrency", [1, 4])
def test_every_parents_list_is_walked_once(
    tmp_path: Path, db: Database, upstream: Upstream, concurrency: int
) -> None:
    with project(tmp_path, db, upstream, f"{EACH}\nconcurrency: {concurrency}") as store:
        store.harvest("repos")
        upstream.requests.clear()
        summary = store.harvest("issues")
        assert records(store, "issues") == expected(upstream)
        kept = store.harvest_pages("issues", summary.run_srn)
    # item 1: pages of 10, 10, 5; item 2: one page; item 3: one empty page; item 4: 404
    assert (summary.pages, summary.parents_missing, summary.records_created) == (5, 1, 30)
    assert [p.seq for p in kept] == [1, 2, 3, 4, 5]
    firsts = [p for p in upstream.requests if "page=" not in p]
    assert firsts == [f"/children/item%20{n}" for n in (1, 2, 3, 4)]  # in the parents' order
    if concurrency == 1:
        assert summary.requests == 6


def test_a_second_run_finds_every_page_unchanged(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    with project(tmp_path, db, upstream) as store:
        store.harvest("repos")
        store.harvest("issues")
        upstream.children["item 2"] = make_items(6, start=200)  # one new item
        again = store.harvest("issues")
        assert records(store, "issues") == expected(upstream)
    # item 1's first two pages 304; each list's last page asked in full (a Link-header
    # source: its Link header is not what the ETag covers), item 2's with the new item
    assert again.not_modified == 2 and again.pages == 3
    assert (again.records_created, again.records_updated) == (1, 0)


def test_no_parents_yet_is_an_empty_run(tmp_path: Path, db: Database, upstream: Upstream) -> None:
    with project(tmp_path, db, upstream) as store:
        summary = store.harvest("issues")
    assert (summary.pages, summary.requests, summary.received) == (0, 0, 0)


def test_a_page_not_as_expected_ends_the_run_not_only_its_parent(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    """Item 1's third page is not JSON: it is quarantined and the run stops there, with
    item 1's first two pages committed; the parents after it are not asked for."""
    with project(tmp_path, db, upstream) as store:
        store.harvest("repos")
        upstream.requests.clear()
        upstream.fault("badjson", 3)
        with pytest.raises(HarvestError, match="not JSON"):
            store.harvest("issues")
        assert len(records(store, "issues")) == 20
        assert len(store.quarantine("issues")) == 1
    assert not any("item%202" in p for p in upstream.requests)


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ("for_each: {source: nowhere, field: name}", "'nowhere' is not another source"),
        ("for_each: {source: issues, field: name}", "'issues' is not another source"),
        ("for_each: {source: repos, field: size}", "'size' is not a column of item"),
        ("for_each: {source: repos, field: amount}", r"the url needs \{amount\}"),
    ],
)
def test_config_checks(
    tmp_path: Path, db: Database, upstream: Upstream, extra: str, words: str
) -> None:
    field = "size" if "size" in extra else "name"
    with pytest.raises(ConfigError, match=words):
        project(tmp_path, db, upstream, extra, field)


def test_each_parent_keeps_its_own_mark(tmp_path: Path, db: Database, upstream: Upstream) -> None:
    """Item 1's new items are stamped before item 2's newest: one mark for the run
    (item 2's) would skip them for good. Each parent sends its own mark, and a parent
    the run did not reach keeps its mark."""
    extra = f"{EACH}\ncursor: {{field: updated_at, param: since}}"
    with project(tmp_path, db, upstream, extra) as store:
        store.harvest("repos")
        store.harvest("issues")
        marks = json.loads(store.harvest_cursor("issues") or "{}")
        assert marks == {
            "item 1": upstream.children["item 1"][-1]["updated_at"],
            "item 2": upstream.children["item 2"][-1]["updated_at"],
        }  # item 3 listed nothing, item 4 is gone: no mark
        late = make_items(2, start=125)  # after item 1's mark, before item 2's
        upstream.children["item 1"] += late
        upstream.requests.clear()
        again = store.harvest("issues")
        assert records(store, "issues") == expected(upstream)
        assert (
            json.loads(store.harvest_cursor("issues") or "{}")["item 1"] == late[-1]["updated_at"]
        )
    assert again.records_created == 2
    sent = [p for p in upstream.requests if p.startswith("/children/item%201")]
    assert sent == [f"/children/item%201?since={quote(marks['item 1'])}"]


def test_a_parent_gone_from_the_parent_source_takes_its_mark_with_it(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    """Before, the marks kept a key for every parent ever walked: a child resource of
    a parent list that turns over grew its kept cursor for good."""
    extra = f"{EACH}\ncursor: {{field: updated_at, param: since}}"
    with project(tmp_path, db, upstream, extra) as store:
        store.harvest("repos")
        store.harvest("issues")
        assert set(json.loads(store.harvest_cursor("issues") or "{}")) == {"item 1", "item 2"}
        gone = store.srn_of("repos", "it-2")  # the record whose name is "item 2"
        store.delete(gone, reason="repository archived")
        store.harvest("issues")
        marks = json.loads(store.harvest_cursor("issues") or "{}")
    assert set(marks) == {"item 1"}
    assert marks["item 1"] == upstream.children["item 1"][-1]["updated_at"]
