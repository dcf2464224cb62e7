"""The harvest's HTTP client policy: one page's request, its retries, backoff and
pacing, conditional requests and the secrets of its auth (issue 18 item 3; the run that
walks the pages and writes them is services.harvest). Decisions: docs/harvest.md.

Several threads may fetch pages of one run at once (`services.harvest_window`): the
counts, the retry budget, the pacing and a pause the upstream asked for (Retry-After)
are the run's, shared under one lock; a wait ends early when the run is cancelled.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ingestry.domain.clock import Clock
from ingestry.domain.harvest import (
    AuthType,
    HarvestError,
    PageNotFoundError,
    PageRequest,
    PullSpec,
    backoff,
    basic_auth,
    env_secret,
    may_ask_if_changed,
    retry_after,
    value_at,
)
from ingestry.domain.pullbody import body_bytes
from ingestry.domain.sources import DataSource
from ingestry.domain.throttle import refused_for_rate, spent_for
from ingestry.extract.jsonio import JSONError, loads
from ingestry.services.harvest_token import ClientCredentials
from ingestry.services.ports import PreparedBatch
from ingestry.services.ports.harvest import (
    FetchFailedError,
    HarvestLedger,
    HttpFetcher,
    HttpRequest,
    HttpResponse,
)

__all__ = [
    "AheadFailedError",
    "FetchCancelledError",
    "Fetched",
    "PullClient",
    "auth_of",
    "items_of",
    "pull_of",
]


class AheadFailedError(Exception):
    """A request asked ahead of the run (services.harvest_window) failed in a way that
    is retried: it is not retried there, so pages the run never needs (past the last
    one, a wrong guess) spend none of its retry budget. When the run does need it, the
    window asks again, as a retry (`retry_ahead`)."""

    def __init__(self, failure: str, wait: float) -> None:
        super().__init__(failure)
        self.failure = failure
        self.wait = wait


class FetchCancelledError(Exception):
    """A fetch given up because its run no longer needs the page (the run ended or
    failed while it was in flight or waiting to be retried)."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """A page as the fetching thread hands it to the writer."""

    seq: int
    request: PageRequest
    response: HttpResponse
    items: list[Any] | None  # None: 304, the items are those already taken
    problem: str | None = None  # not what the paginator expects: quarantined
    document: Any = None  # the parsed response (the paginator reads its next link)
    batches: list[PreparedBatch] | None = None  # its items, prepared for the writer
    queued: bool = False  # or: prepared by the worker processes (services.pullprep)
    parent: str | None = None  # a child resource's page: the parent value it lists


class Counts(Protocol):
    """The run's summary counts the client adds to."""

    requests: int
    retries: int


