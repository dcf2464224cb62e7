"""Per-key rate limits: a token bucket (a sustained rate plus a burst).

The pure arithmetic lives here so the in-process and the Redis limiter agree; the
Redis one runs the same steps in a Lua script, atomically for every API process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class RateLimiter(Protocol):
    #: acquire() answers from this process's memory (call it on the event loop); False:
    #: it asks a server (run it in a thread)
    in_process: bool

    def acquire(self, key: str) -> float:
        """Take one token for `key`: 0.0 when allowed, else seconds until one is free."""
        ...


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
