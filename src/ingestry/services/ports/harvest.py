"""What a harvest needs from the outside: an HTTP client, a ledger of the pages
received and the cursor per source, a lock per source, and the time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

Pairs = tuple[tuple[str, str], ...]


class FetchFailedError(Exception):
    """The request got no response (connection refused or reset, timeout, a body cut
    short), or one to ask again (a busy token endpoint): the service retries it within
    the run's budget, after `retry_after` (the Retry-After header given) if any."""

    def __init__(self, message: str, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class HttpRequest:
    url: str
    params: Pairs = ()
    #: auth and conditional headers; never stored
    headers: Pairs = ()
    #: auth in the query (api_key location query); never stored
    secret_params: Pairs = ()
    timeout: float = 30.0
    #: a form to POST (an OAuth token request) instead of a GET; never stored
    form: Pairs | None = None
    #: a JSON body to POST (a source's `method: POST`) instead of a GET
    json: bytes | None = None


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    #: header names in lower case
    headers: Mapping[str, str]
    body: bytes
    #: where the response came from (after redirects), without secret parameters
    url: str


class HttpFetcher(Protocol):
    def fetch(self, request: HttpRequest) -> HttpResponse:
        """One GET (a POST of `request.form` or `request.json` when it has one);
        raises FetchFailedError when no whole response came back."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class StoredPage:
    """A page response as received (the raw layer of an HTTP pull)."""

    source: str
    run_srn: str
    seq: int
    request_key: str
    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    received_at: str
    error: str | None = None
    #: when an erasure emptied `body` (it held an erased item): docs/erasure.md
    erased_at: str | None = None
    #: its row's id, once stored (0 before)
    id: int = 0


@dataclass(frozen=True, slots=True)
class PageInfo:
    """A kept page without its bytes (`raw pages`): what was asked, what came back."""

    id: int
    source: str
    run_srn: str
    seq: int
    url: str
    status: int
    etag: str | None
    size: int
    received_at: str
    error: str | None
    erased_at: str | None


class HarvestLedger(Protocol):
    """Pages received and the incremental cursor per source (both backends)."""

    def add_page(self, page: StoredPage) -> int:
        """Store a page; returns its id."""
        ...

    def add_pages(self, pages: Sequence[StoredPage]) -> None:
        """Store pages in one transaction, in order (a harvest commits several pages'
        items at once, then their rows)."""
        ...

    def last_etag(self, source: str, request_key: str) -> StoredPage | None:
        """The latest 200 page of this request that carried an ETag (If-None-Match;
        on 304 its body and headers stand in for the response)."""
        ...

    def etags(self, source: str) -> dict[str, tuple[str, str]]:
        """Request key -> (the ETag, the Link header or "") of that request's latest
        200 page whose items were taken, for the requests whose latest such page
        carried an ETag: what `last_etag` would find, read once per run instead of
        once per page."""
        ...

    def cursor(self, source: str) -> str | None: ...

    def set_cursor(
        self, source: str, value: str, run_srn: str, at: str, owner: str | None = None
    ) -> bool:
        """Set the mark; with `owner` (a job's lease owner) only while that lease is
        live, checked in the write's transaction: False, nothing written, otherwise."""
        ...

    def pages(self, source: str, run_srn: str | None = None) -> list[StoredPage]: ...

    def page_bodies(
        self, source: str, after: int, limit: int, run_srn: str | None = None
    ) -> list[tuple[int, bytes]]:
        """(id, body) of up to `limit` of `source`'s pages (of one run, when given) with
        a body, ids after `after`, in id order: a keyset walk over them."""
        ...

    def page(self, page_id: int) -> StoredPage | None:
        """One kept page, bytes and all."""
        ...

    def page_list(self, source: str, run_srn: str | None, after: int, limit: int) -> list[PageInfo]:
        """Up to `limit` of `source`'s pages (of one run, when given), ids after `after`,
        in id order, without their bytes."""
        ...

    def erase_pages(self, ids: Sequence[int], at: str) -> int:
        """Empty these pages' bodies and drop their ETags (a 304 would have no body to
        read the next page from), marking them erased at `at`; how many changed."""
        ...

    def expired_pages(self, source: str, cutoff: str) -> tuple[int, int]:
        """How many of `source`'s pages were received before `cutoff`, and their bytes."""
        ...

    def purge_pages(self, source: str, cutoff: str, batch_rows: int) -> tuple[int, int]:
        """Delete `source`'s pages received before `cutoff`, `batch_rows` a transaction;
        how many went, and their bytes."""
        ...


class RunLocks(Protocol):
    def hold(self, source: str, owner: str | None = None) -> AbstractContextManager[None]:
        """Hold `source`'s run lock for the block, or raise HarvestBusyError. Released
        when the holder dies (no lease to wait out after a SIGKILL). `owner`: the lease
        owner of the job holding it; a lock whose owner's lease is no longer live (a
        worker stopped past its lease, its job taken over) is taken from it."""
        ...
