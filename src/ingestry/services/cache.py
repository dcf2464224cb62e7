"""Read-through record reads and the writer's own invalidation (issue 19 item 2).

A read asks the pointer for the current version, then that version's entry; on a miss
it loads from the database and keeps what it got (never a miss: a record that does
not exist is not cached, so a new record is seen at once). Staleness has one source:
a write committed in another process whose event the dispatcher has not delivered
yet; the writing process itself advances the pointer right after its commit
(read-your-writes), and `invalidate_on_delivery` does it for everyone else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ingestry.domain.events import RecordEvent
from ingestry.domain.records import Record
from ingestry.services.ports import (
    NewRecords,
    OnChanges,
    RecordCache,
    RecordChange,
    StorageSession,
)


class CachedReads:
    """`get` and `history` through a RecordCache, loading from storage on a miss."""

    def __init__(self, cache: RecordCache) -> None:
        self.cache = cache

    def get(self, srn: str, load: Callable[[], Record | None]) -> Record | None:
        found = self.cache.lookup(srn)
        if found is not None:
            self.cache.count(hits=1)
            return found
        self.cache.count(misses=1)
        record = load()
        if record is not None:
            self.cache.put(record)
        return record

    def history(self, srn: str, load: Callable[[], list[Record]]) -> list[Record]:
        found = self.cache.lookup_history(srn)
        if found is not None:
            self.cache.count(hits=1)
            return found
        self.cache.count(misses=1)
        versions = load()
        self.cache.put_history(srn, versions)
        return versions


#: A long ingest advances what it noted every this many changed records (memory stays
#: flat); a pointer moved before its commit costs misses until then, never staleness.
SETTLE_EVERY = 50_000


class WrittenChanges:
    """Wraps a batch's `on_changes` (the outbox writer) to note changed records, so
    the writing process can advance their pointers once the batch has committed.

    Only versions above 1 are noted: a new record has nothing cached to go stale (no
    negative entries), so a first ingest costs the cache nothing."""

    def __init__(self, cache: RecordCache, inner: OnChanges) -> None:
        self.cache = cache
        self.inner = inner
        self.noted: list[RecordChange] = []

    def __call__(
        self, session: StorageSession, convention: str, changes: Sequence[RecordChange]
    ) -> None:
        self.inner(session, convention, changes)
        if isinstance(changes, NewRecords):  # version 1 each: iterating it would rebuild
            return  # a lean batch's rows (the whole batch) in the writer, to note nothing
        self.noted.extend(c for c in changes if c.version > 1)
        if len(self.noted) >= SETTLE_EVERY:
            self.settle()  # early (before this batch commits) is safe: see `settle`

    def settle(self) -> int:
        """Advance the noted pointers (after commit; after a failure too: a pointer
        ahead of the database only costs misses, never a stale read)."""
        noted, self.noted = self.noted, []
        if not noted:
            return 0
        return self.cache.advance([(c.srn, c.version) for c in noted])


def invalidate_on_delivery(cache: RecordCache) -> Callable[[RecordEvent], None]:
    """The dispatcher's handler: a delivered event advances its record's pointer, for
    every process that shares the cache (Redis)."""

    def invalidate_cache(event: RecordEvent) -> None:
        cache.advance([(event.srn, event.version)])

    return invalidate_cache
