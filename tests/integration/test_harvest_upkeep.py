"""A harvested source's pages over the years (docs/harvest.md, "Pages over time"):
an erasure takes the item's bytes out of the pages that held them, retention purges
pages past `retention_days`, and a run after either still walks every page. Both
backends, against the real test upstream (ETags and 304s included)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from ingestry.domain.clock import utc_now
from ingestry.domain.errors import ConfigError, RecordNotFoundError
from ingestry.domain.harvest import HarvestBusyError, HarvestError
from ingestry.store import Store
from tests.apiclient import api_client, auth, create_key
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

ERASED = b'"it-7"'


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with serve(Upstream(items=make_items(35), page_size=10)) as up:
        yield up


def holding(store: Store, needle: bytes) -> list[int]:
    """The seq of each kept page whose body holds `needle`."""
    return [p.seq for p in store.harvest_pages("api") if needle in p.body]


@pytest.mark.parametrize("strategy", ["raw", "simple"])
def test_an_erasure_takes_the_item_out_of_the_pages(
    tmp_path: Path, db: Database, upstream: Upstream, strategy: str
) -> None:
    """Before: the record and its raw payload went, but the page that held the item
    kept its bytes in `harvest_pages`, for good (a simple source's only raw layer)."""
    with one_source(tmp_path, db, upstream, "jsonlink", strategy=strategy) as store:
        store.harvest("api")
        store.harvest("api")  # all 304: the pages of both runs
        assert holding(store, ERASED) == [1]
        report = store.erase(source="api", source_id="it-7", reason="GDPR art. 17").to_dict()
        assert report["records"] == 1 and report["harvest_pages"] == 1
        assert holding(store, ERASED) == []
        pages = store.harvest_pages("api")
        (emptied,) = [p for p in pages if p.erased_at is not None]
        assert emptied.seq == 1 and emptied.body == b""
        # the other pages keep their bytes; the item's neighbours are not touched
        assert sum(b'"it-' in p.body for p in pages) == 3
        assert db.count("erasure_audit") == 1
        (audit,) = store.erasures()
        assert audit.counts["harvest_pages"] == 1
        # the next run asks for the emptied page in full (no If-None-Match: its 304
        # would leave the run no page to read the next link from), and the item,
        # still upstream, is new input again
        summary = store.harvest("api")
        assert summary.records_created == 1 and summary.not_modified == 3
        assert records(store) == as_json(upstream.items)
        assert holding(store, ERASED) == [1]


def test_an_erased_record_s_pages_are_swept_again(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    """A record gone but its bytes still in a page (erased before pages were swept):
    erasing it again takes the bytes out and is audited; with nothing anywhere, it is
    not found."""
    with one_source(tmp_path, db, upstream, "jsonlink", strategy="simple") as store:
        store.harvest("api")
        srn = store.srn_of("api", "it-7")
        table = "records_item"
        db.execute(f"DELETE FROM {table} WHERE source_id = 'it-7'")
        report = store.erase(srn, reason="request 12").to_dict()
        assert (report["records"], report["harvest_pages"]) == (0, 1)
        assert holding(store, ERASED) == []
        with pytest.raises(RecordNotFoundError):
            store.erase(srn, reason="request 12")


def test_a_page_that_does_not_parse_is_emptied_when_it_spells_the_id(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    """A quarantined page (a 200 cut short) cannot say which items it held: it is
    emptied when the id's text is in it."""
    upstream.fault("badjson", 2)
    with one_source(tmp_path, db, upstream, "jsonlink", strategy="simple") as store:
        with pytest.raises(HarvestError, match="not JSON"):
            store.harvest("api")
        store.harvest("api")  # whole now
        (bad,) = [p for p in store.harvest_pages("api") if p.error is not None]
        assert b'"it-11"' in bad.body
        report = store.erase(source="api", source_id="it-11", reason="r").to_dict()
        assert report["harvest_pages"] == 2
        assert holding(store, b'"it-11"') == []


def test_retention_purges_the_pages_of_a_pulled_source(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    """A simple pulled source may keep its pages `retention_days` (before: refused,
    and its pages stayed for ever); pages received before the cutoff go, audited."""
    with one_source(tmp_path, db, upstream, "jsonlink", strategy="simple") as store:
        store.harvest("api")
        pages_before = store.harvest_pages("api")
        assert len(pages_before) == 4
    more = "\n    retention_days: 30"
    path, paginator, items = PAGINATORS["jsonlink"]
    yaml = source_yaml("api", upstream.url + path, paginator, items, strategy="simple")
    with open_with(tmp_path, db, yaml + more) as store:
        old = (utc_now() - timedelta(days=45)).strftime("%Y-%m-%d %H:%M:%S.%f")
        db.execute(f"UPDATE harvest_pages SET received_at = '{old}' WHERE seq <= 2")
        (dry,) = store.retention_run(dry_run=True)
        assert dry.pages_purged == 2 and len(store.harvest_pages("api")) == 4
        (report,) = store.retention_run(actor="nightly")
        size = sum(len(p.body) for p in pages_before if p.seq <= 2)
        assert (report.pages_purged, report.page_bytes_freed) == (2, size)
        assert [p.seq for p in store.harvest_pages("api")] == [3, 4]
        (audit,) = store.retention_audit("api")
        assert (audit.pages_purged, audit.page_bytes_freed) == (2, size)
        # the purged pages' ETags went with them: the next run fetches them in full
        summary = store.harvest("api")
        assert summary.not_modified == 2 and summary.records_unchanged == 20
        assert records(store) == as_json(upstream.items)


def test_retention_on_a_simple_file_source_is_still_refused(tmp_path: Path, db: Database) -> None:
    files = "  f:\n    strategy: simple\n    convention: item\n    rationale: r\n"
    files += "    id: id\n    format: json\n"
    with pytest.raises(ConfigError, match="retention_days"):
        open_with(tmp_path, db, files + "    retention_days: 30\n")


def test_a_quarantined_page_s_etag_is_never_sent(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    """A page that did not parse but carried an ETag (a proxy cut it short, the origin's
    ETag kept): before, the next run sent it, got 304, and failed reading the kept bad
    body as the page. Now only a page whose items were taken lends its ETag."""
    upstream.fault("badjson", 2)
    with one_source(tmp_path, db, upstream, "jsonlink", strategy="simple") as store:
        with pytest.raises(HarvestError, match="not JSON"):
            store.harvest("api")
        store.harvest("api")  # page 2 whole now, with its ETag
        (etag,) = [
            p.headers["etag"] for p in store.harvest_pages("api") if p.seq == 2 and not p.error
        ]
        # the bad page carries the ETag the upstream gives the whole page, and is the
        # latest 200 of its request
        db.execute(f"UPDATE harvest_pages SET etag = '{etag}' WHERE error IS NOT NULL")
        db.execute("DELETE FROM harvest_pages WHERE error IS NULL AND seq = 2")
        summary = store.harvest("api")
        assert summary.pages == 1 and summary.not_modified == 3
        assert records(store) == as_json(upstream.items)


def test_a_page_purged_while_a_run_reads_its_etag_is_asked_again(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    """A run reads the ETags once, at its start; a page purged (or erased) after that
    answers 304 with no kept page to stand in for it. Before: the run stopped ("answered
    304"); now it asks for that page again in full."""
    with one_source(tmp_path, db, upstream, "jsonlink", strategy="simple") as store:
        first = store.harvest("api")
        upstream.delay = 0.5  # the last page is asked for well after page 1 commits
        purged: list[int] = []

        def progress(pages: int, items: int, requests: int) -> None:
            if not purged:  # page 1 committed (a 304: no page taken)
                db.execute(
                    f"DELETE FROM harvest_pages WHERE run_srn = '{first.run_srn}' AND seq = 4"
                )
                purged.append(1)

        upstream.requests.clear()
        summary = store.harvest("api", progress=progress)
        assert purged == [1]
        assert summary.not_modified == 3 and summary.pages == 1
        assert records(store) == as_json(upstream.items)
    # page 4 asked twice: once with the ETag read at the start, once in full
    assert len(upstream.requests) == 5


def test_an_erasure_waits_for_no_run_of_its_source(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    """A run in progress could add a page holding the item while the pages are swept:
    the erasure is refused until it ends (CLI exit 1, HTTP 409 `run_in_progress`),
    nothing removed."""
    with one_source(tmp_path, db, upstream, "jsonlink", strategy="simple") as store:
        store.harvest("api")
        config = tmp_path / "ingestry.yaml"
        admin = create_key(config, "admin", [], admin=True)
        body = {"source": "api", "id": "it-7", "reason": "GDPR art. 17"}
        with store._run_locks().hold("api"):  # a run of `api` in progress
            with pytest.raises(HarvestBusyError, match="in progress"):
                store.erase(source="api", source_id="it-7", reason="r")
            with api_client(config) as client:
                refused = client.post("/v1/erasures", json=body, headers=auth(admin))
            assert refused.status_code == 409
            assert refused.json()["error"]["code"] == "run_in_progress"
        assert holding(store, ERASED) == [1] and "it-7" in records(store)
        assert store.erase(source="api", source_id="it-7", reason="r").removed.records == 1


def test_a_simple_record_s_page_is_the_one_its_version_came_from(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    """A simple pulled source keeps no raw payload: `page_of` (what `raw show` gives)
    is the page that held the item in the run that made the record's current version;
    a run that changes nothing does not move it, one that changes the item does."""
    with one_source(tmp_path, db, upstream, "jsonlink", strategy="simple") as store:
        first = store.harvest("api")
        assert store.raw("api", "it-15") == []
        page = store.page_of("api", "it-15")
        assert page is not None and (page.run_srn, page.seq) == (first.run_srn, 2)
        assert b'"it-15"' in page.body and store.harvest_page(page.id) == page
        store.harvest("api")  # all 304
        assert store.page_of("api", "it-15") == page
        upstream.items[14]["name"] = "renamed"
        third = store.harvest("api")
        moved = store.page_of("api", "it-15")
        assert moved is not None and (moved.run_srn, moved.seq) == (third.run_srn, 2)
        assert b"renamed" in moved.body
        assert store.page_of("api", "it-999") is None
        listed = store.harvest_page_list("api", after=0, limit=3)
        assert [i.id for i in listed] == [p.id for p in store.harvest_pages("api")][:3]
        assert listed[0].size == len(store.harvest_page(listed[0].id).body)
        by_run = store.harvest_page_list("api", third.run_srn)
        assert [i.seq for i in by_run] == [1, 2, 3, 4]
        assert [i.status for i in by_run] == [304, 200, 304, 304]
        store.erase(source="api", source_id="it-15", reason="r")
        assert store.page_of("api", "it-15") is None


def test_kept_pages_over_the_api(tmp_path: Path, db: Database, upstream: Upstream) -> None:
    """GET /v1/sources/{source}/pages lists them (keyset), /pages/{id} gives the bytes
    exactly; a key of another source sees neither."""
    link = (upstream.url + "/link", "{type: link_header}", None)
    two = [source_yaml(name, *link) for name in ("api", "b")]
    with open_with(tmp_path, db, "".join(two)) as store:
        run = store.harvest("api").run_srn
        kept = store.harvest_pages("api")
    config = tmp_path / "ingestry.yaml"
    reader = create_key(config, "reader", ["api"])
    other = create_key(config, "other", ["b"])
    with api_client(config) as client:
        first = client.get("/v1/sources/api/pages", params={"limit": 3}, headers=auth(reader))
        assert first.status_code == 200, first.text
        body = first.json()
        assert [p["seq"] for p in body["items"]] == [1, 2, 3]
        rest = client.get(
            "/v1/sources/api/pages",
            params={"after": body["next_after"], "run": run},
            headers=auth(reader),
        ).json()
        assert [p["seq"] for p in rest["items"]] == [4] and rest["next_after"] is None
        page = client.get(f"/v1/sources/api/pages/{kept[1].id}", headers=auth(reader))
        assert page.status_code == 200 and page.content == kept[1].body
        assert page.headers["x-ingestry-url"] == kept[1].url
        assert page.headers["x-ingestry-run"] == run
        for path in ("/v1/sources/api/pages", f"/v1/sources/api/pages/{kept[1].id}"):
            assert client.get(path, headers=auth(other)).status_code in (403, 404)
        spec = client.get("/openapi.json").json()
        assert "/v1/sources/{source}/pages/{page_id}" in spec["paths"]
