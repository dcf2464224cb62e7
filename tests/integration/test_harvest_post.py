"""`method: POST` with a JSON `body:` (docs/harvest.md, "POST bodies"): the page's
cursor, offset or number and the incremental mark set in the body at a dotted path,
on both backends, against a real HTTP upstream that reads the body's values as a GET
reads its query."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ingestry
from ingestry.domain.errors import ConfigError
from ingestry.store import Store
from tests.backends import Database
from tests.conftest import DEFAULT_SQLITE
from tests.harvest_upstream import Upstream, make_items, serve
from tests.integration.harvest_support import (
    as_json,
    open_with,
    records,
    source_yaml,
    write_config,
)

BODY = "body: {filter: {status: open}, size: 10}"
POSTED = {
    # name: (path, paginator, items, the body's value of each page in turn)
    "cursor": (
        "/cursor",
        "{type: cursor, path: next_cursor, param: q.cursor, location: body}",
        "items",
    ),
    "offset": ("/offset", "{type: offset, limit: 10, location: body}", "items"),
    "pages": ("/pages", "{type: page_number, location: body}", None),
}


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with serve(Upstream(items=make_items(35), page_size=10)) as up:
        yield up


def posting(tmp_path: Path, db: Database, up: Upstream, kind: str, extra: str = "") -> Store:
    path, paginator, items = POSTED[kind]
    more = f"method: POST\n{BODY}\n{extra}"
    return open_with(tmp_path, db, source_yaml("api", up.url + path, paginator, items, extra=more))


def bodies(up: Upstream) -> list[Any]:
    assert {kind for kind, _ in up.bodies} == {"application/json"}
    return [body for _, body in up.bodies]


def test_a_cursor_in_the_body_walks_every_page(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    """Notion's database query: the next cursor goes in the body (here at a dotted
    path), the source's body is kept around it; the first request has none."""
    with posting(tmp_path, db, upstream, "cursor") as store:
        summary = store.harvest("api")
        assert records(store) == as_json(upstream.items)
        keys = [p.request_key for p in store.harvest_pages("api", summary.run_srn)]
    assert bodies(upstream) == [
        {"filter": {"status": "open"}, "size": 10},
        *({"filter": {"status": "open"}, "size": 10, "q": {"cursor": n}} for n in ("2", "3", "4")),
    ]
    assert summary.pages == summary.requests == 4 and summary.records_created == 35
    assert keys[1].endswith(' {"q.cursor":"2"}')  # the body's values are in the key


@pytest.mark.parametrize("kind", ["offset", "pages"])
def test_offsets_and_page_numbers_in_the_body_are_numbers_and_go_in_flight(
    tmp_path: Path, db: Database, upstream: Upstream, kind: str
) -> None:
    upstream.delay = 0.05  # pages in flight at once
    with posting(tmp_path, db, upstream, kind, "concurrency: 4") as store:
        summary = store.harvest("api")
        assert records(store) == as_json(upstream.items)
    sent = bodies(upstream)
    name = "offset" if kind == "offset" else "page"
    steps = sorted(body[name] for body in sent)
    assert all(isinstance(step, int) for step in steps)
    assert steps[:4] == ([0, 10, 20, 30] if kind == "offset" else [1, 2, 3, 4])
    assert summary.pages >= 4 and upstream.peak > 1  # named before the page before it answered


def test_the_incremental_mark_goes_in_the_body(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    extra = "cursor: {field: updated_at, param: since, location: body}"
    with posting(tmp_path, db, upstream, "cursor", extra) as store:
        store.harvest("api")
        mark = store.harvest_cursor("api")
        upstream.items += make_items(3, start=100)
        upstream.bodies.clear()
        summary = store.harvest("api")
        assert len(records(store)) == 38
    assert summary.records_created == 3 and summary.records_unchanged == 0
    assert bodies(upstream)[0] == {"filter": {"status": "open"}, "size": 10, "since": mark}


def test_an_integer_mark_is_sent_as_an_integer(tmp_path: Path, db: Database) -> None:
    """The mark is kept as its text; in a body an integer's text goes as the integer
    (an API checks the type), exactly past 64 bits."""
    wide = 2**70
    items = [{"id": f"w-{n}", "updated_at": wide + n, "name": "w", "amount": n} for n in range(3)]
    with serve(Upstream(items=items, page_size=10)) as up:
        extra = "cursor: {field: updated_at, param: since, location: body}"
        with posting(tmp_path, db, up, "cursor", extra) as store:
            store.harvest("api")
            assert store.harvest_cursor("api") == str(wide + 2)
            up.bodies.clear()
            store.harvest("api")
        assert bodies(up)[0]["since"] == wide + 2


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ("body: {a: 1}", "need `method: POST`"),
        ("paginator: {type: offset, location: body}", "need `method: POST`"),
        ("cursor: {field: updated_at, param: since, location: body}", "need `method: POST`"),
        ("method: POST\nbody: {day: 2026-01-01}", "pull.body is not JSON"),
        ("method: PUT", "method"),
    ],
)
def test_config_checks(tmp_path: Path, upstream: Upstream, extra: str, words: str) -> None:
    lines = source_yaml("api", upstream.url + "/cursor", "{type: none}", "items", extra=extra)
    if "paginator:" in extra:  # the test's own, not the default's
        lines = lines.replace("      paginator: {type: none}\n", "")
    with pytest.raises(ConfigError, match=words.replace("`", ".")):
        ingestry.open(write_config(tmp_path, DEFAULT_SQLITE, lines))
