"""The record cache: one object per process and cache URL, shared by the API's pooled
stores (an LRU per Store would split hits four ways), Redis when `cache:` is one."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ingestry.domain.errors import ConfigError

if TYPE_CHECKING:
    from ingestry.config import Settings
    from ingestry.services.ports import RecordCache

#: `cache: none` turns the record cache off (benchmarks compare against it).
NO_CACHE = ("none", "off")

_lock = threading.Lock()
_caches: dict[tuple[str, str, float, int], RecordCache] = {}


def build_record_cache(settings: Settings) -> RecordCache | None:
    """This process's cache for `settings` (built on first use), None when off. One
    per database too: two stores in one process on different databases never share
    in-process entries (on Redis, give each database its own Redis db: docs/cache.md)."""
    url = settings.cache_url
    if url in NO_CACHE:
        return None
    key = (settings.database_url, url, settings.cache.ttl_seconds, settings.cache.max_entries)
    with _lock:
        found = _caches.get(key)
        if found is None:
            found = _caches[key] = _new_cache(settings)
        return found


def _new_cache(settings: Settings) -> RecordCache:
    from ingestry.bootstrap.redis import is_redis, redis_client  # not for `cache: memory`

    url, ttl = settings.cache_url, settings.cache.ttl_seconds
    if is_redis(url):
        from ingestry.adapters.cache.redis import RedisRecordCache

        return RedisRecordCache(redis_client(url), ttl)
    if url != "memory":
        raise ConfigError(f"cache: '{url}' is not a cache (use memory, none, or a redis:// URL)")
    from ingestry.adapters.cache.memory import MemoryRecordCache

    return MemoryRecordCache(ttl, settings.cache.max_entries)
