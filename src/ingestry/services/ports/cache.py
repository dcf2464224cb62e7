"""RecordCache: where record reads are kept between requests (issue 19 item 2).

Versions are immutable, so an entry `(srn, version)` never goes stale; what moves is
the pointer to a record's current version. The pointer only ever moves forward
(`advance` keeps the larger of the two), which is what makes a late reader harmless:
one that loaded version 3 from the database while version 4 was being committed
cannot put the pointer back to 3. Erasure (`forget`) is the one way back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ingestry.domain.records import Record


@dataclass(frozen=True)
class CacheStats:
    """Counters of one process's cache object, for /metrics (collected, not reset)."""

    kind: str
    hits: int = 0
    misses: int = 0
    invalidations: int = 0


class RecordCache(Protocol):
    """Record reads by (srn, version) plus a forward-only pointer to the current one."""

    def current(self, srn: str) -> int | None:
        """The version the pointer names, or None (never seen, expired or forgotten)."""
        ...

    def get(self, srn: str, version: int) -> Record | None: ...

    def get_history(self, srn: str, version: int) -> list[Record] | None:
        """All versions up to `version`, oldest first, as cached with `put_history`."""
        ...

    def put(self, record: Record) -> None:
        """Keep `record` under its version and advance the pointer to it."""
        ...

    def put_history(self, srn: str, versions: Sequence[Record]) -> None: ...

    def advance(self, items: Sequence[tuple[str, int]]) -> int:
        """Move each srn's pointer to at least `version` (a committed write or a
        delivered event): readers then miss and load it. Returns how many moved."""
        ...

    def forget(self, srns: Sequence[str]) -> None:
        """Drop everything kept for these srns (erasure: the versions themselves go)."""
        ...

    def stats(self) -> CacheStats: ...

    def count(self, *, hits: int = 0, misses: int = 0) -> None:
        """Count reads answered from the cache (hits) or from the database (misses)."""
        ...

    def close(self) -> None: ...
