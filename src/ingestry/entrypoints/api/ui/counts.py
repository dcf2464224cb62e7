"""The overview's whole-store counts, kept for a few seconds and refreshed behind the
page (stale-while-revalidate).

Records per source, raw rows, open quarantine, extractor versions and the outbox are
counts over whole tables: on 1M records they take longer than a page may (< 200 ms,
issue 20). So they are counted in a background thread: started by the sign-in page or
the first overview, which waits at most `FIRST_WAIT` for them and otherwise says they
are being counted; later overviews show the last counts (with their time) at once, and
one that finds them older than `COUNTS_SECONDS` starts one refresh behind the page.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ingestry.services.ports import QueueState
from ingestry.services.status import ExtractorStatus

COUNTS_SECONDS = 15.0
FIRST_WAIT = 0.15  # seconds the first overview waits for the first counts
log = logging.getLogger("ingestry.ui")


@dataclass(frozen=True)
class Counts:
    at: datetime
    stats: dict[str, dict[str, int]]
    extractors: dict[str, ExtractorStatus]
    queue: QueueState
    seconds: float = 0.0  # how long counting took


@dataclass
class CountsCache:
    ttl: float = COUNTS_SECONDS
    _value: Counts | None = None
    _taken: float = 0.0
    _refreshing: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _done: threading.Event = field(default_factory=threading.Event)

    def get(self, compute: Callable[[], Counts], wait: float = FIRST_WAIT) -> Counts | None:
        """The last counts, or None while the first are still being taken (the call that
        starts them waits up to `wait` seconds); starts a refresh when they are missing
        or old."""
        with self._lock:
            value, age = self._value, time.monotonic() - self._taken
            refresh = (value is None or age > self.ttl) and not self._refreshing
            if refresh:
                self._refreshing = True
                self._done.clear()
        if refresh:
            threading.Thread(target=self._refresh, args=(compute,), daemon=True).start()
        if value is None and refresh and self._done.wait(wait):  # only its starter waits
            with self._lock:
                value = self._value
        return value

    def _store(self, value: Counts) -> None:
        with self._lock:
            self._value, self._taken = value, time.monotonic()

    def _refresh(self, compute: Callable[[], Counts]) -> None:
        try:
            self._store(compute())
        except Exception:  # the page keeps the last counts; the log says why
            log.exception("refreshing the dashboard's counts failed")
        finally:
            with self._lock:
                self._refreshing = False
            self._done.set()
