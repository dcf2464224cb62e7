"""What `sources infer URL` proposes for a `pull:` section from an API's first page:
where the items are (the sampling's `rows_of`) and how the next page is named. Pure:
the adapter fetched the page. Each guess says what it saw, so the user can check it
against the API's documentation (docs/harvest.md, "Proposing a pull").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ingestry.domain.conventions import split_path
from ingestry.domain.harvest import next_link, value_at
from ingestry.extract.inference import ColumnGuess

__all__ = ["PaginatorGuess", "cursor_hint", "guess_paginator"]

#: where APIs put the next page's URL (Django REST framework, Laravel, HAL, JSON:API,
#: Azure, Facebook's Graph API, Twilio, OData v4: Microsoft Graph, Dynamics, SAP)
_LINKS = (
    "next", "next_url", "next_page_url", "nextLink", '"@odata.nextLink"', "links.next",
    "_links.next.href", "paging.next", "meta.next", "pagination.next", "next_page_uri",
)  # fmt: skip
#: where they put an opaque cursor, and the parameter it usually goes back in
_CURSORS = (
    ("next_cursor", "cursor"), ("meta.next_cursor", "cursor"),
    ("response_metadata.next_cursor", "cursor"), ("pagination.next_cursor", "cursor"),
    ("nextPageToken", "pageToken"), ("next_page_token", "page_token"),
    ("cursor.next", "cursor"), ("paging.cursors.after", "after"),
    ("page_info.end_cursor", "after"), ("pageInfo.endCursor", "after"),
)  # fmt: skip
_OFFSETS = ("offset", "skip", "start")
_LIMITS = ("limit", "per_page", "page_size", "size", "count", "top")
_PAGES = ("page", "page_number", "pageNumber", "p")
#: the names APIs give an item's last change, the field an incremental pull follows
_CHANGED = (
    "updated_at", "updatedAt", "updated", "modified_at", "modifiedAt", "modified",
    "last_modified", "lastModified", "date_modified", "changed_at", "last_updated",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PaginatorGuess:
    """The `paginator:` mapping to propose and why (a comment beside it)."""

    paginator: dict[str, Any]
    why: str


def guess_paginator(
    url: str, headers: Mapping[str, str], document: Any, items: list[Any]
) -> PaginatorGuess:
    """The paginator the first page (`document`, its lower-case `headers`, its `items`)
    points at, in the order an API that offers several is best walked: the upstream's
    own links first (they need no guess), then cursors, then counting in the URL."""
    if next_link(headers.get("link", "")):
        return PaginatorGuess({"type": "link_header"}, 'a Link header with rel="next"')
    for path in _LINKS:
        found = value_at(document, split_path(path)) if isinstance(document, dict) else None
        if isinstance(found, str) and (found.startswith(("http://", "https://", "/", "?"))):
            return PaginatorGuess({"type": "json_link", "path": path}, f"a next link at {path}")
    if isinstance(document, dict):
        for path, param in _CURSORS:
            found = value_at(document, split_path(path))
            if isinstance(found, str | int) and not isinstance(found, bool) and found != "":
                why = f"a cursor at {path}; check that the API takes it back as `{param}`"
                return PaginatorGuess({"type": "cursor", "path": path, "param": param}, why)
        last = items[-1] if items else None
        if isinstance(document.get("has_more"), bool) and isinstance(last, dict) and "id" in last:
            stripe = {"type": "cursor", "last_item": "id", "param": "starting_after"}
            why = "has_more and items with ids (Stripe's lists); check the parameter's name"
            return PaginatorGuess({**stripe, "has_more": "has_more"}, why)
    query = dict(parse_qsl(urlsplit(url).query))
    offset = next((k for k in _OFFSETS if k in query), None)
    limit = next((k for k in _LIMITS if k in query), None)
    if offset is not None and limit is not None and query[limit].isdigit():
        guess: dict[str, Any] = {"type": "offset", "limit": int(query[limit])}
        guess.update({"offset_param": offset} if offset != "offset" else {})
        guess.update({"limit_param": limit} if limit != "limit" else {})
        return PaginatorGuess(guess, f"{offset} and {limit} in the URL")
    page = next((k for k in _PAGES if k in query and query[k].isdigit()), None)
    if page is not None:
        guess = {"type": "page_number", "start": int(query[page])}
        guess.update({"page_param": page} if page != "page" else {})
        return PaginatorGuess(guess, f"{page} in the URL")
    return PaginatorGuess(
        {"type": "none"},
        "the first page names no next one (no Link header, next link, cursor or page "
        "number): one page, or see the API's documentation",
    )


def cursor_hint(columns: list[ColumnGuess]) -> str | None:
    """A commented `cursor:` line for the proposal when the items have a last-change
    timestamp: the field is known, the API's "changed since" parameter is not."""
    for name in _CHANGED:
        for column in columns:
            if column.header == name and column.type in ("timestamp", "date"):
                return (
                    f"cursor: {{field: {name}, param: PARAM}}  # incremental pulls: PARAM is "
                    "the API's 'changed since' parameter (see its documentation)"
                )
    return None
