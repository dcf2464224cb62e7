"""Per-key rate limits: a token bucket (a sustained rate plus a burst).

The pure arithmetic lives here so the in-process and the Redis limiter agree; the
Redis one runs the same steps in a Lua script, atomically for every API process.
"""

from __future__ import annotations

from ingestry.services.ports.control import Bucket as Bucket
from ingestry.services.ports.control import RateLimiter as RateLimiter
from ingestry.services.ports.control import take as take
