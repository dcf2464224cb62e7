"""HTTP sources (`pull:`): what to request, how pages follow each other, how long to
wait before a retry. Pure: the service does the requests through a port.

Decisions are in docs/harvest.md: a paginator is a pure function from the request made
and the response received to the next request (or None); a run that would ask for a
page it already asked for stops with `RepeatedPageError` instead of looping.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode, urljoin

from ingestry.domain.errors import IngestryError
from ingestry.domain.pullbody import BodyValues, body_text, mark_value

Params = tuple[tuple[str, str], ...]


class HarvestError(IngestryError):
    """A harvest run that cannot go on: the message names the source, the page's URL
    and what to do next. What the run committed before stays."""


class RepeatedPageError(HarvestError):
    """The paginator asked for a page the run already asked for."""


class PageNotFoundError(HarvestError):
    """A page answered 404 (for a child resource's first page: its parent is gone)."""


class HarvestBusyError(HarvestError):
    """Another run of the same source holds its lock (never two runs at once)."""


class PaginatorType(StrEnum):
    LINK_HEADER = "link_header"
    JSON_LINK = "json_link"
    CURSOR = "cursor"
    OFFSET = "offset"
    PAGE_NUMBER = "page_number"
    NONE = "none"


class AuthType(StrEnum):
    BEARER = "bearer"
    API_KEY = "api_key"
    BASIC = "basic"
    OAUTH2 = "oauth2"  # client credentials (RFC 6749 4.4)


@dataclass(frozen=True, slots=True)
class AuthSpec:
    """Secrets come from environment variables only: `env` names the token, key,
    password or client secret; `username` (or `username_env`) is basic auth's user;
    `client_id` (or `client_id_env`) oauth2's client, whose token comes from
    `token_url` for `scope`."""

    type: AuthType
    env: str
    name: str = "X-API-Key"  # api_key: the header or query parameter
    location: str = "header"  # api_key: header | query
    username: str | None = None
    username_env: str | None = None
    token_url: str | None = None
    client_id: str | None = None
    client_id_env: str | None = None
    scope: str | None = None
    client_auth: str = "basic"  # oauth2: basic (client_secret_basic) | post


@dataclass(frozen=True, slots=True)
class PaginatorSpec:
    type: PaginatorType = PaginatorType.NONE
    path: tuple[str, ...] = ()  # json_link: the next URL; cursor: the next token
    param: str = "cursor"  # cursor: the request parameter the token goes in
    limit: int = 100  # offset: page size
    limit_param: str = "limit"
    offset_param: str = "offset"
    page_param: str = "page"
    start: int = 1  # page_number: the first page's number
    #: where the cursor, offset, limit or page goes: query | body (a POST's JSON body,
    #: the param names then dotted paths in it)
    location: str = "query"
    #: cursor: the token is this field of the page's last item, not at `path`
    last_item: tuple[str, ...] = ()
    #: a boolean in the response (Stripe's `has_more`): false means no page follows
    has_more: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CursorSpec:
    """Incremental pulls: the items' `field` (high-water mark kept per source) is sent
    as `param` on the next run, as the field's text as received (in a POST's body: an
    integer when the text is one, `domain.pullbody.mark_value`)."""

    field: tuple[str, ...]
    param: str
    location: str = "query"  # query | body
    #: the mark sent this much earlier (seconds; a number's own units): items an
    #: upstream makes visible late are still asked for (domain.lookback)
    lookback: float = 0.0


@dataclass(frozen=True, slots=True)
class ForEach:
    """A child resource's parent source and the column of its convention whose values
    fill the URL (domain.parents)."""

    source: str
    field: str


@dataclass(frozen=True, slots=True)
class PullSpec:
    url: str
    params: Params = ()
    #: sent with every request (not secrets: auth's come from the environment)
    headers: Params = ()
    auth: AuthSpec | None = None
    method: str = "GET"  # or POST: a JSON body (`body` and the values put in it)
    body: str | None = None  # the body of every POST request, as JSON text
    items: tuple[str, ...] | None = None
    paginator: PaginatorSpec = field(default_factory=PaginatorSpec)
    cursor: CursorSpec | None = None
    #: requests per second (None: as fast as the upstream answers)
    rate_limit: float | None = None
    #: requests in flight at once when the paginator names a page before the one
    #: before it answered (offset, page_number: `following`), and pages fetched ahead
    #: while earlier ones are written
    concurrency: int = 1
    timeout: float = 30.0
    #: retries a run may spend in all (429, 503, 5xx, connection errors)
    max_retries: int = 10
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 60.0
    #: a run stops (with an error) rather than fetch more pages than this
    max_pages: int = 1_000_000
    #: a child resource: the pages of `url` walked once per value of a parent's column
    for_each: ForEach | None = None
    lease_seconds: float = 300.0


@dataclass(frozen=True, slots=True)
class PageRequest:
    """One page to ask for: the URL, its public query parameters and the values its
    paginator and cursor set in a POST's body (auth is added by the service and never
    kept)."""

    url: str
    params: Params = ()
    body: BodyValues = ()

    @property
    def key(self) -> str:
        """The request as text: repeated-page detection and ETag lookup."""
        key = self.url + ("?" + urlencode(self.params) if self.params else "")
        return key + " " + body_text(self.body) if self.body else key

    def given(self, location: str, name: str, value: Any) -> PageRequest:
        """This request with `name` set to `value` in its query (as text) or body."""
        if location == "body":
            kept = tuple(p for p in self.body if p[0] != name)
            return PageRequest(self.url, self.params, (*kept, (name, value)))
        return PageRequest(self.url, _with(self.params, name, text_of(value)), self.body)

    def value(self, location: str, name: str) -> Any:
        """What `given` set at `name`, or None."""
        return dict(self.body if location == "body" else self.params).get(name)


def first_request(spec: PullSpec, cursor: str | None) -> PageRequest:
    request = PageRequest(spec.url, spec.params)
    if cursor is not None and spec.cursor is not None:
        where = spec.cursor.location
        value = mark_value(cursor) if where == "body" else cursor
        request = request.given(where, spec.cursor.param, value)
    pag = spec.paginator
    if pag.type is PaginatorType.OFFSET:
        request = request.given(pag.location, pag.offset_param, 0)
        request = request.given(pag.location, pag.limit_param, pag.limit)
    elif pag.type is PaginatorType.PAGE_NUMBER:
        request = request.given(pag.location, pag.page_param, pag.start)
    return request


def next_request(
    spec: PaginatorSpec,
    request: PageRequest,
    response_url: str,
    headers: Mapping[str, str],
    document: Any,
    items: Sequence[Any],
) -> PageRequest | None:
    """The page after `request`, from its response and its `items`; None when there
    is none (or the response's `has_more` says so)."""
    kind = spec.type
    if spec.has_more and value_at(document, spec.has_more) is False:
        return None
    if kind is PaginatorType.LINK_HEADER:
        link = next_link(headers.get("link", ""))
        return PageRequest(urljoin(response_url, link)) if link else None
    if kind is PaginatorType.JSON_LINK:
        target = value_at(document, spec.path)
        return PageRequest(urljoin(response_url, str(target))) if target else None
    if kind is PaginatorType.CURSOR:
        if spec.last_item:  # Stripe's `starting_after`: the last item's id
            token = value_at(items[-1], spec.last_item) if items else None
        else:
            token = value_at(document, spec.path)
        if token is None or token == "":
            return None
        return request.given(spec.location, spec.param, token)
    if kind is PaginatorType.OFFSET:
        return following(spec, request) if len(items) >= spec.limit else None
    if kind is PaginatorType.PAGE_NUMBER:
        return following(spec, request) if items else None
    return None


def following(spec: PaginatorSpec, request: PageRequest) -> PageRequest | None:
    """The page after `request` if there is one, named before `request` is answered:
    only an offset or a page number says it (the next offset, the next number), so
    only those pages can be asked for while earlier ones are in flight; None for the
    paginators whose next page is in the response."""
    if spec.type is PaginatorType.OFFSET:
        at = request.value(spec.location, spec.offset_param)
        offset = int(0 if at is None else at) + spec.limit
        return request.given(spec.location, spec.offset_param, offset)
    if spec.type is PaginatorType.PAGE_NUMBER:
        at = request.value(spec.location, spec.page_param)
        page = int(spec.start if at is None else at) + 1
        return request.given(spec.location, spec.page_param, page)
    return None


def env_secret(source: str, env: Mapping[str, str], var: str) -> str:
    """The secret in environment variable `var` (the only place a secret is read)."""
    value = env.get(var)
    if not value:
        raise HarvestError(
            f"source '{source}': pull.auth needs the environment variable {var} "
            "(secrets are read from the environment only); set it and run again"
        )
    return value


def basic_auth(user: str, password: str) -> tuple[str, str]:
    """The `Authorization` header of HTTP Basic auth (RFC 7617)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return ("Authorization", f"Basic {token}")


def _with(params: Params, name: str, value: str) -> Params:
    kept = tuple(p for p in params if p[0] != name)
    return (*kept, (name, value))


_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")


def next_link(header: str) -> str | None:
    """The `rel="next"` target of an RFC 8288 Link header."""
    for match in _LINK.finditer(header):
        for param in match.group(2).split(";"):
            name, _, value = param.strip().partition("=")
            rels = value.strip().strip('"').lower().split()
            if name.strip().lower() == "rel" and "next" in rels:
                return match.group(1).strip()
    return None


def may_ask_if_changed(spec: PullSpec, kept_link: str) -> bool:
    """Whether a kept page's ETag may go in `If-None-Match`. Not for a Link-header
    paginator's kept last page (its Link header named no next one): the ETag covers
    the body, not the Link header, so items added after a full last page leave its
    body as it was, and a 304 would hide the Link header that now names a next page.
    That page is asked for in full every run."""
    return spec.paginator.type is not PaginatorType.LINK_HEADER or bool(next_link(kept_link))


def value_at(document: Any, path: Sequence[str]) -> Any:
    """The value at a dotted path (list indexes as numbers); None when absent."""
    node = document
    for part in path:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def text_of(value: Any) -> str:
    """A JSON scalar as the text a request parameter carries."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


#: JSON's number grammar (no leading zeros, no NaN or Infinity): text spelled so is a
#: number to `cursor_key`.
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def cursor_key(value: Any) -> tuple[int, Decimal | str]:
    """The order of cursor values, exact and total: numbers (JSON numbers, and text
    spelled as a JSON number, so a mark read back from the store as text compares as
    the number it was) by value as decimals, never through a float; then every other
    value by its text, code point by code point. A number sorts before any text that
    is not one."""
    if isinstance(value, bool):
        return 1, text_of(value)
    if isinstance(value, int):
        return 0, Decimal(value)
    if isinstance(value, float | Decimal):
        return 0, Decimal(str(value))  # a parsed float's shortest text: as received
    text = text_of(value)
    if _NUMBER.fullmatch(text):
        return 0, Decimal(text)
    return 1, text


def later(value: Any, mark: Any) -> bool:
    """Whether cursor value `value` is past `mark` (in `cursor_key`'s order)."""
    if mark is None:
        return True
    return cursor_key(value) > cursor_key(mark)


def retry_after(header: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date."""
    if not header:
        return None
    text = header.strip()
    if text.isdigit():
        return float(text)
    # here, not with the module: email.utils is most of what importing it costs, and
    # every ingest imports this module (a source may pull), few read a Retry-After date
    from email.utils import parsedate_to_datetime

    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, (moment - now).total_seconds())


def backoff(attempt: int, base: float, cap: float, fraction: float) -> float:
    """Exponential backoff with full jitter: `fraction` (0..1, random) of
    min(cap, base * 2**attempt)."""
    return float(min(cap, base * (2**attempt)) * fraction)


#: The response headers kept with each page (lower case).
KEPT_HEADERS = ("etag", "last-modified", "content-type", "retry-after", "link", "date")


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """ETag, Last-Modified, Content-Type, Link and every rate-limit header."""
    return {
        k: v
        for k, v in headers.items()
        if k in KEPT_HEADERS or "ratelimit" in k or "rate-limit" in k
    }
