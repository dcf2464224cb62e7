"""HarvestSource use case: one run of an HTTP source (`pull:`), page by page.

A fetching thread walks the pages (paginator, retries, rate limit, conditional
requests; with `concurrency` over 1 the next pages in flight meanwhile:
services.harvest_window) ahead of the writer; the writer stores each page's
response (the ledger: URL, status, headers that matter, bytes), then writes its items
as one transaction of the run, exactly as an ingest of that body would (raw payloads
and receipts for a raw source, records only for a simple one). The cursor's
high-water mark is written only when the whole run has committed. Decisions:
docs/harvest.md.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ingestry.domain.clock import Clock, iso, run_srn, utc_now
from ingestry.domain.harvest import (
    HarvestError,
    PageNotFoundError,
    PageRequest,
    PullSpec,
    RepeatedPageError,
    first_request,
    kept_headers,
    later,
    next_request,
    text_of,
    value_at,
)
from ingestry.domain.lookback import start_of
from ingestry.domain.parents import child_url, marks_text, parent_marks
from ingestry.domain.sources import DataSource
from ingestry.services.bodies import BodyInput
from ingestry.services.harvest_ahead import AHEAD_BYTES, GROUP_BYTES, GROUP_ITEMS, Ahead, Done
from ingestry.services.harvest_client import Fetched, PullClient, items_of, pull_of
from ingestry.services.harvest_summary import HarvestProgress, HarvestSummary
from ingestry.services.harvest_window import Window
from ingestry.services.ingest import IngestService
from ingestry.services.payloads import PayloadInput
from ingestry.services.ports import PreparedBatch
from ingestry.services.ports.harvest import HarvestLedger, HttpFetcher, RunLocks, StoredPage
from ingestry.services.pullprep import PullPreparer
from ingestry.services.runcontext import IngestSummary, ingest_run
from ingestry.services.worker import JobInterruptedError

__all__ = ["HarvestProgress", "HarvestService", "HarvestSummary"]


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
        sleep: Callable[[float], None] | None = None,
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
        parents: Sequence[str] | None = None,
    ) -> HarvestSummary:
        """One run: every page until the paginator says there is none. `owner`: the
        lease owner of the job running it (its run lock is the lease's). `parents`: a
        child resource's parent values (`pull.for_each`), walked in this order."""
        spec = pull_of(source)
        if spec.for_each is not None and parents is None:
            raise HarvestError(f"source '{source.name}' is a child resource: give its parents")
        with self.locks.hold(source.name, owner):
            summary = HarvestSummary(source=source.name, run_srn=run_srn("pull-run", self.clock()))
            started = time.perf_counter()
            mark: Any = self.ledger.cursor(source.name)
            origins = [spec.url]
            with ingest_run(
                summary, origins, self.clock, storage=self.ingest.storage, started=started
            ):
                run = _Run(self, source, spec, summary, mark, parents)
                mark = run.write_all(progress, check)
                if check is not None:
                    check()  # a job whose lease was taken over never sets the cursor
                if spec.cursor is not None and mark is not None:
                    summary.cursor = text_of(mark)
                    if summary.cursor != self.ledger.cursor(source.name):
                        self._set_cursor(source.name, summary, owner)
            return summary

    def _set_cursor(self, source: str, summary: HarvestSummary, owner: str | None) -> None:
        """The run's mark stored; a job's run only while its lease is live (`check`
        reads a flag the heartbeat sets, so a worker that continues after a stop may
        get here before its heartbeat notices the takeover)."""
        assert summary.cursor is not None
        at = iso(self.clock())
        if not self.ledger.set_cursor(source, summary.cursor, summary.run_srn, at, owner):
            raise JobInterruptedError(
                f"the harvest of '{source}' lost its job's lease before storing its cursor"
                " (another worker took the job over): the cursor stays where it was"
            )


class _Run:
    """One run's state, shared by the fetching thread and the writer."""

    def __init__(
        self,
        service: HarvestService,
        source: DataSource,
        spec: PullSpec,
        summary: HarvestSummary,
        mark: Any,
        parents: Sequence[str] | None = None,
    ) -> None:
        self.s = service
        self.parents = parents
        self.source = source
        self.spec = spec
        self.summary = summary
        self.mark = mark
        self.start_mark = mark
        #: a child resource's marks, one per parent (the ledger keeps them as a JSON
        #: object of texts): one mark for many lists would skip a list's older items
        self.marks: dict[str, Any] | None = None
        if spec.for_each is not None and spec.cursor is not None:
            self.marks = parent_marks(source.name, mark)
        self.stop = threading.Event()
        #: set when no page in flight is wanted any more: a retry's wait ends at once
        self.cancel = threading.Event()
        self.client = PullClient(
            source, spec, summary, service.fetcher, service.ledger, env=service.env,
            clock=service.clock, sleep=service.sleep or self._sleep, jitter=service.jitter,
            cancelled=self.cancel,
        )  # fmt: skip
        self.preparer: PullPreparer | None = None

    def _sleep(self, seconds: float) -> None:
        self.cancel.wait(seconds)

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
                    self._advance(page.items, page.parent)
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
        if self.marks is not None:
            # a parent no longer among the parent source's records takes its mark
            # with it: the marks grow with the parents there are, not all there were
            listed = set(self.parents or ())
            kept = {parent: mark for parent, mark in self.marks.items() if parent in listed}
            return marks_text(kept) if kept or self.marks else None
        return self.mark

    def _batches(self, page: Fetched) -> list[PreparedBatch]:
        if page.queued:
            assert self.preparer is not None
            return [self.preparer.take()]
        return page.batches or self._prepare(page)

    def _prepare(self, page: Fetched) -> list[PreparedBatch]:
        return self.s.ingest.prepare_part(self.source, [self._body(page)], self.summary.run_srn)

    def _body(self, page: Fetched) -> BodyInput:
        response = page.response
        return BodyInput.page(response.body, self.source, response.url)

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

    def _advance(self, items: list[Any], parent: str | None) -> None:
        cursor = self.spec.cursor
        if cursor is None:
            return
        mark = self.mark if self.marks is None else self.marks.get(str(parent))
        for item in items:
            value = value_at(item, cursor.field)
            if value is not None and not isinstance(value, dict | list) and later(value, mark):
                mark = value
        if self.marks is None:
            self.mark = mark
        elif mark is not None:
            self.marks[str(parent)] = text_of(mark)

    # --- the fetching thread ------------------------------------------------------------------

    def _groups(self) -> Generator[list[Fetched], None, None]:
        """The fetched pages, in order, a group per transaction: a group takes the
        pages already fetched (never waits for one), up to `GROUP_ITEMS` items and
        `GROUP_BYTES` of bodies, and ends at a quarantined page. A slow upstream
        therefore still commits page by page; a fast one commits a few times per run,
        not once per page. A fetch that failed is raised after the pages before it
        are written (they stay committed)."""
        ahead = Ahead(self.spec.concurrency, AHEAD_BYTES, self.stop)
        parallel = self.s.ingest.parallel
        if parallel is not None:  # forks its workers: before the fetching thread starts
            run = self.summary.run_srn
            prep = self.s.ingest.part_preparation(self.source, run)
            self.preparer = PullPreparer(self.source, prep, parallel)

        def fetch_all() -> None:
            try:
                for page in self._pages():
                    if not ahead.put(page, len(page.response.body)):
                        return
                ahead.put(Done(), 0)
            except BaseException as exc:  # handed to the writer, raised there
                ahead.put(exc, 0)

        thread = threading.Thread(target=fetch_all, name=f"harvest-{self.source.name}", daemon=True)
        thread.start()
        try:
            pending: Fetched | BaseException | Done | None = None
            while True:
                item = pending if pending is not None else ahead.get()
                pending = None
                if isinstance(item, Done):
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
            self.cancel.set()
            thread.join()
            if self.preparer is not None:
                self.preparer.close()

    def _pages(self) -> Iterator[Fetched]:
        spec = self.spec
        start = start_of(
            self.source.name, spec.cursor, self.start_mark if self.marks is None else None
        )
        window = Window(self.client, spec, self.source.name) if Window.wanted(spec) else None
        fetch = window.fetch if window is not None else self.client.fetch_page
        try:
            if spec.for_each is None:
                yield from self._walk(first_request(spec, start), fetch, 0)
                return
            seq, each = 0, spec.for_each
            for value in self.parents or ():
                if self.stop.is_set():
                    break
                if window is not None:
                    window.restart()
                child = replace(spec, url=child_url(spec.url, each.field, value))
                if self.marks is not None:
                    start = start_of(self.source.name, spec.cursor, self.marks.get(value))
                walked = yield from self._walk(first_request(child, start), fetch, seq, value)
                if walked is None:
                    return
                seq = walked
        finally:
            if window is not None:
                window.close()

    def _walk(
        self,
        request: PageRequest | None,
        fetch: Callable[[int, PageRequest], Fetched],
        seq: int,
        parent: str | None = None,
    ) -> Generator[Fetched, None, int | None]:
        """The run's pages in order from `request` (the run's page `seq + 1`), each
        asked for through `fetch` (the client, or the window that has the next ones in
        flight); returns the run's last page number, None when the run must end. A
        child resource's first page that answers 404 is a `parent` gone upstream:
        skipped and counted."""
        spec = self.spec
        seen: set[str] = set()
        first = seq + 1
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
            try:
                page = fetch(seq, request)
            except PageNotFoundError:
                if parent is None or seq != first:
                    raise
                self.summary.parents_missing += 1
                return seq - 1
            if parent is not None:
                page = replace(page, parent=parent)
            if page.items is not None and page.problem is None:  # off the writer's thread
                if self.preparer is not None:
                    self.preparer.submit(page.response.body, page.response.url)
                    page = replace(page, queued=True)
                else:
                    page = replace(page, batches=self._prepare(page))
            yield page
            if page.problem is not None:
                return None  # a page not as the paginator expects ends the run
            document = page.document
            taken = page.items if page.items is not None else items_of(document, spec) or []
            request = next_request(
                spec.paginator, request, page.response.url, page.response.headers, document, taken
            )
        return seq
