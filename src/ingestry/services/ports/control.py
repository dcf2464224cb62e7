"""Values the control plane's adapters take and give: jobs to enqueue, stored
idempotent requests, rate-limit buckets, stream messages. (The control plane's
Protocols stay beside their services: `services/jobs.py`, `keys.py`, `idempotency.py`,
`ratelimit.py`, `streams.py`.)"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class NewJob:
    """A job to enqueue (what `submit` is given)."""

    id: str
    kind: str
    params: Mapping[str, Any]
    owner: str
    idempotency_key: str | None
    max_attempts: int


@dataclass(frozen=True, slots=True)
class StoredRequest:
    fingerprint: bytes
    state: str  # "in_flight" | "done"
    status_code: int | None
    response: bytes | None


@dataclass(frozen=True, slots=True)
class Bucket:
    """The state of one key's bucket: tokens left at time `at` (seconds)."""

    tokens: float
    at: float


def take(bucket: Bucket | None, now: float, rate: float, burst: float) -> tuple[Bucket, float]:
    """Refill by elapsed time, then take one token. Returns the new state and the wait
    (0.0 when the token was taken)."""
    tokens = burst if bucket is None else min(burst, bucket.tokens + (now - bucket.at) * rate)
    if tokens >= 1.0:
        return Bucket(tokens - 1.0, now), 0.0
    return Bucket(tokens, now), (1.0 - tokens) / rate


@dataclass(frozen=True, slots=True)
class StreamMessage:
    id: str
    fields: dict[str, bytes]
