"""`ingestry harvest`: every paginator, faults, ETags, cursors, on both backends, against
a real HTTP upstream on 127.0.0.1 (tests/harvest_upstream.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestry.domain.errors import ConfigError
from ingestry.domain.harvest import HarvestError, RepeatedPageError
from tests.backends import Database
from tests.harvest_upstream import Upstream, make_items, serve
from tests.integration.harvest_support import (
    PAGINATORS,
    as_json,
    one_source,
    open_with,
    records,
    source_yaml,
)


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with serve(Upstream(items=make_items(35), page_size=10)) as up:
        yield up


@pytest.mark.parametrize("kind", sorted(PAGINATORS))
def test_every_paginator_takes_every_item_once(
    tmp_path: Path, db: Database, upstream: Upstream, kind: str
) -> None:
    with one_source(tmp_path, db, upstream, kind) as store:
        summary = store.harvest("api")
        assert records(store) == as_json(upstream.items)
        pages = store.harvest_pages("api", summary.run_srn)
    assert summary.records_created == 35 and summary.received == 35
    assert summary.run_srn.startswith("srn:ingestry:pull-run:")
    assert summary.pages == len([p for p in pages if p.status == 200])
    assert summary.pages >= 4  # 35 items in pages of 10 (an empty last page for some)
    assert summary.requests == summary.pages and summary.retries == 0
    assert summary.bytes == sum(len(p.body) for p in pages)
    assert all(p.headers.get("etag") and p.headers.get("content-type") for p in pages)
    assert all(p.headers.get("x-ratelimit-remaining") == "99" for p in pages)


def test_raw_show_gives_the_items_bytes_and_the_receipt_names_the_page(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    with one_source(tmp_path, db, upstream, "jsonlink") as store:
        summary = store.harvest("api")
        shown = store.raw("api", "it-12")
        page_urls = {p.url for p in store.harvest_pages("api", summary.run_srn)}
    latest = shown[-1]
    item = b'{"id":"it-12","updated_at":"2026-01-01T00:00:12.000012Z","name":"item 12",'
    assert latest.payload == item + b'"amount":36}'  # the item's bytes, not the page's
    assert latest.last_origin in page_urls and "page=2" in str(latest.last_origin)
    assert latest.last_run_srn == summary.run_srn


def test_an_items_line_is_its_position_in_the_page(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    """docs/harvest.md: a receipt's `line` is the item's position in its page (a page
    of compact JSON is one text line: every item said line 1 before). Consecutive items
    then share receipt spans: a page of 10 items is one receipt row, not 10."""
    with one_source(tmp_path, db, upstream, "jsonlink") as store:
        store.harvest("api")
        shown = {i: store.raw("api", f"it-{i}")[-1] for i in (1, 10, 12, 35)}
    assert {i: r.line for i, r in shown.items()} == {1: 1, 10: 10, 12: 2, 35: 5}
    assert {i: r.last_line for i, r in shown.items()} == {1: 1, 10: 10, 12: 2, 35: 5}
    assert db.count("raw_receipts") == 4  # one span per page of 10, 10, 10 and 5


def test_a_second_run_over_the_same_content_changes_nothing(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    with one_source(tmp_path, db, upstream, "cursor") as store:
        first = store.harvest("api")
        before = {r.srn: (r.version, r.source) for r in store.records("item")}
        second = store.harvest("api")
        after = {r.srn: (r.version, r.source) for r in store.records("item")}
    assert first.records_created == 35
    assert second.records_created == second.records_updated == 0
    assert after == before  # not even the harvest_run_srn moved
    # the upstream gives ETags: every page came back 304, the stored bytes reused
    assert second.not_modified == second.requests and second.pages == 0
    assert any("If-None-Match" for _ in upstream.requests)


@pytest.mark.parametrize("kind", sorted(PAGINATORS))
def test_items_added_past_an_unchanged_full_last_page_are_taken(
    tmp_path: Path, db: Database, upstream: Upstream, kind: str
) -> None:
    """40 items, pages of 10: the last page is full. Five more make a page after it,
    while the page before stays byte for byte the same (304). A Link header is not
    part of what the ETag covers: before, a 304 of that page reused the kept page's
    Link header, which named no next page, and the run ended without the new items,
    every run after (found by the pulled-source state machine)."""
    upstream.items = make_items(40)
    with one_source(tmp_path, db, upstream, kind) as store:
        store.harvest("api")
        upstream.items += make_items(5, start=41)
        again = store.harvest("api")
        assert records(store) == as_json(upstream.items)
    assert again.records_created == 5


def test_changed_items_are_new_versions(tmp_path: Path, db: Database, upstream: Upstream) -> None:
    with one_source(tmp_path, db, upstream, "offset") as store:
        store.harvest("api")
        upstream.items[3] = upstream.items[3] | {"name": "renamed"}
        summary = store.harvest("api")
        assert records(store)["it-4"]["name"] == "renamed"
    assert summary.records_updated == 1 and summary.records_created == 0


def test_simple_source_keeps_no_raw_rows(tmp_path: Path, db: Database, upstream: Upstream) -> None:
    with one_source(tmp_path, db, upstream, "pages", strategy="simple") as store:
        summary = store.harvest("api")
        assert len(records(store)) == 35
    assert summary.raw_stored == 0
    assert db.count("raw_payloads") == 0
    assert db.count("harvest_pages") == summary.pages + 0  # the responses are kept


@pytest.mark.parametrize("fault", ["429", "503", "500", "slow", "truncate"])
def test_transient_faults_are_retried(
    tmp_path: Path, db: Database, upstream: Upstream, fault: str
) -> None:
    upstream.slow_seconds = 1.5  # past the 1 s timeout
    upstream.fault(fault, 2, times=2)
    with one_source(tmp_path, db, upstream, "link") as store:
        summary = store.harvest("api")
        assert records(store) == as_json(upstream.items)
    assert summary.retries == 2
    assert summary.requests == summary.pages + 2


def test_retry_after_as_http_date(tmp_path: Path, db: Database, upstream: Upstream) -> None:
    upstream.retry_date = True
    upstream.fault("429", 3)
    with one_source(tmp_path, db, upstream, "cursor") as store:
        summary = store.harvest("api")
    assert summary.retries == 1 and summary.records_created == 35


def test_retry_budget_spent_keeps_committed_pages_and_cursor(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    upstream.fault("500", 3, times=100)
    extra = "max_retries: 3\ncursor: {field: updated_at, param: since}"
    with one_source(tmp_path, db, upstream, "link", extra=extra) as store:
        with pytest.raises(HarvestError, match="retry budget of 3 spent"):
            store.harvest("api")
        assert len(records(store)) == 20  # pages 1 and 2 committed
        assert store.harvest_cursor("api") is None  # not advanced past a failed run
        (failed,) = store.runs("api", "harvest", 10)
        assert failed.status == "failed"
        upstream.faults.clear()
        summary = store.harvest("api")
        assert records(store) == as_json(upstream.items)
        assert store.harvest_cursor("api") == max(i["updated_at"] for i in upstream.items)
    # the committed pages come back 304 (ETags): nothing re-ingested, the rest resumed
    assert summary.records_created == 15 and summary.not_modified == 2


def test_incremental_cursor_asks_only_for_what_is_new(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    extra = "cursor: {field: updated_at, param: since}"
    with one_source(tmp_path, db, upstream, "jsonlink", extra=extra) as store:
        store.harvest("api")
        mark = store.harvest_cursor("api")
        upstream.items += make_items(3, start=100)
        upstream.requests.clear()
        summary = store.harvest("api")
        assert len(records(store)) == 38
        assert store.harvest_cursor("api") == max(i["updated_at"] for i in upstream.items)
    assert mark is not None and f"since={mark}".replace(":", "%3A") in upstream.requests[0]
    assert summary.received == 3 and summary.records_created == 3


def test_unexpected_response_is_quarantined_with_its_bytes(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    upstream.fault("badjson", 2)
    with one_source(tmp_path, db, upstream, "jsonlink") as store:
        with pytest.raises(HarvestError, match="not JSON"):
            store.harvest("api")
        assert len(records(store)) == 10
        (entry,) = store.quarantine("api")
        page = [p for p in store.harvest_pages("api") if p.error]
    assert len(page) == 1 and page[0].error and "not JSON" in page[0].error
    assert entry.reason and "page 2" in entry.reason
    assert entry.payload == page[0].body


def test_repeating_cursor_stops_the_run(tmp_path: Path, db: Database, upstream: Upstream) -> None:
    upstream.fault("repeat", 2)
    with one_source(tmp_path, db, upstream, "cursor") as store:
        with pytest.raises(RepeatedPageError, match="asked again"):
            store.harvest("api")
        assert len(records(store)) == 20
    assert len(upstream.requests) == 2


def test_duplicate_items_across_pages_are_one_record(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    upstream.fault("dupe", 2)
    with one_source(tmp_path, db, upstream, "pages") as store:
        summary = store.harvest("api")
        assert records(store) == as_json(upstream.items)
    assert summary.received == 36
    assert summary.records_created == 35 and summary.records_unchanged == 1


def test_bearer_token_from_the_environment_never_stored(
    tmp_path: Path, db: Database, upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream.token = "s3cret-token"
    extra = "auth: {type: bearer, env: API_TOKEN}"
    with one_source(tmp_path, db, upstream, "link", extra=extra) as store:
        with pytest.raises(HarvestError, match="API_TOKEN"):
            store.harvest("api")
        monkeypatch.setenv("API_TOKEN", "s3cret-token")
        summary = store.harvest("api")
    assert summary.records_created == 35
    for table in ("harvest_pages", "ingest_runs", "raw_receipts"):
        dumped = repr(db.rows(f"SELECT * FROM {table}"))
        assert "s3cret" not in dumped


def test_api_key_in_the_query_is_not_kept_in_urls(
    tmp_path: Path, db: Database, upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEY", "k3y-value")
    extra = "auth: {type: api_key, env: KEY, name: api_key, location: query}"
    with one_source(tmp_path, db, upstream, "offset", extra=extra) as store:
        store.harvest("api")
        urls = [p.url for p in store.harvest_pages("api")]
    assert all("k3y" not in u for u in urls)
    assert all("api_key=k3y-value" in r for r in upstream.requests)


def test_the_etags_read_once_a_run_are_those_of_each_requests_latest_page(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    """`HarvestLedger.etags` answers for every key what `last_etag` answers for one."""
    from ingestry.services.ports import StoredPage

    def page(seq: int, key: str, status: int, etag: str | None) -> StoredPage:
        headers = {"etag": etag} if etag else {}
        at = f"2026-12-04T10:00:{seq:02d}+00:00"
        return StoredPage("api", "run", seq, key, key, status, headers, b"[]", at)

    with one_source(tmp_path, db, upstream) as store:
        ledger = store._harvest_ledger()
        ledger.add_pages([
            page(1, "a", 200, '"a1"'), page(2, "a", 200, '"a2"'),  # the latest wins
            page(3, "b", 200, '"b1"'), page(4, "b", 200, None),  # latest without one
            page(5, "c", 200, '"c1"'), page(6, "c", 500, '"c2"'),  # not a 200
            page(7, "d", 429, '"d1"'),
        ])  # fmt: skip
        etags = ledger.etags("api")
        one_by_one = {}
        for key in "abcde":
            found = ledger.last_etag("api", key)
            if found is not None:
                one_by_one[key] = found.headers["etag"]
        assert {k: e for k, (e, _) in etags.items()} == one_by_one == {"a": '"a2"', "c": '"c1"'}
        assert ledger.etags("other") == {}


def test_configured_headers_go_with_every_request(
    tmp_path: Path, db: Database, upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pull.headers` (an API's Accept or version header) on every request, beside the
    auth header; ingestry names itself in User-Agent unless the config says otherwise."""
    monkeypatch.setenv("UPSTREAM_TOKEN", "t0k")
    upstream.token = "t0k"
    extra = (
        "auth: {type: bearer, env: UPSTREAM_TOKEN}\n"
        "headers: {Accept: application/vnd.example+json, X-Api-Version: '2024-01-01'}"
    )
    with one_source(tmp_path, db, upstream, "link", extra=extra) as store:
        store.harvest("api")
        assert records(store) == as_json(upstream.items)
    assert len(upstream.headers) == 4
    for sent in upstream.headers:
        assert sent["accept"] == "application/vnd.example+json"
        assert sent["x-api-version"] == "2024-01-01"
        assert sent["authorization"] == "Bearer t0k"
        assert sent["user-agent"].startswith("ingestry/")
    named = "headers: {User-Agent: partner-sync/2}"
    upstream.headers.clear()
    upstream.token = None
    (tmp_path / "b").mkdir()
    with one_source(tmp_path / "b", db, upstream, "link", extra=named) as store:
        store.harvest("api")
    assert {h["user-agent"] for h in upstream.headers} == {"partner-sync/2"}


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ("{Authorization: x}", "auth"),
        ("{X-API-Key: x}", "auth"),
        ("{'Bad Name': x}", "header name"),
        ('{X-A: "a\\nb"}', "line break"),
    ],
)
def test_headers_that_cannot_be_sent_are_refused(
    tmp_path: Path, db: Database, upstream: Upstream, headers: str, problem: str
) -> None:
    kind = "api_key" if "X-API-Key" in headers else "bearer"
    extra = f"auth: {{type: {kind}, env: UPSTREAM_TOKEN}}\nheaders: {headers}"
    with pytest.raises(ConfigError, match=problem):
        one_source(tmp_path, db, upstream, "link", extra=extra)


