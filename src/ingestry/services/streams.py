"""Ingest messages pushed to a stream (Redis Streams through a port).

A message is `{source, payload}`. Messages are read as a consumer group member,
ingested per source in one call, and acknowledged only after that ingest committed, so
a crash between the two redelivers (raw bytes dedupe, records upsert: redelivery writes
nothing new). Messages left pending by a dead consumer are claimed once they have been
idle for `claim_idle` seconds. A message that can never be ingested (no source, unknown
source, no payload) goes to the dead-letter stream with the reason, then is acked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from ingestry.domain.errors import IngestryError, StorageError
from ingestry.services.ports.control import MessageStream as MessageStream
from ingestry.services.ports.control import StreamMessage

log = logging.getLogger("ingestry.streams")


#: ingest(source, payloads) — commits before it returns.
IngestFn = Callable[[str, list[bytes]], Any]


class StreamConsumer:
    def __init__(
        self,
        stream: MessageStream,
        ingest: IngestFn,
        *,
        count: int = 500,
        block_ms: int = 1000,
        claim_idle: float = 60.0,
    ) -> None:
        self.stream = stream
        self.ingest = ingest
        self.count = count
        self.block_ms = block_ms
        self.claim_idle_ms = int(claim_idle * 1000)

    def run_once(self) -> int:
        """Handle one read's worth (reclaimed first, then new); returns messages acked."""
        messages = self.stream.reclaim(self.claim_idle_ms, self.count)
        if not messages:
            messages = self.stream.read(self.count, self.block_ms)
        return self.handle(messages)

    def handle(self, messages: Sequence[StreamMessage]) -> int:
        by_source: dict[str, list[StreamMessage]] = {}
        acked = 0
        for message in messages:
            named = message.fields.get("source")
            if not named or "payload" not in message.fields:
                acked += self._reject(message, "a message needs 'source' and 'payload' fields")
                continue
            by_source.setdefault(named.decode("utf-8", "replace"), []).append(message)
        for source, group in by_source.items():
            try:
                self.ingest(source, [m.fields["payload"] for m in group])
            except IngestryError as exc:
                if isinstance(exc, StorageError):
                    log.error("stream ingest failed, left pending: %s", exc)
                    continue
                for message in group:
                    acked += self._reject(message, str(exc))
                continue
            self.stream.ack([m.id for m in group])
            acked += len(group)
        return acked

    def _reject(self, message: StreamMessage, reason: str) -> int:
        log.warning("stream message dead-lettered: %s", reason, extra={"message_id": message.id})
        self.stream.dead_letter(message, reason)
        self.stream.ack([message.id])
        return 1
