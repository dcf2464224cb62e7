"""The record cache in front of `Store.get` / `history`, on every backend.

Reads are answered from the cache after the first; the writer sees its own writes at
once (publish, update, re-ingest, replay); another process sharing Redis sees them at
once too when the writer shares the cache, and otherwise as soon as the dispatcher
delivers the write's event (the invalidation handler), never later.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

import ingestry
from ingestry import DepositionSource
from ingestry.store import Store
from tests.backends import Database

META = {"created_at": "2026-11-01T10:00:00Z", "total_price": "10.00", "note": "first"}


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(5)}"


def stats(store: Store) -> tuple[int, int]:
    cache = store.record_cache
    assert cache is not None
    found = cache.stats()
    return found.hits, found.misses


@pytest.fixture
def redis_store(
    config_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Store]:
    monkeypatch.setenv("INGESTRY_CACHE_URL", redis_url)
    with ingestry.open(config_path) as opened:
        yield opened


def test_second_read_is_a_hit_and_equal(store: Store, db: Database) -> None:
    srn = store.publish_record("order", DepositionSource(unique("H")), META).srn
    hits, misses = stats(store)
    first = store.get(srn)
    second = store.get(srn)
    assert second == first == store.storage.get_record(store.settings.convention("order"), srn)
    assert stats(store) == (hits + 2, misses)
    history = store.history(srn)
    again = store.history(srn)
    assert history == again and [r.version for r in history] == [1]


def test_the_writer_reads_its_own_update_at_once(store: Store, db: Database) -> None:
    srn = store.publish_record("order", DepositionSource(unique("W")), META).srn
    assert store.get(srn).version == 1 and store.history(srn)[-1].version == 1
    store.update(srn, {**META, "note": "second"}, 1)
    assert store.get(srn).metadata["note"] == "second"
    assert [r.version for r in store.history(srn)] == [1, 2]


def test_a_reingest_with_changed_content_is_read_at_once(store: Store, db: Database) -> None:
    order_id = unique("I")
    row = {"id": order_id, "created_at": "2026-11-01T10:00:00Z", "total_price": "1.00"}
    store.ingest("orders_simple", [row])
    srn = next(iter(store.records("order"))).srn
    assert store.get(srn).columns["total"] is not None
    store.ingest("orders_simple", [{**row, "total_price": "2.00"}])
    assert str(store.get(srn).columns["total"]) == "2.00"
    assert store.get(srn).version == 2


def test_pooled_stores_of_one_process_share_the_lru(config_path: Path, db: Database) -> None:
    with ingestry.open(config_path) as one, ingestry.open(config_path) as two:
        assert one.record_cache is two.record_cache
        srn = one.publish_record("order", DepositionSource(unique("P")), META).srn
        one.get(srn)
        hits, _ = stats(two)
        two.get(srn)
        assert stats(two)[0] == hits + 1
        two.update(srn, {**META, "note": "by two"}, 1)
        assert one.get(srn).metadata["note"] == "by two"


def test_cache_none_reads_the_database(
    config_path: Path, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INGESTRY_CACHE_URL", "none")
    with ingestry.open(config_path) as opened:
        assert opened.record_cache is None
        srn = opened.publish_record("order", DepositionSource(unique("N")), META).srn
        assert opened.get(srn).version == 1


@pytest.mark.redis
def test_a_process_sharing_redis_sees_another_writer_at_once(
    redis_store: Store, config_path: Path
) -> None:
    with ingestry.open(config_path) as other:  # same env: the same Redis
        srn = redis_store.publish_record("order", DepositionSource(unique("R")), META).srn
        assert other.get(srn).version == 1
        assert other.get(srn).version == 1  # cached in Redis now
        redis_store.update(srn, {**META, "note": "v2"}, 1)
        assert other.get(srn).metadata["note"] == "v2"


@pytest.mark.redis
def test_the_dispatcher_invalidates_for_writers_that_do_not_share_the_cache(
    redis_store: Store, config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer without the cache (cache: none, or one that died after its commit):
    readers keep the old version until the event is delivered, then see the new one."""
    monkeypatch.setenv("INGESTRY_CACHE_URL", "none")
    with ingestry.open(config_path) as writer:
        srn = writer.publish_record("order", DepositionSource(unique("D")), META).srn
        assert redis_store.get(srn).version == 1
        writer.update(srn, {**META, "note": "v2"}, 1)
        assert redis_store.get(srn).version == 1  # stale: the event is not delivered yet
        delivered = redis_store.dispatcher().run_once()
        assert delivered.delivered >= 2
        assert redis_store.get(srn).metadata["note"] == "v2"
        assert [r.version for r in redis_store.history(srn)] == [1, 2]
