"""Batches written on several sessions at once, committed in batch order.

On PostgreSQL the writer waits while the server works a batch's statements, one
backend (one core) at a time. With a second session (connection) the next batch's
statements run meanwhile. What is stored, and every record's version history, stays
what one session writing batch after batch would leave, because of two rules:

- **Commits in order.** Batch k+1 commits only after batch k committed; when k fails
  (or the run is stopped), k+1 and everything after it roll back.
- **Disjoint keys side by side.** Batch k+1 starts beside the batches in flight only
  when its keys (record identities, raw and quarantine keys, CSV headers: anything a
  unique index locks) touch none of theirs; otherwise it waits until they committed.
  So two batches of one run never lock the same row.

The wait for the earlier commit is one the database cannot see. A cycle through it
needs another writer: a rival transaction T that waits for a row batch k+1 holds
while batch k waits for a row of T's. The database's deadlock detector sees k -> T ->
k+1 but not k+1 -> k, so nothing would ever give way. A batch that waits for an
earlier commit therefore asks the storage, every `PATIENCE` seconds, whether an earlier
batch is blocked by it (`BlockedBy`); if so it rolls back, freeing its rows, and is
written again once the earlier batches committed.

A failed batch's exception is the run's; the batches after it report nothing.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Hashable, Sequence, Set
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Future

S = TypeVar("S")
T = TypeVar("T")

#: Opens the session (one transaction) of a lane: it commits when the block exits
#: normally and rolls back when it raises.
OpenLane = Callable[[int], AbstractContextManager[S]]
#: (lanes of earlier batches still writing, this lane): whether one of them waits,
#: directly or through other transactions, for a lock this lane's transaction holds.
#: Called from the thread that owns this lane's session.
BlockedBy = Callable[[Sequence[int], int], bool]

#: Seconds between two looks for a cycle through the wait for an earlier commit.
PATIENCE = 0.5


class LaneCancelled(Exception):
    """Raised inside a batch whose predecessor failed, so its session rolls back."""


class _GiveWay(Exception):
    """Raised inside a batch that an earlier one waits for: it rolls back and reruns."""


class OrderedLanes(Generic[S, T]):
    """Runs `write(session)` calls on `lanes` sessions at once, committing in the
    order they were submitted; `on_done` gets each result, in that order, in the
    submitting thread. `write` may run more than once (see the module docstring), on
    a fresh session each time. Use as a context manager: leaving it waits for every
    batch in flight."""

    def __init__(
        self,
        open_lane: OpenLane[S],
        lanes: int,
        on_done: Callable[[T], None],
        blocked_by: BlockedBy | None = None,
    ) -> None:
        if lanes < 1:
            raise ValueError("at least one lane")
        self._open = open_lane
        self._lanes = lanes
        self._on_done = on_done
        self._blocked_by = blocked_by
        # here, not with the module: an ingest on one lane (SQLite) never loads it
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(lanes, thread_name_prefix="ingestry-lane")
        self._flight: deque[tuple[Set[Hashable] | None, int, Future[T]]] = deque()
        self._submitted = 0
        self._stop = threading.Event()

    def submit(self, keys: Set[Hashable] | None, write: Callable[[S], T]) -> None:
        """Queue a batch; blocks while every lane is busy or a batch in flight shares
        one of `keys` (then until that batch committed; None: keys not known, so until
        every batch in flight committed). Raises the exception of an earlier batch
        that failed."""
        while self._flight and (
            len(self._flight) >= self._lanes
            or any(_meet(keys, other) for other, _, _ in self._flight)
        ):
            self._settle_oldest()
        earlier = [(lane, future) for _, lane, future in self._flight]
        lane = self._submitted % self._lanes  # in-order commits free lanes in turn
        self._submitted += 1
        future = self._pool.submit(self._run, lane, write, earlier)
        self._flight.append((keys, lane, future))

    def drain(self) -> None:
        """Wait for every batch in flight, in order."""
        while self._flight:
            self._settle_oldest()

    def _settle_oldest(self) -> None:
        _, _, future = self._flight.popleft()
        self._on_done(future.result())

    def _run(self, lane: int, write: Callable[[S], T], earlier: list[tuple[int, Future[T]]]) -> T:
        while True:
            try:
                with self._open(lane) as session:
                    result = write(session)
                    self._await(lane, earlier)
                return result
            except _GiveWay:
                for _, future in earlier:  # rolled back: write again after them
                    future.exception()
                if earlier[-1][1].exception() is not None:
                    raise LaneCancelled("an earlier batch failed") from None

    def _await(self, lane: int, earlier: list[tuple[int, Future[T]]]) -> None:
        """Return once the batch before this one committed; raise to roll back."""
        if earlier:
            previous = earlier[-1][1]
            while True:
                try:
                    failed = previous.exception(timeout=PATIENCE) is not None
                    break
                except TimeoutError:
                    writing = [n for n, future in earlier if not future.done()]
                    if writing and self._blocked_by is not None and self._blocked_by(writing, lane):
                        raise _GiveWay from None
            if failed:
                raise LaneCancelled("an earlier batch failed")
        if self._stop.is_set():
            raise LaneCancelled("the run was stopped")

    def __enter__(self) -> OrderedLanes[S, T]:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Wait for the batches in flight. Leaving by an exception (the input failed, a
        stop was asked for), they still commit in order, as batch after batch would
        have before the exception, and `on_done` hears of them; an interrupt while
        waiting rolls back what has not committed yet."""
        try:
            if kind is None:
                self.drain()
            else:
                self._finish_quietly()
        except BaseException:
            self._stop.set()
            raise
        finally:
            self._pool.shutdown(wait=True)
            self._flight.clear()

    def _finish_quietly(self) -> None:
        while self._flight:
            _, _, future = self._flight.popleft()
            try:
                result = future.result()
            except Exception:  # the exception being raised is the run's
                continue
            self._on_done(result)


def _meet(keys: Set[Hashable] | None, other: Set[Hashable] | None) -> bool:
    """Whether two batches may lock the same row (unknown keys meet everything)."""
    return keys is None or other is None or not keys.isdisjoint(other)