class PullClient:
    """Requests one source's pages as a careful client would (see the module
    docstring); `counts` gets every request and retry."""

    def __init__(
        self,
        source: DataSource,
        spec: PullSpec,
        counts: Counts,
        fetcher: HttpFetcher,
        ledger: HarvestLedger,
        *,
        env: Mapping[str, str],
        clock: Clock,
        sleep: Callable[[float], None],
        jitter: Callable[[], float],
        cancelled: threading.Event | None = None,
    ) -> None:
        self.name = source.name
        self.spec = spec
        self.counts = counts
        self.fetcher = fetcher
        self.ledger = ledger
        self.clock = clock
        self.sleep = sleep
        self.jitter = jitter
        self.last_request = 0.0
        #: no request before this (monotonic): a Retry-After pauses every thread
        self.paused_until = 0.0
        #: set when the run's pages in flight are no longer wanted (see the module docstring)
        self.cancelled = cancelled or threading.Event()
        self._lock = threading.Lock()  # counts, retry budget, pause
        self._pacing = threading.Lock()  # held while a thread waits for its slot
        secret_headers, self.secret_params = auth_of(source, spec, env)
        self.headers = (*spec.headers, *secret_headers)
        auth = spec.auth
        #: oauth2's token, asked for at the first request (services.harvest_token)
        self.token = (
            ClientCredentials(source.name, auth, env, fetcher, spec.timeout, self._counted)
            if auth is not None and auth.type is AuthType.OAUTH2
            else None
        )
        #: the ETags of the pages of earlier runs, read at the first page: a query per
        #: page cost the fetching thread a fifth of its time, holding the GIL the
        #: writer needs (a run asks for each request key once)
        self.etags: dict[str, tuple[str, str]] | None = None

    def load_etags(self) -> dict[str, tuple[str, str]]:
        """The earlier runs' ETags, read once (before any thread fetches)."""
        if self.etags is None:
            self.etags = self.ledger.etags(self.name)
        return self.etags

    def fetch_page(self, seq: int, request: PageRequest, ahead: bool = False) -> Fetched:
        # a POST's If-None-Match would be a precondition (412), not a cache check
        kept = self.load_etags().get(request.key) if self.spec.method == "GET" else None
        etag = kept[0] if kept is not None and may_ask_if_changed(self.spec, kept[1]) else None
        response = self._get(request, (("If-None-Match", etag),) if etag else (), ahead)
        cached = self.ledger.last_etag(self.name, request.key) if response.status == 304 else None
        if response.status == 304 and cached is None:
            # the page was purged or erased since the run read its ETag: ask in full
            response = self._get(request, (), ahead)
        if response.status == 304 and cached is not None:
            # the page as kept: its Link header and body still say where the next one is
            headers = {**cached.headers, **response.headers}
            stored = HttpResponse(304, headers, cached.body, response.url)
            return Fetched(seq, request, stored, None, None, loads(cached.body))
        if response.status != 200:
            raise (PageNotFoundError if response.status == 404 else HarvestError)(
                f"harvest of {self.name} stopped: {response.url} answered "
                f"{response.status} (page {seq}); check the source's url, params and auth"
            )
        try:
            document = loads(response.body)  # exact: a cursor past 64 bits stays an int
        except JSONError as exc:
            return Fetched(seq, request, response, [], f"the response is not JSON ({exc})")
        items = items_of(document, self.spec)
        if items is None:
            where = ".".join(self.spec.items or ()) or "the response"
            return Fetched(seq, request, response, [], f"no list of items at {where}")
        return Fetched(seq, request, response, items, None, document)

    def _get(
        self, request: PageRequest, extra: tuple[tuple[str, str], ...], ahead: bool = False
    ) -> HttpResponse:
        spec = self.spec
        attempt = 0
        renewed = False  # an oauth2 token refused once is asked for again, once
        while True:
            self._pace()
            bearer = None
            try:
                # a token endpoint that is down or busy is retried as a page is
                bearer = None if self.token is None else self.token.header()
                token = () if bearer is None else (bearer,)
                http = HttpRequest(
                    request.url, request.params, (*self.headers, *token, *extra),
                    self.secret_params, spec.timeout, json=self._body(request),
                )  # fmt: skip
                self._counted()
                response = self.fetcher.fetch(http)
            except FetchFailedError as exc:
                failure = f"no response ({exc})"
                # a busy token endpoint may say when to come back
                asked = retry_after(exc.retry_after, self.clock())
            else:
                status = response.status
                if status == 401 and self.token is not None and bearer and not renewed:
                    self.token.refused(bearer)
                    renewed = True
                    continue
                spent = spent_for(response.headers, self.clock())
                rate = refused_for_rate(status, response.headers, spent)
                if status not in (429, 503) and status < 500 and not rate:
                    if spent:  # the next request would be refused: every thread waits
                        self._hold(spent)
                    return response
                failure, asked = f"status {status}", None
                if status in (429, 503) or rate:
                    asked = retry_after(response.headers.get("retry-after"), self.clock())
                    asked = spent if asked is None else asked
            if asked is None:
                wait = self._backoff(attempt)
            else:  # the upstream said how long: every thread waits it out
                wait = self._asked(asked, request)
                self._hold(wait)
            if ahead:
                raise AheadFailedError(failure, wait)
            self._spend(failure, request)
            attempt += 1
            self._wait(wait)

    def retry_ahead(self, failed: AheadFailedError, request: PageRequest) -> None:
        """The run needs a page whose request asked ahead failed: that failure spends
        a retry now, and its wait is waited before the page is asked again."""
        self._spend(failed.failure, request)
        self._wait(failed.wait)

    def _spend(self, failure: str, request: PageRequest) -> None:
        """One retry of the run's budget, or the error that stops the run."""
        with self._lock:
            if self.cancelled.is_set():
                raise FetchCancelledError(request.key)
            if self.counts.retries >= self.spec.max_retries:
                raise HarvestError(
                    f"harvest of {self.name} stopped: retry budget of "
                    f"{self.spec.max_retries} spent; last failure: {failure} at "
                    f"{request.key}. Pages before it are committed and the cursor is "
                    "not advanced: run the harvest again later (or raise "
                    "pull.max_retries)"
                )
            self.counts.retries += 1

    def _body(self, request: PageRequest) -> bytes | None:
        if self.spec.method != "POST":
            return None
        return body_bytes(self.spec.body, request.body)

    def _hold(self, seconds: float) -> None:
        """No request of the run's threads for `seconds` (a Retry-After, or a rate
        limit spent until it resets)."""
        with self._lock:
            self.paused_until = max(self.paused_until, time.monotonic() + seconds)

    def _counted(self) -> None:
        """One more HTTP request of the run (a page's, or a token's)."""
        with self._lock:
            self.counts.requests += 1

    def _asked(self, seconds: float, request: PageRequest) -> float:
        if seconds > self.spec.max_backoff_seconds:
            raise HarvestError(
                f"harvest of {self.name} stopped: the upstream asks to wait "
                f"{seconds:.0f}s before {request.key} (more than pull.max_backoff_seconds="
                f"{self.spec.max_backoff_seconds:g}); run the harvest again later"
            )
        return seconds

    def _backoff(self, attempt: int) -> float:
        spec = self.spec
        return backoff(attempt, spec.backoff_seconds, spec.max_backoff_seconds, self.jitter())

    def _pace(self) -> None:
        """At most `rate_limit` requests per second, whatever the number of threads
        (one waits for its slot at a time), and none while a Retry-After pause holds."""
        if self.cancelled.is_set():
            raise FetchCancelledError("the run no longer needs this page")
        pause = self.paused_until - time.monotonic()
        if pause > self.spec.max_backoff_seconds:  # a rate limit spent for long
            raise HarvestError(
                f"harvest of {self.name} stopped: the upstream's rate limit is spent for "
                f"another {pause:.0f}s (more than pull.max_backoff_seconds="
                f"{self.spec.max_backoff_seconds:g}). Pages before it are committed and "
                "the cursor is not advanced: run the harvest again after that"
            )
        if pause > 0:
            self._wait(pause)
        if self.spec.rate_limit is None:
            return
        with self._pacing:
            gap = 1.0 / self.spec.rate_limit - (time.monotonic() - self.last_request)
            if gap > 0:
                self._wait(gap)
            self.last_request = time.monotonic()

    def _wait(self, seconds: float) -> None:
        """`sleep`, then give up if the run was cancelled meanwhile. The service's
        default sleep is the cancellation event's wait, which a cancel ends at once."""
        self.sleep(seconds)
        if self.cancelled.is_set():
            raise FetchCancelledError("the run no longer needs this page")


