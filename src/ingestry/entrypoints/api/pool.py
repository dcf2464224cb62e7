"""A few open Stores shared by the request threads.

A Store's storage holds one database connection and is not safe to use from two
threads at once; requests run in a thread pool. So each request borrows a Store for the
duration of one call and gives it back; at most `size` are open (one connection each;
on SQLite, readers proceed in parallel under WAL while writers take turns).

Limits (docs/limits.md): a request waits at most `limits.pool_wait_seconds` for a
Store, then gets 503 with Retry-After (PoolExhaustedError) instead of queuing forever
behind slow requests; and every statement a request runs on its Store is cancelled
past `limits.statement_timeout_seconds` (StatementTimeoutError, 503).
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ingestry.config import Settings
from ingestry.domain.errors import PoolExhaustedError
from ingestry.store import Store, open_store

DEFAULT_SIZE = 4


class StorePool:
    def __init__(self, settings: Settings, size: int = DEFAULT_SIZE) -> None:
        self.settings = settings
        self.size = size
        self.wait_seconds = settings.limits.pool_wait_seconds
        self._idle: queue.LifoQueue[Store] = queue.LifoQueue()
        self._opened: list[Store] = []
        self._lock = threading.Lock()
        self.primary = self._open()  # migrates an empty database before serving
        self._idle.put(self.primary)

    def _open(self) -> Store:
        store = open_store(self.settings)
        _ = store.storage
        self._opened.append(store)
        return store

    @contextmanager
    def borrow(self) -> Iterator[Store]:
        store = self._take()
        try:
            with store.limited("request"):
                yield store
        finally:
            self._idle.put(store)

    def _take(self) -> Store:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if len(self._opened) < self.size:
                return self._open()
        try:
            return self._idle.get(timeout=self.wait_seconds or None)
        except queue.Empty:
            retry = max(1, math.ceil(self.wait_seconds))
            raise PoolExhaustedError(self.wait_seconds, self.size, retry) from None

    def close(self) -> None:
        with self._lock:
            for store in self._opened:
                store.close()
            self._opened.clear()
