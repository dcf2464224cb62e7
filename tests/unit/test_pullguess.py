"""extract.pullguess: the paginator an API's first page points at, in the shapes
public APIs answer with."""

from __future__ import annotations

from typing import Any

import pytest

from ingestry.extract.inference import infer
from ingestry.extract.pullguess import cursor_hint, guess_paginator

ITEMS = [{"id": 1}, {"id": 2}]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"count": 9, "next": "https://a/x?page=2", "results": ITEMS},
         {"type": "json_link", "path": "next"}),
        ({"_links": {"next": {"href": "/x?p=2"}}, "items": ITEMS},
         {"type": "json_link", "path": "_links.next.href"}),
        ({"value": ITEMS, "nextLink": "https://a/x?$skip=2"},
         {"type": "json_link", "path": "nextLink"}),
        ({"files": ITEMS, "nextPageToken": "tok"},
         {"type": "cursor", "path": "nextPageToken", "param": "pageToken"}),
        ({"members": ITEMS, "response_metadata": {"next_cursor": "dXNl"}},
         {"type": "cursor", "path": "response_metadata.next_cursor", "param": "cursor"}),
        ({"data": ITEMS, "has_more": False},
         {"type": "cursor", "last_item": "id", "param": "starting_after", "has_more": "has_more"}),
        ({"next": None, "results": ITEMS}, {"type": "none"}),  # the last page already
        ({"next": "not a link", "results": ITEMS}, {"type": "none"}),
    ],
)  # fmt: skip
def test_links_and_cursors_in_the_body(document: Any, expected: dict[str, Any]) -> None:
    assert guess_paginator("https://a/x", {}, document, ITEMS).paginator == expected


def test_a_link_header_comes_first() -> None:
    headers = {"link": '<https://a/x?page=2>; rel="next"'}
    guess = guess_paginator("https://a/x", headers, {"next": "/x?page=2"}, ITEMS)
    assert guess.paginator == {"type": "link_header"}


def test_counting_in_the_url() -> None:
    assert guess_paginator("https://a/x?skip=0&top=50", {}, ITEMS, ITEMS).paginator == {
        "type": "offset", "limit": 50, "offset_param": "skip", "limit_param": "top",
    }  # fmt: skip
    assert guess_paginator("https://a/x?page=0", {}, ITEMS, ITEMS).paginator == {
        "type": "page_number", "start": 0,
    }  # fmt: skip
    assert guess_paginator("https://a/x?offset=0", {}, ITEMS, ITEMS).paginator == {"type": "none"}


def test_every_guess_says_why() -> None:
    guess = guess_paginator("https://a/x", {}, {"nextPageToken": "t"}, ITEMS)
    assert "nextPageToken" in guess.why and "pageToken" in guess.why


def test_a_last_change_timestamp_is_proposed_as_the_cursor_field() -> None:
    rows = [{"id": n, "lastModified": f"2026-01-0{n}T00:00:00Z"} for n in range(1, 4)]
    hint = cursor_hint(infer(rows, text_cells=False).columns)
    assert hint is not None and hint.startswith("cursor: {field: lastModified, param: PARAM}")
    numbers = [{"id": n, "updated_at": n} for n in range(1, 4)]  # not a timestamp
    assert cursor_hint(infer(numbers, text_cells=False).columns) is None
