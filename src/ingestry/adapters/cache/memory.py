"""An in-process LRU record cache with a TTL on every entry.

Per process: a write in another process reaches it only through that process's own
dispatcher or the TTL, so several API processes want the Redis cache (docs/cache.md).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from ingestry.adapters.cache.counters import Counters
from ingestry.domain.records import Record
from ingestry.services.ports import CacheStats

Key = tuple[str, int, str]  # (srn, version, "r" record | "h" history | "p" pointer)
POINTER = -1


class MemoryRecordCache:
    """OrderedDict LRU of at most `max_entries` entries, each expiring `ttl` seconds
    after it was written."""

    def __init__(
        self, ttl: float, max_entries: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[Key, tuple[float, object]] = OrderedDict()
        self._counters = Counters("memory")

    # --- the map ------------------------------------------------------------------------

    def _read(self, key: Key) -> object | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            if found[0] <= self._clock():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return found[1]

    def _write(self, key: Key, value: object) -> None:
        """Under the lock."""
        self._entries[key] = (self._clock() + self.ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def _advance(self, srn: str, version: int) -> bool:
        """Under the lock: the pointer to max(pointer, version)."""
        key = (srn, POINTER, "p")
        found = self._entries.get(key)
        alive = found is not None and found[0] > self._clock()
        if alive and found is not None and isinstance(found[1], int) and found[1] >= version:
            return False
        self._write(key, version)
        return True

    # --- RecordCache --------------------------------------------------------------------

    def current(self, srn: str) -> int | None:
        found = self._read((srn, POINTER, "p"))
        return found if isinstance(found, int) else None

    def get(self, srn: str, version: int) -> Record | None:
        found = self._read((srn, version, "r"))
        return found if isinstance(found, Record) else None

    def get_history(self, srn: str, version: int) -> list[Record] | None:
        found = self._read((srn, version, "h"))
        return list(found) if isinstance(found, tuple) else None

    def put(self, record: Record) -> None:
        with self._lock:
            self._write((record.srn, record.version, "r"), record)
            self._advance(record.srn, record.version)

    def put_history(self, srn: str, versions: Sequence[Record]) -> None:
        if versions:
            with self._lock:
                self._write((srn, versions[-1].version, "h"), tuple(versions))
                self._advance(srn, versions[-1].version)

    def advance(self, items: Sequence[tuple[str, int]]) -> int:
        with self._lock:
            moved = sum(self._advance(srn, version) for srn, version in items)
        self._counters.count(invalidations=moved)
        return moved

    def forget(self, srns: Sequence[str]) -> None:
        gone = set(srns)
        with self._lock:
            for key in [k for k in self._entries if k[0] in gone]:
                del self._entries[key]

    def count(self, *, hits: int = 0, misses: int = 0) -> None:
        self._counters.count(hits=hits, misses=misses)

    def stats(self) -> CacheStats:
        return self._counters.stats()

    def close(self) -> None:
        with self._lock:
            self._entries.clear()
