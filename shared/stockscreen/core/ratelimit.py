"""Token-bucket rate limiting in Redis, atomic via one Lua script (time taken from the Redis server).

A bucket holds ``limit`` tokens and refills at ``limit`` per ``window_s``; each request takes one.
The result carries what the IETF RateLimit headers need.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from stockscreen.core import resp
from stockscreen.core.clients import get_redis

_LUA = """
local key = KEYS[1]
local capacity = tonumber(ARGV[1])
local window_ms = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = capacity / window_ms
local state = redis.call('HMGET', key, 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then
  tokens = capacity
  ts = now
end
tokens = math.min(capacity, tokens + (now - ts) * rate)
local allowed = 0
local retry_ms = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry_ms = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', key, window_ms * 2)
local full_ms = math.ceil((capacity - tokens) / rate)
local peeked = ''
if #KEYS > 1 then
  peeked = redis.call('GET', KEYS[2]) or ''
end
return {allowed, math.floor(tokens), retry_ms, full_ms, peeked}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after_s: int
    reset_s: int
    window_s: int
    #: the value of the key asked to be read along (``None`` when missing or not asked)
    peeked: str | None = None

    def headers(self) -> dict[str, str]:
        h = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
            "RateLimit-Policy": f"{self.limit};w={self.window_s}",
        }
        if not self.allowed:
            h["Retry-After"] = str(self.retry_after_s)
        return h


class RateLimiter:
    def __init__(self, client: resp.Redis | None = None) -> None:
        self._client = client
        self._script: resp.Script | None = None

    @property
    def client(self) -> resp.Redis:
        return self._client if self._client is not None else get_redis()

    def _bucket_script(self) -> resp.Script:
        client = self.client
        script = self._script
        if script is None or script.registered_client is not client:  # registered once per client
            script = self._script = client.register_script(_LUA)
        return script

    def hit(self, subject: str, limit: int, window_s: int = 60, *, peek: str | None = None) -> Decision:
        """Take one token from ``subject``'s bucket. Raises resp.RedisError when Redis is down.

        ``peek``: a key to read in the same round trip (what the request needs next, such as the
        snapshot version the caches key on); its value is ``Decision.peeked``."""
        keys = [f"rl:{subject}"] if peek is None else [f"rl:{subject}", peek]
        allowed, remaining, retry_ms, full_ms, peeked = self._bucket_script()(keys=keys, args=[limit, window_s * 1000])
        if isinstance(peeked, bytes):
            peeked = peeked.decode()
        return Decision(
            allowed=bool(allowed),
            limit=limit,
            remaining=max(0, int(remaining)),
            retry_after_s=max(1, math.ceil(int(retry_ms) / 1000)) if not allowed else 0,
            reset_s=math.ceil(int(full_ms) / 1000),
            window_s=window_s,
            peeked=peeked or None,
        )
