"""The shared rate limiter: the token bucket of `services.ratelimit` as a Lua script,
so every API process draws from the same bucket, atomically."""

from __future__ import annotations

from typing import Any

# KEYS[1] bucket key; ARGV: rate, burst. Uses the server's clock (one clock for all).
_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = burst
if state[1] then
  tokens = math.min(burst, tonumber(state[1]) + (now - tonumber(state[2])) * rate)
end
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return tostring(wait)
"""


class RedisRateLimiter:
    in_process = False

    def __init__(
        self, client: Any, rate: float, burst: float, prefix: str = "ingestry:ratelimit:"
    ) -> None:
        self.client = client
        self.rate = rate
        self.burst = burst
        self.prefix = prefix
        self._script = client.register_script(_SCRIPT)

    def acquire(self, key: str) -> float:
        return float(self._script(keys=[self.prefix + key], args=[self.rate, self.burst]))
