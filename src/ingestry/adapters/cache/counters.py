"""Hit, miss and invalidation counters shared by the cache adapters."""

from __future__ import annotations

import threading

from ingestry.services.ports import CacheStats


class Counters:
    """Per-process counters (request threads share one cache object)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._lock = threading.Lock()
        self._hits = self._misses = self._invalidations = 0

    def count(self, *, hits: int = 0, misses: int = 0, invalidations: int = 0) -> None:
        with self._lock:
            self._hits += hits
            self._misses += misses
            self._invalidations += invalidations

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self.kind, self._hits, self._misses, self._invalidations)
