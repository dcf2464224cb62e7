"""Fan-out: delivered events PUBLISHed on a Redis channel for outside subscribers.

A handler like any other, so it sees each event after the handlers before it (hooks:
features are stored by the time subscribers hear of the event), at least once (a
retried event is published again). redis-py is imported when the first event is
published, so the base install needs no Redis client.
"""

from __future__ import annotations

from typing import Any

import orjson

from ingestry.domain.errors import ConfigError, install_hint
from ingestry.domain.events import EVENTS_CHANNEL, RecordEvent


class RedisPublisher:
    """PUBLISH each event as JSON (`RecordEvent.as_dict`) on `channel`."""

    __name__ = "RedisPublisher"

    def __init__(self, url: str, channel: str = EVENTS_CHANNEL) -> None:
        self.url = url
        self.channel = channel
        self._client: Any = None

    def __call__(self, event: RecordEvent) -> None:
        if self._client is None:
            try:
                import redis
            except ImportError as exc:
                raise ConfigError(
                    f"'{self.url}' needs redis-py ({exc}): {install_hint('redis')}"
                ) from None
            self._client = redis.Redis.from_url(self.url)
        self._client.publish(self.channel, orjson.dumps(event.as_dict()))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
