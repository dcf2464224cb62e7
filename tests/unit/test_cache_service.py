"""CachedReads and WrittenChanges on the in-process cache (no database)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ingestry.adapters.cache.memory import MemoryRecordCache
from ingestry.services.cache import SETTLE_EVERY, CachedReads, WrittenChanges
from ingestry.services.ports import NewRecords, RecordChange
from tests.contract.test_record_cache import new_srn, record


def test_a_miss_loads_and_keeps_the_next_read_is_a_hit() -> None:
    cache = MemoryRecordCache(ttl=60, max_entries=100)
    reads = CachedReads(cache)
    srn = new_srn()
    loads: list[int] = []

    def load() -> Any:
        loads.append(1)
        return record(srn, 1)

    assert reads.get(srn, load) == reads.get(srn, load) == record(srn, 1)
    assert len(loads) == 1
    assert (cache.stats().hits, cache.stats().misses) == (1, 1)
    assert reads.get(new_srn(), lambda: None) is None  # nothing kept for a missing record


def test_a_late_reader_cannot_bring_an_older_version_back() -> None:
    cache = MemoryRecordCache(ttl=60, max_entries=100)
    reads = CachedReads(cache)
    srn = new_srn()

    def slow_load() -> Any:  # version 2 commits (and is announced) while we read v1
        cache.advance([(srn, 2)])
        return record(srn, 1)

    assert reads.get(srn, slow_load).version == 1  # this reader saw the old one...
    assert reads.get(srn, lambda: record(srn, 2)).version == 2  # ...nobody after it


def test_written_changes_advance_after_the_write_and_early_when_many() -> None:
    cache = MemoryRecordCache(ttl=60, max_entries=SETTLE_EVERY * 3)
    calls: list[int] = []

    def inner(session: Any, convention: str, changes: Sequence[RecordChange]) -> None:
        calls.append(len(changes))

    noted = WrittenChanges(cache, inner)
    first = [
        RecordChange("order", "deposition", "", "N-1", 1),
        RecordChange("order", "deposition", "", "U-1", 3),
    ]
    noted(None, "order", first)  # type: ignore[arg-type]
    assert noted.noted == [first[1]] and cache.current(first[1].srn) is None
    assert noted.settle() == 1 and cache.current(first[1].srn) == 3
    many = [RecordChange("order", "deposition", "", f"M-{i}", 2) for i in range(SETTLE_EVERY)]
    noted(None, "order", many)  # type: ignore[arg-type]
    assert noted.noted == [] and cache.current(many[-1].srn) == 2
    assert calls == [2, SETTLE_EVERY]


class _Unbuilt(Sequence[Any]):
    """Rows a lean batch left in its worker: building them is what must not happen."""

    def __len__(self) -> int:
        return 3

    def __getitem__(self, index: Any) -> Any:
        raise AssertionError("a first ingest's rows were rebuilt to note nothing")

    def __iter__(self) -> Any:
        raise AssertionError("a first ingest's rows were rebuilt to note nothing")


def test_new_records_are_passed_on_without_building_their_rows() -> None:
    """A batch that created every record (NewRecords: version 1 each) has nothing to
    note; iterating it would rebuild a lean batch's rows in the writer (issue 16)."""
    cache = MemoryRecordCache(ttl=60, max_entries=100)
    calls: list[int] = []

    def inner(session: Any, convention: str, changes: Sequence[RecordChange]) -> None:
        calls.append(len(changes))

    noted = WrittenChanges(cache, inner)
    noted(None, "order", NewRecords("order", _Unbuilt(), b""))  # type: ignore[arg-type]
    assert calls == [3] and noted.noted == [] and noted.settle() == 0
