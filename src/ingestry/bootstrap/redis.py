"""Redis: the one list of its URL schemes, clients, the rate limiter, streams."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ingestry.config import Settings
from ingestry.domain.errors import ConfigError, install_hint
from ingestry.services.ports import MessageStream, RateLimiter

if TYPE_CHECKING:
    pass


REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def redis_client(url: str) -> Any:
    """A redis-py client (the `redis` extra), or a ConfigError naming the extra."""
    try:
        import redis
    except ImportError as exc:
        raise ConfigError(f"'{url}' needs redis-py ({exc}): {install_hint('redis')}") from None
    return redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)


def build_rate_limiter(settings: Settings) -> RateLimiter:
    """Shared through Redis when `cache:` is redis://, else in this process."""
    rate, burst = settings.api.rate_limit, float(settings.api.rate_burst)
    if is_redis(settings.cache_url):
        from ingestry.adapters.redis.ratelimit import RedisRateLimiter

        return RedisRateLimiter(redis_client(settings.cache_url), rate, burst)
    from ingestry.adapters.ratelimit import MemoryRateLimiter

    return MemoryRateLimiter(rate, burst)


def is_redis(url: str) -> bool:
    """Whether `url` names a Redis server (the one list of its URL schemes)."""
    return url.startswith(REDIS_SCHEMES)


def stream_url(settings: Settings, env: Mapping[str, str] | None = None) -> str:
    """The Redis a stream worker reads: the cache when it is Redis, else
    INGESTRY_STREAM_URL (default redis://127.0.0.1:6379/0)."""
    if is_redis(settings.cache_url):
        return settings.cache_url
    return (os.environ if env is None else env).get("INGESTRY_STREAM_URL", DEFAULT_STREAM_URL)


DEFAULT_STREAM_URL = "redis://127.0.0.1:6379/0"


def build_stream(settings: Settings, stream: str, group: str, consumer: str) -> MessageStream:
    """The Redis stream a worker consumes, as the MessageStream port."""
    from ingestry.adapters.redis.streams import RedisStream

    return RedisStream(redis_client(stream_url(settings)), stream, group, consumer)
