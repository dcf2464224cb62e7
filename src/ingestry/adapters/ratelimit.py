"""The in-process rate limiter: one token bucket per key, guarded by a lock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ingestry.services.ports import Bucket, take

#: Buckets kept at most; the least recently used go first (a full bucket is the default).
MAX_KEYS = 10_000


class MemoryRateLimiter:
    in_process = True

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, Bucket] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float:
        with self._lock:
            bucket, wait = take(self._buckets.pop(key, None), self.clock(), self.rate, self.burst)
            self._buckets[key] = bucket
            if len(self._buckets) > MAX_KEYS:
                del self._buckets[next(iter(self._buckets))]
            return wait
