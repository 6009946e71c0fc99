"""Redis state of accounts: the counters that slow down password guessing (``RedisThrottle``).

One hash per key, ``throttle:<id>``: ``failures``, ``until`` (ms since the epoch, by the Redis server's
clock) and who is behind it (``kind``, ``email``, ``ip``, ``user_id``) for the administrators' list. A key
expires ``window_s`` after its last failure. Redis being unreachable must not stop people signing in:
the checks then let the attempt through and log a warning (as the API's rate limiter does).
"""

from __future__ import annotations

import math
from typing import Any

from stockscreen.accounts.models import ThrottleEntry, ThrottleKey
from stockscreen.core import resp
from stockscreen.core.clients import get_redis
from stockscreen.core.errors import Unavailable
from stockscreen.core.observability import logger

PREFIX = "throttle:"
ACCOUNT_PREFIX = "loginfail:"
ACCOUNT_WINDOW_S = 3600

_FAIL = """
local key = KEYS[1]
local free = tonumber(ARGV[1])
local base_ms = tonumber(ARGV[2])
local max_ms = tonumber(ARGV[3])
local window_ms = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = redis.call('HINCRBY', key, 'failures', 1)
for i = 5, #ARGV, 2 do
  redis.call('HSET', key, ARGV[i], ARGV[i + 1])
end
local delay = 0
if n > free then
  delay = math.min(max_ms, base_ms * math.pow(2, math.min(n - free - 1, 40)))
  redis.call('HSET', key, 'until', string.format('%d', now + delay))
end
redis.call('PEXPIRE', key, math.max(window_ms, delay))
return {n, delay}
"""

_WAIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
for i = 1, #KEYS do
  local u = tonumber(redis.call('HGET', KEYS[i], 'until'))
  if u ~= nil and u - now > wait then
    wait = u - now
  end
end
return wait
"""


class RedisThrottle:
    """:class:`stockscreen.accounts.models.Throttle` in Redis (atomic per key: one Lua script each)."""

    def __init__(self, client: resp.Redis | None = None) -> None:
        self._client = client
        self._scripts: dict[str, resp.Script] = {}

    @property
    def client(self) -> resp.Redis:
        return self._client if self._client is not None else get_redis()

    def _script(self, lua: str) -> resp.Script:
        client = self.client
        script = self._scripts.get(lua)
        if script is None or script.registered_client is not client:
            script = self._scripts[lua] = client.register_script(lua)
        return script

    def wait_s(self, keys: list[ThrottleKey]) -> int:
        try:
            ms = int(self._script(_WAIT)(keys=[PREFIX + k.id for k in keys]))
        except resp.RedisError as exc:
            logger.warning("sign-in throttle unavailable", extra={"error": type(exc).__name__})
            return 0
        return math.ceil(ms / 1000) if ms > 0 else 0

    def fail(self, keys: list[ThrottleKey]) -> int:
        try:
            counts = []
            for k in keys:
                fields: list[Any] = ["kind", k.kind]
                for name, value in (("email", k.email), ("ip", k.ip), ("user_id", k.user_id)):
                    if value is not None:
                        fields += [name, value]
                r = k.rule
                args = [r.free, r.base_s * 1000, r.max_s * 1000, r.window_s * 1000, *fields]
                n, _delay = self._script(_FAIL)(keys=[PREFIX + k.id], args=args)
                counts.append(int(n))
        except resp.RedisError as exc:
            logger.warning("sign-in throttle unavailable", extra={"error": type(exc).__name__})
            return 0
        return counts[0] if counts else 0

    def clear(self, key: ThrottleKey) -> None:
        try:
            self.client.delete(PREFIX + key.id)
        except resp.RedisError as exc:
            logger.warning("sign-in throttle unavailable", extra={"error": type(exc).__name__})

    def account_failure(self, user_id: str) -> int:
        key = ACCOUNT_PREFIX + user_id
        try:
            pipe = self.client.pipeline(transaction=True)
            pipe.set(key, 0, ex=ACCOUNT_WINDOW_S, nx=True)  # the hour starts at the first failure
            pipe.incr(key)
            _, n = pipe.execute()
        except resp.RedisError as exc:
            logger.warning("sign-in throttle unavailable", extra={"error": type(exc).__name__})
            return 0
        return int(n)

    def entries(self) -> list[ThrottleEntry]:
        try:
            client = self.client
            keys = sorted(client.scan_iter(match=PREFIX + "*", count=500))
            pipe = client.pipeline(transaction=False)
            for k in keys:
                pipe.hgetall(k)
            pipe.time()
            *rows, (sec, usec) = pipe.execute()
        except resp.RedisError as exc:
            raise Unavailable("the throttle store is unavailable") from exc
        now_ms = int(sec) * 1000 + int(usec) // 1000
        # a key that expired between the scan and the read has no fields
        return [_entry(str(k)[len(PREFIX) :], h, now_ms) for k, h in zip(keys, rows, strict=True) if h]

    def delete(self, throttle_id: str) -> ThrottleEntry | None:
        key = PREFIX + throttle_id
        try:
            pipe = self.client.pipeline(transaction=True)
            pipe.hgetall(key)
            pipe.time()
            pipe.delete(key)
            h, (sec, usec), _ = pipe.execute()
        except resp.RedisError as exc:
            raise Unavailable("the throttle store is unavailable") from exc
        return _entry(throttle_id, h, int(sec) * 1000 + int(usec) // 1000) if h else None


def _entry(throttle_id: str, h: dict[str, str], now_ms: int) -> ThrottleEntry:
    until = int(h.get("until") or 0)
    return ThrottleEntry(
        id=throttle_id,
        kind=h.get("kind", "unknown"),
        email=h.get("email"),
        ip=h.get("ip"),
        failures=int(h.get("failures") or 0),
        retry_after_s=max(0, math.ceil((until - now_ms) / 1000)),
    )
