"""The pages between a harvest's fetching thread and its writer (services.harvest):
bounded by count and bytes, so the fetching thread runs ahead and the writer finds
pages to commit together."""

from __future__ import annotations

import threading
from collections import deque

from ingestry.services.harvest_client import Fetched

__all__ = ["AHEAD_BYTES", "GROUP_BYTES", "GROUP_ITEMS", "Ahead", "Done"]


class Done:
    """The fetching thread's last item: no more pages."""


#: A transaction of the writer takes up to this many items, or pages of this many
#: bytes, when they are already fetched (see `services.harvest`'s `_Run._groups`).
GROUP_ITEMS = 10_000
GROUP_BYTES = 8 << 20
#: Pages are fetched ahead of the writer up to `concurrency` pages, and beyond that
#: while the pages waiting hold fewer bytes than this (so the writer can group them).
AHEAD_BYTES = 16 << 20

_Item = Fetched | BaseException | Done


class Ahead:
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
