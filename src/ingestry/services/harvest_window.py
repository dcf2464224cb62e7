"""Pages asked for before the run reaches them: up to `concurrency` requests in flight.

Most APIs answer in tens or hundreds of milliseconds, so a run that asks for one page
at a time waits on the network for most of its life. Where the paginator names the
next page before the current one answers (an offset, a page number:
`domain.harvest.following`), the fetching thread keeps the next `concurrency - 1`
pages in flight on a small thread pool while it takes the current one. A link, a
JSON link or a cursor is in the response itself: those runs ask one page at a time.

The run's loop (`services.harvest`) stays the only judge of what is a page of the run:
it asks the window for each page as it would ask the client, in order, and the window
hands back the response of a request it already made for the same key, or makes it
then. So the repeated-page and `max_pages` checks, the stop on a problem page and the
end of the pages are exactly those of a run that asks one page at a time. What the
window asked for past the end (a short page, an empty one, a failure) is never handed
on: those requests count in `requests` (they were made), their responses are not
kept, and a failure among them (a 404 past the last offset, say) ends nothing.
Closing the window cancels what is still in flight: a request waiting to be retried
gives up at once; one on the wire finishes within its timeout, its response dropped.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

from ingestry.domain.harvest import PageRequest, PullSpec, following
from ingestry.services.harvest_client import Fetched, PullClient

__all__ = ["Window"]


class Window:
    """The requests in flight ahead of the run's loop (see the module docstring)."""

    def __init__(self, client: PullClient, spec: PullSpec, name: str) -> None:
        self.client = client
        self.spec = spec
        self.depth = max(1, spec.concurrency)
        self._pool = ThreadPoolExecutor(self.depth, thread_name_prefix=f"harvest-{name}-get")
        self._flight: deque[tuple[str, Future[Fetched]]] = deque()
        self._last: tuple[int, PageRequest] | None = None  # the latest asked for

    @staticmethod
    def wanted(spec: PullSpec, first: PageRequest) -> bool:
        """Whether a run of `spec` gains from a window: more than one request at once,
        and pages named before the one before them answers."""
        return spec.concurrency > 1 and following(spec.paginator, first) is not None

    def fetch(self, seq: int, request: PageRequest) -> Fetched:
        """Page `seq` of the run, `request`: the response of the request already in
        flight for it, else asked for now; the pages after it are asked for too, up to
        `concurrency` in flight, and no further than `max_pages`."""
        # the ETags are read once, before the pool's threads ask for pages
        self.client.load_etags()
        while self._flight and self._flight[0][0] != request.key:
            self._flight.popleft()  # not what the run asks for: dropped
        if self._flight:
            future = self._flight.popleft()[1]
        else:
            future = self._pool.submit(self.client.fetch_page, seq, request)
            self._last = (seq, request)
        self._fill(seq, request)
        return future.result()

    def _fill(self, seq: int, request: PageRequest) -> None:
        last_seq, last = self._last if self._last is not None else (seq, request)
        if last_seq < seq:
            last_seq, last = seq, request
        while len(self._flight) < self.depth - 1 and last_seq < self.spec.max_pages:
            ahead = following(self.spec.paginator, last)
            if ahead is None:
                return
            last_seq, last = last_seq + 1, ahead
            self._flight.append(
                (ahead.key, self._pool.submit(self.client.fetch_page, last_seq, ahead))
            )
        self._last = (last_seq, last)

    def close(self) -> None:
        """Cancel what is in flight and wait for the pool's threads (see the module
        docstring); their results and failures are dropped."""
        self.client.cancelled.set()
        for _, future in self._flight:
            future.cancel()
        self._flight.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)
