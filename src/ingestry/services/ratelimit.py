"""Per-key rate limits: a token bucket (a sustained rate plus a burst).

The pure arithmetic lives here so the in-process and the Redis limiter agree; the
Redis one runs the same steps in a Lua script, atomically for every API process.
"""

from __future__ import annotations

from typing import Protocol

from ingestry.services.ports.control import Bucket as Bucket
from ingestry.services.ports.control import take as take


class RateLimiter(Protocol):
    #: acquire() answers from this process's memory (call it on the event loop); False:
    #: it asks a server (run it in a thread)
    in_process: bool

    def acquire(self, key: str) -> float:
        """Take one token for `key`: 0.0 when allowed, else seconds until one is free."""
        ...
