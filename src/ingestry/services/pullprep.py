"""An HTTP pull's pages prepared in worker processes while the writer writes.

Preparing a page (extraction, hashing, the rows, PostgreSQL's wire encoding) is pure
Python and holds the GIL; on the fetching thread it takes turns with the writer's
thread. Through the store's worker processes (`IngestService.parallel`, the
`ProcessMap` a file ingest uses) it runs beside them: the fetching thread queues each
page's body, a worker frames it (its items' exact bytes) and prepares it as one batch,
and the writer takes the batches back in page order.

The map is started on the writer's thread before any other thread exists (its
workers are forked then: never fork beside a thread that may hold a lock). A thread
of its own (`harvest-prep`) then drives it: it hands the map each queued page and
collects the batches as they come, whatever the writer is doing. The map only moves
when its caller asks for a result (a bounded look-ahead of two pages), so driven by
the writer it prepared two pages while the writer wrote a group of ten, and the
writer then waited for the other eight (100,000 items on SQLite: 6.6 s of a 26 s run
waiting in `take`). When no page is queued but one is in flight, the thread gives
the map an empty work (an empty batch comes back and is dropped), so the pages
already in flight come out even when the fetching thread cannot hand over the next
one until the writer moves on.

A writer that finds the page it takes not prepared yet waits for it; it never prepares
pages itself. It used to (the latest queued pages, on its own thread, without images),
which paid on PostgreSQL when the writer mostly waited for the one worker a 2-core
machine gets; since the workers take the rows' binding and encoding off the writer it
cost more than it saved on both backends: the writer holds the GIL while preparing and
finishes a page it started after its own page is ready, and on SQLite the writer is
the critical path (100,000 items: a third of the pages were prepared by the writer,
0.19 s of its CPU; harvests 10-12% faster without, bench/README.md "Harvest, sixth
pass").

The thread unpacks each batch's rows before handing it over: the map reuses a
worker's shared-memory slot a few pages later and then unpacks, on its own thread,
the rows still pointing into it, which must not race the writer reading them.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from typing import cast

from ingestry.domain.sources import DataSource
from ingestry.services.bodies import BodyInput
from ingestry.services.inputs import Input, UnframeableError
from ingestry.services.ports import BatchWork, PreparedBatch
from ingestry.services.ports.batches import LazyRows
from ingestry.services.preparation import MapFn, Preparation
from ingestry.services.spill import take_whole
from ingestry.services.supersede import supersede, with_overlaps

#: The work that keeps the map's look-ahead moving when no page's work is queued.
_EMPTY: BatchWork = ((0, b""), "", "", None, False, False)


class PullPreparer:
    """Pages' bodies in, prepared batches out, one per page, in order (see the module
    docstring)."""

    def __init__(self, source: DataSource, prep: Preparation, parallel: MapFn) -> None:
        self.source = source
        self.prep = prep
        self._cond = threading.Condition()
        self._queued: deque[tuple[BatchWork, Future[PreparedBatch]]] = deque()
        self._taken: deque[Future[PreparedBatch]] = deque()  # the writer's, in order
        self._closed = False
        self._failed: BaseException | None = None
        # the workers inherit this bound method (forked now): a work crosses the pipe
        # as the page's bytes and URL, framed and prepared in the worker
        self._inflight: deque[Future[PreparedBatch] | None] = deque()  # None: an empty's
        self._results: Iterator[PreparedBatch] = parallel(self._prepare, self._works())
        # started once the workers are forked, before the fetching thread is
        self._thread = threading.Thread(target=self._drive, name="harvest-prep", daemon=True)
        self._thread.start()

    def submit(self, body: bytes, url: str) -> None:
        """Queue a page's body; `take` gives its batch back, after the earlier pages'."""
        future: Future[PreparedBatch] = Future()
        with self._cond:
            # shaped as a block of lines (count, bytes) to cross the pipe as it is
            self._queued.append((((0, body), "", url, None, False, False), future))
            self._taken.append(future)
            if self._failed is not None:
                future.set_exception(self._failed)
            self._cond.notify_all()

    def take(self) -> PreparedBatch:
        """The prepared batch of the earliest page submitted and not yet taken, once
        it is ready (see the module docstring: the writer does not prepare pages)."""
        with self._cond:
            future = self._taken.popleft()
            while not future.done():
                self._cond.wait()
        return future.result()

    def ready(self) -> tuple[int, int]:
        """(prepared, all) of the pages submitted and not yet taken."""
        with self._cond:
            return sum(future.done() for future in self._taken), len(self._taken)

    def close(self) -> None:
        """Stop the thread and the workers (the thread shuts the map's pool down)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join()

    # --- the preparing thread ------------------------------------------------------------

    def _drive(self) -> None:
        """Hand the map its works, collect the batches in order (each work's future
        waits in `_inflight`, pages' and empties' alike)."""
        try:
            for batch in self._results:
                future = self._inflight.popleft()
                if future is None:
                    continue  # an empty work's
                for rows in (batch.raw, batch.records):
                    if isinstance(rows, LazyRows):
                        rows.rows  # noqa: B018 (unpacked here: see the module docstring)
                with self._cond:  # the writer may wait in `take`
                    future.set_result(batch)
                    self._cond.notify_all()
        except BaseException as exc:  # the writer raises it from `take`
            with self._cond:
                self._failed = exc
                for future in (f for f in self._inflight if f is not None):
                    future.set_exception(exc)
                for _, future in self._queued:
                    future.set_exception(exc)
                self._inflight.clear()
                self._queued.clear()
                self._cond.notify_all()
        finally:
            close = getattr(self._results, "close", None)
            if close is not None:
                close()

    def _works(self) -> Iterator[BatchWork]:
        """The queued pages; when there is none, an empty work if a page is still in
        flight (the map yields its batch only once it holds its look-ahead of works),
        else a wait for the next page."""
        while True:
            with self._cond:
                while not (self._queued or self._closed or self._real_inflight()):
                    self._cond.wait()
                if self._closed:
                    return
                if self._queued:
                    work, future = self._queued.popleft()
                    self._inflight.append(future)
                else:
                    work = _EMPTY
                    self._inflight.append(None)
            yield work

    def _real_inflight(self) -> bool:
        return any(future is not None for future in self._inflight)

    def _prepare(self, work: BatchWork) -> PreparedBatch:
        """In a worker: frame the page (an unframeable body of a raw source is taken
        whole) and prepare its items as one batch."""
        prep = self.prep
        body, url = cast(tuple[int, bytes], work[0])[1], work[2]
        if not url:
            return PreparedBatch()
        chosen: list[Input] = [BodyInput.page(body, self.source, url)]
        while True:
            try:
                works = prep.works(chosen)
                break
            except UnframeableError as exc:
                chosen = take_whole(self.source, chosen, exc, strict=False)
        if not works:  # a page without items
            return PreparedBatch()
        (one,) = works  # a page is one batch (part_preparation's batch size)
        ((_, batch, overlap),) = with_overlaps([(None, prep.prepare(one))])
        return supersede(batch, overlap)
