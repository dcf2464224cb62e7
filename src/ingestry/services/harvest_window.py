"""Pages asked for before the run reaches them: up to `concurrency` requests in flight.

Most APIs answer in tens or hundreds of milliseconds, so a run that asks for one page
at a time waits on the network for most of its life. With `concurrency` over 1 the
fetching thread keeps the next `concurrency - 1` pages in flight on a small thread pool
while it takes the current one:

- an offset or a page number names the next page before the current one answers
  (`domain.harvest.following`);
- a link, a JSON link or a cursor is in the response, but most count up (`?page=3`,
  then `?page=4`): once two of the run's requests differ by one number, the window
  guesses the next ones by the same step (`domain.pageguess.counted_on`). The first
  guess the upstream's link does not confirm ends the guessing for the run (the pages
  are then asked for one at a time); an opaque cursor is never guessed.

The run's loop (`services.harvest`) stays the only judge of what is a page of the run:
it asks the window for each page as it would ask the client, in order, and the window
hands back the response of a request it already made for the same key, or makes it
then. So the repeated-page and `max_pages` checks, the stop on a problem page and the
end of the pages are exactly those of a run that asks one page at a time. What the
window asked for that the run did not take (past the end, a wrong guess, a failure
there) is never handed on: those requests count in `requests` (they were made), their
responses are not kept, and a failure among them (a 404 past the last offset) ends
nothing. A request asked ahead is not retried where it failed (a 500 or 429 past the
last page would spend the run's retry budget on pages it never needs): when the run
asks for that page, it is asked again then, as a retry. Closing the window cancels
what is still in flight: a request waiting to be retried gives up at once; one on the
wire finishes within its timeout, its response dropped.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

from ingestry.domain.harvest import PageRequest, PullSpec, following
from ingestry.domain.pageguess import counted_on
from ingestry.services.harvest_client import AheadFailedError, Fetched, PullClient

__all__ = ["Window"]


class Window:
    """The requests in flight ahead of the run's loop (see the module docstring)."""

    def __init__(self, client: PullClient, spec: PullSpec, name: str) -> None:
        self.client = client
        self.spec = spec
        self.depth = max(1, spec.concurrency)
        self._pool = ThreadPoolExecutor(self.depth, thread_name_prefix=f"harvest-{name}-get")
        self._flight: deque[tuple[str, Future[Fetched]]] = deque()
        #: the furthest request asked for: (its seq, the request before it, it)
        self._last: tuple[int, PageRequest | None, PageRequest] | None = None
        self._taken: PageRequest | None = None  # the run's latest page
        self._named = following(spec.paginator, PageRequest(spec.url)) is not None
        self._guessing = not self._named

    @staticmethod
    def wanted(spec: PullSpec) -> bool:
        """Whether a run of `spec` may have more than one request in flight."""
        return spec.concurrency > 1

    def fetch(self, seq: int, request: PageRequest) -> Fetched:
        """Page `seq` of the run, `request`: the response of the request already in
        flight for it, else asked for now; the pages after it are asked for too, up to
        `concurrency` in flight, and no further than `max_pages`."""
        # the ETags are read once, before the pool's threads ask for pages
        self.client.load_etags()
        if self._flight and self._flight[0][0] == request.key:
            future = self._flight.popleft()[1]
        else:
            if self._flight:  # not what the run asks for: a wrong guess
                self._guessing = False
                for _, dropped in self._flight:
                    dropped.cancel()  # those not started yet; the others run out
                self._flight.clear()
            future = self._pool.submit(self.client.fetch_page, seq, request)
            self._last = (seq, self._taken, request)
        self._taken = request
        self._fill()
        try:
            return future.result()
        except AheadFailedError as failed:  # asked ahead, not retried there: now it is
            self.client.retry_ahead(failed, request)
            return self.client.fetch_page(seq, request)

    def restart(self) -> None:
        """A new walk of the run's pages begins (a child resource's next parent): what
        is in flight for the walk before is dropped, and guessing may start again."""
        for _, future in self._flight:
            future.cancel()
        self._flight.clear()
        self._last = self._taken = None
        self._guessing = not self._named

    def _fill(self) -> None:
        assert self._last is not None
        seq, before, last = self._last
        while len(self._flight) < self.depth - 1 and seq < self.spec.max_pages:
            ahead = self._after(before, last)
            if ahead is None:
                break
            seq, before, last = seq + 1, last, ahead
            future = self._pool.submit(self.client.fetch_page, seq, ahead, True)
            self._flight.append((ahead.key, future))
        self._last = (seq, before, last)

    def _after(self, before: PageRequest | None, last: PageRequest) -> PageRequest | None:
        if self._named:
            return following(self.spec.paginator, last)
        if self._guessing and before is not None:
            return counted_on(before, last)
        return None

    def close(self) -> None:
        """Cancel what is in flight and wait for the pool's threads (see the module
        docstring); their results and failures are dropped."""
        self.client.cancelled.set()
        for _, future in self._flight:
            future.cancel()
        self._flight.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)
