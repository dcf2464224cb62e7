"""HarvestSource use case: one run of an HTTP source (`pull:`), page by page.

A fetching thread walks the pages (paginator, retries, rate limit, conditional
requests) up to `concurrency` pages ahead of the writer; the writer stores each page's
response (the ledger: URL, status, headers that matter, bytes), then writes its items
as one transaction of the run, exactly as an ingest of that body would (raw payloads
and receipts for a raw source, records only for a simple one). The cursor's
high-water mark is written only when the whole run has committed. Decisions:
docs/harvest.md.
"""

from __future__ import annotations

import base64
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson

from ingestry.domain.clock import Clock, iso, run_srn, utc_now
from ingestry.domain.harvest import (
    AuthType,
    HarvestError,
    PageRequest,
    PullSpec,
    RepeatedPageError,
    backoff,
    first_request,
    kept_headers,
    later,
    next_request,
    retry_after,
    text_of,
    value_at,
)
from ingestry.domain.sources import DataSource
from ingestry.services.bodies import BodyFormat, BodyInput
from ingestry.services.ingest import IngestService
from ingestry.services.payloads import PayloadInput
from ingestry.services.ports import PreparedBatch
from ingestry.services.ports.harvest import (
    FetchFailedError,
    HarvestLedger,
    HttpFetcher,
    HttpRequest,
    HttpResponse,
    RunLocks,
    StoredPage,
)
from ingestry.services.runcontext import IngestSummary, ingest_run

__all__ = ["HarvestProgress", "HarvestService", "HarvestSummary"]

#: (pages, items, requests) so far
HarvestProgress = Callable[[int, int, int], None]


@dataclass(slots=True)
class HarvestSummary(IngestSummary):
    """`ingest`'s summary plus the contract's harvest counts."""

    pages: int = 0
    requests: int = 0
    retries: int = 0
    bytes: int = 0
    not_modified: int = 0
    cursor: str | None = None


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


class _Done:
    pass


