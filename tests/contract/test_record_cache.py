"""The RecordCache port, written once, run on the in-process LRU and on Redis.

What readers rely on: an entry is found under its version; the pointer only moves
forward (a late reader cannot put an older version back); `forget` drops a record's
every entry; every key expires; counters count.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestry.adapters.cache.memory import MemoryRecordCache
from ingestry.adapters.cache.redis import RedisRecordCache, pointer_key, version_key
from ingestry.bootstrap.redis import redis_client
from ingestry.domain.provenance import DepositionSource
from ingestry.domain.records import Record, record_srn
from ingestry.services.ports import RecordCache

WHEN = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def record(srn: str, version: int, note: str = "n") -> Record:
    return Record(
        srn=srn,
        convention="order",
        source=DepositionSource(srn.rsplit(":", 1)[1]),
        metadata={"note": note, "version": version},
        columns={"total": None},
        version=version,
        published_at=WHEN,
        updated_at=WHEN,
    )


def new_srn() -> str:
    return record_srn("order", "deposition", "", f"C-{secrets.token_hex(6)}")


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def cache(request: pytest.FixtureRequest) -> Iterator[RecordCache]:
    if request.param == "memory":
        yield MemoryRecordCache(ttl=60, max_entries=1000)
        return
    url = request.getfixturevalue("redis_url")
    opened = RedisRecordCache(redis_client(url), ttl=60)
    yield opened
    opened.close()


def test_an_entry_is_found_under_its_version_and_moves_the_pointer(cache: RecordCache) -> None:
    srn = new_srn()
    assert cache.current(srn) is None and cache.get(srn, 1) is None
    cache.put(record(srn, 1))
    assert cache.current(srn) == 1
    found = cache.get(srn, 1)
    assert found == record(srn, 1)
    assert cache.get(srn, 2) is None


def test_the_pointer_never_moves_back(cache: RecordCache) -> None:
    srn = new_srn()
    assert cache.advance([(srn, 4)]) == 1
    cache.put(record(srn, 3))  # a reader that loaded version 3 before 4 committed
    assert cache.current(srn) == 4
    assert cache.advance([(srn, 2), (srn, 4)]) == 0
    assert cache.advance([(srn, 5)]) == 1
    assert cache.current(srn) == 5
    assert cache.stats().invalidations == 2


def test_history_is_kept_per_current_version(cache: RecordCache) -> None:
    srn = new_srn()
    versions = [record(srn, 1, "a"), record(srn, 2, "b")]
    cache.put_history(srn, versions)
    assert cache.get_history(srn, 2) == versions
    assert cache.get_history(srn, 1) is None
    assert cache.current(srn) == 2


def test_forget_drops_every_entry_of_a_record_and_no_other(cache: RecordCache) -> None:
    srn, other = new_srn(), new_srn()
    for version in (1, 2):
        cache.put(record(srn, version))
    cache.put_history(srn, [record(srn, 1), record(srn, 2)])
    cache.put(record(other, 1))
    cache.forget([srn])
    assert cache.current(srn) is None
    assert cache.get(srn, 1) is None and cache.get(srn, 2) is None
    assert cache.get_history(srn, 2) is None
    assert cache.get(other, 1) is not None


def test_counters(cache: RecordCache) -> None:
    before = cache.stats()
    cache.count(hits=2)
    cache.count(misses=1)
    after = cache.stats()
    assert (after.hits - before.hits, after.misses - before.misses) == (2, 1)
    assert after.kind in ("memory", "redis")


@pytest.mark.redis
def test_redis_keys_follow_the_design_and_all_expire(redis_url: str) -> None:
    client = redis_client(redis_url)
    cache = RedisRecordCache(client, ttl=30)
    srn = new_srn()
    cache.put(record(srn, 1))
    assert client.exists(f"ingestry:record:{srn}:1") and client.exists(pointer_key(srn))
    for key in (version_key(srn, 1), pointer_key(srn)):
        assert 0 < client.pttl(key) <= 30_000
    cache.forget([srn])
    client.close()


def test_memory_entries_expire_and_the_lru_is_bounded() -> None:
    now = [0.0]
    cache = MemoryRecordCache(ttl=10, max_entries=3, clock=lambda: now[0])
    srn = new_srn()
    cache.put(record(srn, 1))  # two entries: the version and the pointer
    now[0] = 9.9
    assert cache.get(srn, 1) is not None
    now[0] = 10.0
    assert cache.get(srn, 1) is None and cache.current(srn) is None
    others = [new_srn() for _ in range(3)]
    for other in others:
        cache.put(record(other, 1))
    assert cache.get(others[0], 1) is None  # evicted, oldest first
    assert cache.get(others[2], 1) is not None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["put", "advance"]), st.integers(1, 6)), max_size=30))
def test_any_sequence_leaves_the_pointer_at_the_highest_version_told(
    steps: list[tuple[str, int]],
) -> None:
    cache = MemoryRecordCache(ttl=60, max_entries=100)
    srn = new_srn()
    for kind, version in steps:
        if kind == "put":
            cache.put(record(srn, version))
        else:
            cache.advance([(srn, version)])
    assert cache.current(srn) == (max(v for _, v in steps) if steps else None)