def test_a_cursor_from_the_last_item_stops_on_has_more(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    """Stripe's lists: the next page starts after the last item's id, and `has_more:
    false` ends the run without asking for an empty page (40 items: 4 requests, not 5)."""
    upstream.items = make_items(40)
    paginator = "{type: cursor, last_item: id, param: starting_after, has_more: has_more}"
    source = source_yaml("api", upstream.url + "/after", paginator, "data")
    with open_with(tmp_path, db, source) as store:
        summary = store.harvest("api")
        assert records(store) == as_json(upstream.items)
    assert summary.requests == summary.pages == 4
    assert upstream.requests[1:] == [f"/after?starting_after=it-{n}" for n in (10, 20, 30)]


@pytest.mark.parametrize(
    ("paginator", "words"),
    [
        ("{type: cursor, param: after}", "path .* or last_item"),
        ("{type: cursor, path: next, last_item: id}", "path .* or last_item"),
        ("{type: offset, last_item: id}", "last_item is the cursor paginator's"),
        ("{type: none, has_more: more}", "has_more needs a paginator"),
    ],
)
def test_paginator_settings_that_cannot_work_are_refused(
    tmp_path: Path, db: Database, upstream: Upstream, paginator: str, words: str
) -> None:
    source = source_yaml("api", upstream.url + "/after", paginator, "data")
    with pytest.raises(ConfigError, match=words):
        open_with(tmp_path, db, source)