def pull_of(source: DataSource) -> PullSpec:
    """The source's `pull:` settings, or an error saying a file source is ingested."""
    if source.pull is None:
        raise HarvestError(
            f"source '{source.name}' has no pull: section (harvest pulls HTTP sources; "
            f"use `ingestry ingest {source.name} FILE` for files)"
        )
    return source.pull


def items_of(document: Any, spec: PullSpec) -> list[Any] | None:
    found = value_at(document, spec.items) if spec.items else document
    return found if isinstance(found, list) else None


def auth_of(
    source: DataSource, spec: PullSpec, env: Mapping[str, str]
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """(headers, query parameters) carrying the secret, read from the environment."""
    auth = spec.auth
    if auth is None or auth.type is AuthType.OAUTH2:  # oauth2: its token, per request
        return (), ()

    def secret(var: str) -> str:
        return env_secret(source.name, env, var)

    if auth.type is AuthType.BEARER:
        return (("Authorization", f"Bearer {secret(auth.env)}"),), ()
    if auth.type is AuthType.API_KEY:
        pair = ((auth.name, secret(auth.env)),)
        return ((), pair) if auth.location == "query" else (pair, ())
    user = auth.username if auth.username is not None else secret(str(auth.username_env))
    return (basic_auth(user, secret(auth.env)),), ()
