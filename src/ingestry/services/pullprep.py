"""An HTTP pull's pages prepared in worker processes while the writer writes.

Preparing a page (extraction, hashing, the rows, PostgreSQL's wire encoding) is pure
Python and holds the GIL; on the fetching thread it takes turns with the writer's
thread. Through the store's worker processes (`IngestService.parallel`, the
`ProcessMap` a file ingest uses) it runs beside them: the fetching thread queues each
page's body, a worker frames it (its items' exact bytes) and prepares it as one batch,
and the writer takes the batches back in page order.

The map is started on the writer's thread before the fetching thread exists (its
workers are forked then: never fork beside a thread that may hold a lock). It pulls
its work on the writer's thread too, a bounded look-ahead of it, whenever the writer
asks for a result. A page's work is queued before the page is handed to the writer,
so what the writer waits for is always queued; when nothing else is, the map gets
an empty work (an empty batch comes back and is dropped) rather than waiting for a
page the fetching thread may not be able to hand over until the writer moves on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import cast

from ingestry.domain.sources import DataSource
from ingestry.services.bodies import BodyFormat, BodyInput
from ingestry.services.inputs import Input, UnframeableError
from ingestry.services.ports import BatchWork, PreparedBatch
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
        self._queued: deque[BatchWork] = deque()  # filled by the fetching thread
        self._real: deque[bool] = deque()  # writer's thread: which work was a page's
        self._closed = False
        # the workers inherit this bound method (forked now): a work crosses the pipe
        # as the page's bytes and URL, framed and prepared in the worker
        self._results: Iterator[PreparedBatch] = parallel(self._prepare, self._works())

    def submit(self, body: bytes, url: str) -> None:
        """Queue a page's body; `take` gives its batch back, after the earlier pages'."""
        # shaped as a block of lines (count, bytes) to cross the pipe as it is
        self._queued.append(((0, body), "", url, None, False, False))

    def take(self) -> PreparedBatch:
        """The prepared batch of the earliest page submitted and not yet taken."""
        while True:
            batch = next(self._results)
            if self._real.popleft():
                return batch

    def close(self) -> None:
        """Stop the workers (the map's generator shuts its pool down)."""
        self._closed = True
        close = getattr(self._results, "close", None)
        if close is not None:
            close()

    def _works(self) -> Iterator[BatchWork]:
        while not self._closed:
            try:
                work = self._queued.popleft()
            except IndexError:
                self._real.append(False)
                yield _EMPTY
                continue
            self._real.append(True)
            yield work

    def _prepare(self, work: BatchWork) -> PreparedBatch:
        """In a worker: frame the page (an unframeable body of a raw source is taken
        whole) and prepare its items as one batch."""
        body, url = cast(tuple[int, bytes], work[0])[1], work[2]
        if not url:
            return PreparedBatch()
        chosen: list[Input] = [BodyInput(body, BodyFormat.JSON, self.source, url)]
        while True:
            try:
                works = self.prep.works(chosen)
                break
            except UnframeableError as exc:
                chosen = take_whole(self.source, chosen, exc, strict=False)
        if not works:  # a page without items
            return PreparedBatch()
        (one,) = works  # a page is one batch (part_preparation's batch size)
        ((_, batch, overlap),) = with_overlaps([(None, self.prep.prepare(one))])
        return supersede(batch, overlap)
