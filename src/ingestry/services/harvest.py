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
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

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
from ingestry.extract.jsonio import JSONError, loads
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
from ingestry.services.pullprep import PullPreparer
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
    queued: bool = False  # or: prepared by the worker processes (services.pullprep)


class _Done:
    pass


#: A transaction of the writer takes up to this many items, or pages of this many
#: bytes, when they are already fetched (see `_Run._groups`).
GROUP_ITEMS = 10_000
GROUP_BYTES = 8 << 20
#: Pages are fetched ahead of the writer up to `concurrency` pages, and beyond that
#: while the pages waiting hold fewer bytes than this (so the writer can group them).
AHEAD_BYTES = 16 << 20

_Item = Fetched | BaseException | _Done


class _Ahead:
    """The pages between the fetching thread and the writer, bounded by count and
    bytes: `put` waits while at least `pages` wait and they hold `limit` bytes."""

    def __init__(self, pages: int, limit: int, stop: threading.Event) -> None:
        self._pages = max(1, pages)
        self._limit = limit
        self._stop = stop
        self._items: deque[tuple[_Item, int]] = deque()
        self._bytes = 0
        self._cond = threading.Condition()

    def put(self, item: _Item, size: int) -> bool:
        """False when the run stopped before there was room."""
        with self._cond:
            while len(self._items) >= self._pages and self._bytes + size > self._limit:
                if self._stop.is_set():
                    return False
                self._cond.wait(0.2)
            self._items.append((item, size))
            self._bytes += size
            self._cond.notify_all()
            return True

    def get(self) -> _Item:
        with self._cond:
            while not self._items:
                self._cond.wait()
            return self._take()

    def get_nowait(self) -> _Item | None:
        with self._cond:
            return self._take() if self._items else None

    def _take(self) -> _Item:
        item, size = self._items.popleft()
        self._bytes -= size
        self._cond.notify_all()
        return item


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
        self.preparer: PullPreparer | None = None

    # --- the writer ---------------------------------------------------------------------------

    def write_all(self, progress: HarvestProgress | None, check: Callable[[], None] | None) -> Any:
        problem: list[Fetched] = []
        seen = [0]

        groups = self._groups()

        def parts() -> Iterator[tuple[list[PreparedBatch], list[Fetched]]]:
            for group in groups:
                if check is not None:
                    check()
                if group[-1].problem is not None:  # the last page of the run
                    problem.append(group.pop())
                yield [b for p in group if p.items is not None for b in self._batches(p)], group

        def committed(part: IngestSummary, group: list[Fetched]) -> None:
            self.summary.add(part)
            # the page rows after their items: a stored ETag always means committed
            # items (a 304 of a page whose items a crash lost would lose them)
            self._store(group)
            for page in group:
                if page.items is not None:
                    self.summary.pages += 1
                    seen[0] += len(page.items)
                    self._advance(page.items)
                else:
                    self.summary.not_modified += 1
            if progress is not None:
                progress(self.summary.pages, seen[0], self.summary.requests)

        try:
            self.s.ingest.write_parts(self.source, parts(), self.summary.run_srn, committed)
        finally:
            groups.close()  # the fetching thread and the workers stop now, not at gc
        for page in problem:
            self._store([page])
            self._quarantine(page)
        return self.mark

    def _batches(self, page: Fetched) -> list[PreparedBatch]:
        if page.queued:
            assert self.preparer is not None
            return [self.preparer.take()]
        return page.batches or self._prepare(page)

    def _prepare(self, page: Fetched) -> list[PreparedBatch]:
        return self.s.ingest.prepare_part(self.source, [self._body(page)], self.summary.run_srn)

    def _body(self, page: Fetched) -> BodyInput:
        return BodyInput(page.response.body, BodyFormat.JSON, self.source, page.response.url)

    def _store(self, pages: list[Fetched]) -> None:
        stored = []
        for page in pages:
            response = page.response
            if response.status != 304:
                self.summary.bytes += len(response.body)
            stored.append(
                StoredPage(
                    self.source.name, self.summary.run_srn, page.seq, page.request.key,
                    response.url, response.status, kept_headers(response.headers),
                    response.body if response.status != 304 else b"", iso(self.s.clock()),
                    page.problem,
                )
            )  # fmt: skip
        self.s.ledger.add_pages(stored)

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

    def _groups(self) -> Generator[list[Fetched], None, None]:
        """The fetched pages, in order, a group per transaction: a group takes the
        pages already fetched (never waits for one), up to `GROUP_ITEMS` items and
        `GROUP_BYTES` of bodies, and ends at a quarantined page. A slow upstream
        therefore still commits page by page; a fast one commits a few times per run,
        not once per page. A fetch that failed is raised after the pages before it
        are written (they stay committed)."""
        ahead = _Ahead(self.spec.concurrency, AHEAD_BYTES, self.stop)
        parallel = self.s.ingest.parallel
        if parallel is not None:  # forks its workers: before the fetching thread starts
            prep = self.s.ingest.part_preparation(self.source, self.summary.run_srn)
            self.preparer = PullPreparer(self.source, prep, parallel)

        def fetch_all() -> None:
            try:
                for page in self._pages():
                    if not ahead.put(page, len(page.response.body)):
                        return
                ahead.put(_Done(), 0)
            except BaseException as exc:  # handed to the writer, raised there
                ahead.put(exc, 0)

        thread = threading.Thread(target=fetch_all, name=f"harvest-{self.source.name}", daemon=True)
        thread.start()
        try:
            pending: Fetched | BaseException | _Done | None = None
            while True:
                item = pending if pending is not None else ahead.get()
                pending = None
                if isinstance(item, _Done):
                    return
                if isinstance(item, BaseException):
                    raise item
                group, items, size = [item], len(item.items or ()), len(item.response.body)
                while item.problem is None and items < GROUP_ITEMS and size < GROUP_BYTES:
                    more = ahead.get_nowait()
                    if more is None:
                        break
                    if not isinstance(more, Fetched):
                        pending = more
                        break
                    item = more
                    group.append(item)
                    items += len(item.items or ())
                    size += len(item.response.body)
                yield group
        finally:
            self.stop.set()
            thread.join()
            if self.preparer is not None:
                self.preparer.close()

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
            if page.items is not None and page.problem is None:  # off the writer's thread
                if self.preparer is not None:
                    self.preparer.submit(page.response.body, page.response.url)
                    page = replace(page, queued=True)
                else:
                    page = replace(page, batches=self._prepare(page))
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
            return Fetched(seq, request, stored, None, None, loads(cached.body))
        if response.status != 200:
            raise HarvestError(
                f"harvest of {self.source.name} stopped: {response.url} answered "
                f"{response.status} (page {seq}); check the source's url, params and auth"
            )
        try:
            document = loads(response.body)  # exact: a cursor past 64 bits stays an int
        except JSONError as exc:
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
