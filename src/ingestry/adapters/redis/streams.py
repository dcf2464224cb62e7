"""MessageStream on Redis Streams: a consumer group, XREADGROUP, XAUTOCLAIM, XACK."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ingestry.services.ports import StreamMessage

DEAD_LETTER_SUFFIX = ":dead"


def _message(entry: Any) -> StreamMessage:
    raw_id, fields = entry
    decoded = {
        (k.decode() if isinstance(k, bytes) else str(k)): (
            v if isinstance(v, bytes) else str(v).encode()
        )
        for k, v in (fields or {}).items()
    }
    return StreamMessage(raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id), decoded)


class RedisStream:
    def __init__(self, client: Any, stream: str, group: str, consumer: str) -> None:
        self.client = client
        self.stream = stream
        self.group = group
        self.consumer = consumer

    def ensure_group(self) -> None:
        import redis

        try:
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read(self, count: int, block_ms: int) -> list[StreamMessage]:
        found = self.client.xreadgroup(
            self.group, self.consumer, {self.stream: ">"}, count=count, block=block_ms
        )
        return [_message(entry) for _, entries in (found or []) for entry in entries]

    def reclaim(self, min_idle_ms: int, count: int) -> list[StreamMessage]:
        reply = self.client.xautoclaim(
            self.stream, self.group, self.consumer, min_idle_time=min_idle_ms, start_id="0-0",
            count=count,
        )  # fmt: skip
        return [_message(entry) for entry in reply[1] if entry and entry[1] is not None]

    def ack(self, ids: Sequence[str]) -> None:
        if ids:
            self.client.xack(self.stream, self.group, *ids)

    def dead_letter(self, message: StreamMessage, reason: str) -> None:
        fields: dict[str, Any] = dict(message.fields)
        fields.update({"reason": reason, "message_id": message.id})
        self.client.xadd(self.stream + DEAD_LETTER_SUFFIX, fields)
