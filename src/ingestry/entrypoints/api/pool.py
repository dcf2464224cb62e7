"""A few open Stores shared by the request threads.

A Store's storage holds one database connection and is not safe to use from two
threads at once; requests run in a thread pool. So each request borrows a Store for the
duration of one call and gives it back; at most `size` are open (one connection each;
on SQLite, readers proceed in parallel under WAL while writers take turns).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ingestry.config import Settings
from ingestry.domain.errors import StorageError
from ingestry.store import Store, open_store

DEFAULT_SIZE = 4
WAIT_SECONDS = 30.0


class StorePool:
    def __init__(self, settings: Settings, size: int = DEFAULT_SIZE) -> None:
        self.settings = settings
        self.size = size
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
            return self._idle.get(timeout=WAIT_SECONDS)
        except queue.Empty:
            raise StorageError(f"no database connection free within {WAIT_SECONDS:.0f}s") from None

    def close(self) -> None:
        with self._lock:
            for store in self._opened:
                store.close()
            self._opened.clear()