class HarvestService:
    def __init__(
        self,
        ingest: IngestService,
        fetcher: HttpFetcher,
        ledger: HarvestLedger,
        locks: RunLocks,
        *,
        env: Mapping[str, str],
        clock: Clock = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.ingest = ingest
        self.fetcher = fetcher
        self.ledger = ledger
        self.locks = locks
        self.env = env
        self.clock = clock
        self.sleep = sleep
        self.jitter = jitter

    def harvest(
        self,
        source: DataSource,
        *,
        progress: HarvestProgress | None = None,
        check: Callable[[], None] | None = None,
        owner: str | None = None,
    ) -> HarvestSummary:
        """One run: every page until the paginator says there is none. `owner`: the
        lease owner of the job running it (its run lock is the lease's)."""
        spec = _spec(source)
        with self.locks.hold(source.name, owner):
            summary = HarvestSummary(source=source.name, run_srn=run_srn("pull-run", self.clock()))
            started = time.perf_counter()
            mark: Any = self.ledger.cursor(source.name)
            origins = [spec.url]
            with ingest_run(
                summary, origins, self.clock, storage=self.ingest.storage, started=started
            ):
                run = _Run(self, source, spec, summary, mark)
                mark = run.write_all(progress, check)
                if check is not None:
                    check()  # a job whose lease was taken over never sets the cursor
                if spec.cursor is not None and mark is not None:
                    summary.cursor = text_of(mark)
                    if summary.cursor != self.ledger.cursor(source.name):
                        self.ledger.set_cursor(
                            source.name, summary.cursor, summary.run_srn, iso(self.clock())
                        )
            return summary


def _spec(source: DataSource) -> PullSpec:
    if source.pull is None:
        raise HarvestError(
            f"source '{source.name}' has no pull: section (harvest pulls HTTP sources; "
            f"use `ingestry ingest {source.name} FILE` for files)"
        )
    return source.pull


class _Run:
    """One run's state, shared by the fetching thread and the writer."""

    def __init__(
        self,
        service: HarvestService,
        source: DataSource,
        spec: PullSpec,
        summary: HarvestSummary,
        mark: Any,
    ) -> None:
        self.s = service
        self.source = source
        self.spec = spec
        self.summary = summary
        self.mark = mark
        self.start_mark = mark
        self.stop = threading.Event()
        self.last_request = 0.0
        self.headers, self.secret_params = _auth(source, spec, service.env)

    # --- the writer ---------------------------------------------------------------------------

    def write_all(self, progress: HarvestProgress | None, check: Callable[[], None] | None) -> Any:
        items_seen = 0
        for page in self._pages_ahead():
            if check is not None:
                check()
            if page.problem is not None:
                self._store(page)
                self._quarantine(page)
            if page.items is not None:
                batches = page.batches
                if batches is None:
                    batches = self._prepare(page)
                part = self.s.ingest.write_part(self.source, batches, self.summary.run_srn)
                # the page row after its items: a stored ETag always means committed
                # items (a 304 of a page whose items a crash lost would lose them)
                self._store(page)
                self.summary.add(part)
                self.summary.pages += 1
                items_seen += len(page.items)
                self._advance(page.items)
            else:
                self._store(page)
                self.summary.not_modified += 1
            if progress is not None:
                progress(self.summary.pages, items_seen, self.summary.requests)
        return self.mark

    def _prepare(self, page: Fetched) -> list[PreparedBatch]:
        body = BodyInput(page.response.body, BodyFormat.JSON, self.source, page.response.url)
        return self.s.ingest.prepare_part(self.source, [body], self.summary.run_srn)

    def _store(self, page: Fetched) -> None:
        response = page.response
        if response.status != 304:
            self.summary.bytes += len(response.body)
        self.s.ledger.add_page(
            StoredPage(
                self.source.name, self.summary.run_srn, page.seq, page.request.key,
                response.url, response.status, kept_headers(response.headers),
                response.body if response.status != 304 else b"", iso(self.s.clock()),
                page.problem,
            )
        )  # fmt: skip

    def _quarantine(self, page: Fetched) -> None:
        """The page's bytes as one quarantined payload, then the run stops."""
        reason = f"page {page.seq} ({page.response.url}): {page.problem}"
        whole = PayloadInput([page.response.body], page.response.url, reason)
        self.summary.add(self.s.ingest.ingest_part(self.source, [whole], self.summary.run_srn))
        raise HarvestError(
            f"harvest of {self.source.name} stopped: {reason}; the page is quarantined "
            f"(`ingestry quarantine list {self.source.name}`); pages before it are "
            "committed and the cursor is not advanced: fix the source's pull: settings "
            "or wait for the upstream, then run the harvest again"
        )

    def _advance(self, items: list[Any]) -> None:
        cursor = self.spec.cursor
        if cursor is None:
            return
        for item in items:
            value = value_at(item, cursor.field)
            if value is not None and not isinstance(value, dict | list) and later(value, self.mark):
                self.mark = value

    # --- the fetching thread ------------------------------------------------------------------

    def _pages_ahead(self) -> Iterator[Fetched]:
        ahead: queue.Queue[Fetched | BaseException | _Done] = queue.Queue(self.spec.concurrency)

        def put(item: Fetched | BaseException | _Done) -> bool:
            while not self.stop.is_set():
                try:
                    ahead.put(item, timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False

        def fetch_all() -> None:
            try:
                for page in self._pages():
                    if not put(page):
                        return
                put(_Done())
            except BaseException as exc:  # handed to the writer, raised there
                put(exc)

        thread = threading.Thread(target=fetch_all, name=f"harvest-{self.source.name}", daemon=True)
        thread.start()
        try:
            while True:
                item = ahead.get()
                if isinstance(item, _Done):
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.stop.set()
            thread.join()

    def _pages(self) -> Iterator[Fetched]:
        spec = self.spec
        start = None if self.start_mark is None else text_of(self.start_mark)
        request: PageRequest | None = first_request(spec, start)
        seen: set[str] = set()
        seq = 0
        while request is not None and not self.stop.is_set():
            if request.key in seen:
                raise RepeatedPageError(
                    f"harvest of {self.source.name} stopped: the paginator asked again for "
                    f"{request.key} (page {seq + 1}); the upstream repeats its next link or "
                    "cursor, so the run would never end. Pages before it are committed; "
                    "check the paginator settings of the source"
                )
            if seq >= spec.max_pages:
                raise HarvestError(
                    f"harvest of {self.source.name} stopped after max_pages={spec.max_pages} "
                    "pages; raise pull.max_pages if the upstream really has more"
                )
            seen.add(request.key)
            seq += 1
            page = self._fetch_page(seq, request)
            if page.items is not None and page.problem is None:
                page = replace(page, batches=self._prepare(page))  # off the writer's thread
            yield page
            if page.problem is not None:
                return
            document = page.document
            count = len(page.items) if page.items is not None else len(_items(document, spec) or ())
            request = next_request(
                spec.paginator, request, page.response.url, page.response.headers, document, count
            )

    def _fetch_page(self, seq: int, request: PageRequest) -> Fetched:
        cached = self.s.ledger.last_etag(self.source.name, request.key)
        etag = cached.headers.get("etag") if cached is not None else None
        response = self._get(request, (("If-None-Match", etag),) if etag else ())
        if response.status == 304 and cached is not None:
            # the page as kept: its Link header and body still say where the next one is
            headers = {**cached.headers, **response.headers}
            stored = HttpResponse(304, headers, cached.body, response.url)
            return Fetched(seq, request, stored, None, None, orjson.loads(cached.body))
        if response.status != 200:
            raise HarvestError(
                f"harvest of {self.source.name} stopped: {response.url} answered "
                f"{response.status} (page {seq}); check the source's url, params and auth"
            )
        try:
            document = orjson.loads(response.body)
        except orjson.JSONDecodeError as exc:
            return Fetched(seq, request, response, [], f"the response is not JSON ({exc})")
        items = _items(document, self.spec)
        if items is None:
            where = ".".join(self.spec.items or ()) or "the response"
            return Fetched(seq, request, response, [], f"no list of items at {where}")
        return Fetched(seq, request, response, items, None, document)

    def _get(self, request: PageRequest, extra: tuple[tuple[str, str], ...]) -> HttpResponse:
        spec = self.spec
        attempt = 0
        http = HttpRequest(
            request.url, request.params, self.headers + extra, self.secret_params, spec.timeout
        )
        while True:
            self._pace()
            self.summary.requests += 1
            try:
                response = self.s.fetcher.fetch(http)
            except FetchFailedError as exc:
                failure, wait = f"no response ({exc})", self._backoff(attempt)
            else:
                status = response.status
                if status not in (429, 503) and status < 500:
                    return response
                failure = f"status {status}"
                wait = self._backoff(attempt)
                if status in (429, 503):
                    asked = retry_after(response.headers.get("retry-after"), self.s.clock())
                    if asked is not None:
                        wait = self._asked(asked, request)
            if self.summary.retries >= spec.max_retries:
                raise HarvestError(
                    f"harvest of {self.source.name} stopped: retry budget of "
                    f"{spec.max_retries} spent; last failure: {failure} at {request.key}. "
                    "Pages before it are committed and the cursor is not advanced: run the "
                    "harvest again later (or raise pull.max_retries)"
                )
            self.summary.retries += 1
            attempt += 1
            self.s.sleep(wait)

    def _asked(self, seconds: float, request: PageRequest) -> float:
        if seconds > self.spec.max_backoff_seconds:
            raise HarvestError(
                f"harvest of {self.source.name} stopped: the upstream asks to wait "
                f"{seconds:.0f}s before {request.key} (more than pull.max_backoff_seconds="
                f"{self.spec.max_backoff_seconds:g}); run the harvest again later"
            )
        return seconds

    def _backoff(self, attempt: int) -> float:
        spec = self.spec
        return backoff(attempt, spec.backoff_seconds, spec.max_backoff_seconds, self.s.jitter())

    def _pace(self) -> None:
        """At most `rate_limit` requests per second."""
        if self.spec.rate_limit is None:
            return
        gap = 1.0 / self.spec.rate_limit - (time.monotonic() - self.last_request)
        if gap > 0:
            self.s.sleep(gap)
        self.last_request = time.monotonic()


def _items(document: Any, spec: PullSpec) -> list[Any] | None:
    found = value_at(document, spec.items) if spec.items else document
    return found if isinstance(found, list) else None


def _auth(
    source: DataSource, spec: PullSpec, env: Mapping[str, str]
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """(headers, query parameters) carrying the secret, read from the environment."""
    auth = spec.auth
    if auth is None:
        return (), ()

    def secret(var: str) -> str:
        value = env.get(var)
        if not value:
            raise HarvestError(
                f"source '{source.name}': pull.auth needs the environment variable {var} "
                "(secrets are read from the environment only); set it and run again"
            )
        return value

    if auth.type is AuthType.BEARER:
        return (("Authorization", f"Bearer {secret(auth.env)}"),), ()
    if auth.type is AuthType.API_KEY:
        pair = ((auth.name, secret(auth.env)),)
        return ((), pair) if auth.location == "query" else (pair, ())
    user = auth.username if auth.username is not None else secret(str(auth.username_env))
    token = base64.b64encode(f"{user}:{secret(auth.env)}".encode()).decode()
    return (("Authorization", f"Basic {token}"),), ()
