"""The registry of open WebSocket connections and their symbol subscriptions: one interface, two stores.

:class:`Registry` is what the WebSocket functions, the broadcaster and the poller's demand use;
:func:`connection_registry` picks the store: DynamoDB (:mod:`stockscreen.realtime.dynamo`) when
``CONNECTIONS_TABLE`` is set, as on AWS and in ``make dev`` (moto's DynamoDB), else the Redis one below
(unit tests and a bare local gateway).

The Redis store's keys:

* ``ws:conn:{id}``  hash ``connected_at``, ``last_active_at`` (epoch ms), ``user_id``
  (empty when anonymous), ``session_id`` (signed in) and ``role`` (the subscription limit's role,
  ``core.policy.WS_SUBSCRIPTIONS``; absent: ``max_symbols``); expires 2 h after the last activity.
* ``ws:subs:{id}``  set of the symbols the connection follows (same TTL).
* ``ws:sym:{SYMBOL}`` set of connection ids following ``SYMBOL``; no TTL (it is shared), stale
  members are dropped on ``$disconnect`` or when a push answers ``GoneException``.
* ``ws:user:{USER_ID}`` set of the signed-in user's open connections: the user channel that alert
  pushes and unread counts go to (same TTL as the connection, renewed with it).
* ``ws:session:{SID}`` set of the open connections of one session (the access token's ``sid``): closed
  when the session is signed out (:func:`stockscreen.realtime.sessions.close_sessions`); same TTL.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from stockscreen.core import policy
from stockscreen.core.clients import get_redis_py
from stockscreen.core.errors import Invalid
from stockscreen.core.symbols import normalize_symbols

if TYPE_CHECKING:
    import redis

CONNECTION_TTL_SECONDS = 2 * 60 * 60
MAX_SYMBOLS_PER_CONNECTION = 50

_CONN = "ws:conn:"
_SUBS = "ws:subs:"
_SYM = "ws:sym:"
_USER = "ws:user:"
_SESSION = "ws:session:"
#: every open connection, scored by the epoch second its registry entry expires (its count is a gauge)
_OPEN = "ws:open"


#: every key's members in one reply (KEYS: the ``ws:sym:`` keys of a fan-out)
_SUBSCRIBERS_LUA = """
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('SMEMBERS', key) end
return out
"""


def conn_key(connection_id: str) -> str:
    return f"{_CONN}{connection_id}"


def subs_key(connection_id: str) -> str:
    return f"{_SUBS}{connection_id}"


def sym_key(symbol: str) -> str:
    return f"{_SYM}{symbol}"


def user_key(user_id: str) -> str:
    return f"{_USER}{user_id}"


def session_key(session_id: str) -> str:
    return f"{_SESSION}{session_id}"


def check_subscription_limit(current: set[str], wanted: Iterable[str], limit: int, role: str | None) -> None:
    """Both stores' rule: a connection follows at most ``limit`` symbols in total, else ``Invalid``."""
    total = len(current | set(wanted))
    if total > limit:
        raise Invalid(
            f"too many subscriptions: a connection may follow at most {limit} "
            f"symbols ({len(current)} already, {total} requested in total)",
            {"limit": limit, "current": len(current), "requested": total, "role": role},
        )


def subscription_limit(role: str | None, default: int) -> int:
    """Symbols a connection may follow: its role's limit (``core.policy.WS_SUBSCRIPTIONS``), else ``default``."""
    return policy.ws_subscription_limit(role) if role else default


def now_ms() -> int:
    return int(time.time() * 1000)


class Registry(Protocol):
    """Open connections, their identity and subscriptions (Redis: :class:`ConnectionRegistry`; DynamoDB:
    :class:`stockscreen.realtime.dynamo.DynamoConnectionRegistry`)."""

    def register(
        self, connection_id: str, user_id: str | None = None, role: str | None = None, session_id: str | None = None
    ) -> None: ...
    def touch(self, connection_id: str) -> None: ...
    def connection(self, connection_id: str) -> dict[str, str] | None: ...
    def user_id(self, connection_id: str) -> str | None: ...
    def unregister(self, connection_id: str) -> list[str]: ...
    def connections_of(self, user_id: str) -> set[str]: ...
    def connections_of_session(self, session_id: str) -> set[str]: ...
    def limit(self, role: str | None) -> int: ...
    def subscribe(self, connection_id: str, symbols: Iterable[object]) -> list[str]: ...
    def unsubscribe(self, connection_id: str, symbols: Iterable[object]) -> list[str]: ...
    def subscribers(self, symbol: str) -> set[str]: ...
    def subscribers_of(self, symbols: Sequence[str]) -> dict[str, set[str]]: ...
    def subscriptions(self, connection_id: str) -> set[str]: ...
    def subscribed_symbols(self) -> set[str]: ...
    def open_connections(self) -> int: ...


class ConnectionRegistry:
    """The Redis store of :class:`Registry`."""

    def __init__(
        self,
        client: redis.Redis | None = None,
        *,
        ttl_seconds: int = CONNECTION_TTL_SECONDS,
        max_symbols: int = MAX_SYMBOLS_PER_CONNECTION,
    ) -> None:
        self._r: redis.Redis = client if client is not None else get_redis_py()
        self._subscribers_script = self._r.register_script(_SUBSCRIBERS_LUA)
        self.ttl_seconds = ttl_seconds
        self.max_symbols = max_symbols

    # -- connections -------------------------------------------------------------------------

    def register(
        self, connection_id: str, user_id: str | None = None, role: str | None = None, session_id: str | None = None
    ) -> None:
        now = str(now_ms())
        fields: dict[Any, str] = {"connected_at": now, "last_active_at": now, "user_id": user_id or ""}
        if role:
            fields["role"] = role
        if session_id:
            fields["session_id"] = session_id
        pipe = self._r.pipeline(transaction=True)
        pipe.hset(conn_key(connection_id), mapping=fields)
        pipe.expire(conn_key(connection_id), self.ttl_seconds)
        pipe.zadd(_OPEN, {connection_id: self._expires_at()})
        for key in (user_key(user_id) if user_id else None, session_key(session_id) if session_id else None):
            if key:
                pipe.sadd(key, connection_id)
                pipe.expire(key, self.ttl_seconds)
        pipe.execute()

    def touch(self, connection_id: str) -> None:
        """Record activity: refresh ``last_active_at`` and the TTLs (the user channel's and session's too)."""
        found: list[str | None] = self._r.hmget(conn_key(connection_id), ["user_id", "session_id"])  # type: ignore[assignment]
        user_id, session_id = found
        pipe = self._r.pipeline(transaction=True)
        pipe.hset(conn_key(connection_id), "last_active_at", str(now_ms()))
        pipe.expire(conn_key(connection_id), self.ttl_seconds)
        pipe.zadd(_OPEN, {connection_id: self._expires_at()}, xx=True)
        pipe.expire(subs_key(connection_id), self.ttl_seconds)
        if user_id:
            pipe.expire(user_key(user_id), self.ttl_seconds)
        if session_id:
            pipe.expire(session_key(session_id), self.ttl_seconds)
        pipe.execute()

    def connection(self, connection_id: str) -> dict[str, str] | None:
        data: dict[str, str] = self._r.hgetall(conn_key(connection_id))  # type: ignore[assignment]
        return data or None

    def user_id(self, connection_id: str) -> str | None:
        value: str | None = self._r.hget(conn_key(connection_id), "user_id")  # type: ignore[assignment]
        return value or None

    def unregister(self, connection_id: str) -> list[str]:
        """Forget the connection and every subscription it had; returns those symbols."""
        removed: list[str] = []

        def tx(pipe: Any) -> None:
            removed.clear()
            removed.extend(sorted(pipe.smembers(subs_key(connection_id))))
            user_id, session_id = pipe.hmget(conn_key(connection_id), ["user_id", "session_id"])
            pipe.multi()
            for symbol in removed:
                pipe.srem(sym_key(symbol), connection_id)
            if user_id:
                pipe.srem(user_key(user_id), connection_id)
            if session_id:
                pipe.srem(session_key(session_id), connection_id)
            pipe.delete(subs_key(connection_id), conn_key(connection_id))
            pipe.zrem(_OPEN, connection_id)

        self._r.transaction(tx, subs_key(connection_id))
        return removed

    def _expires_at(self) -> int:
        return int(time.time()) + self.ttl_seconds

    def open_connections(self) -> int:
        """Connections registered and not yet expired (a gauge; expired members are dropped on the way)."""
        now = int(time.time())
        pipe = self._r.pipeline(transaction=True)
        pipe.zremrangebyscore(_OPEN, "-inf", now)
        pipe.zcard(_OPEN)
        return int(pipe.execute()[1])

    def connections_of(self, user_id: str) -> set[str]:
        """The user's open connections (the per-user channel of alert pushes)."""
        members: set[str] = self._r.smembers(user_key(user_id))  # type: ignore[assignment]
        return members

    def connections_of_session(self, session_id: str) -> set[str]:
        """The open connections of one session (closed when it is signed out)."""
        members: set[str] = self._r.smembers(session_key(session_id))  # type: ignore[assignment]
        return set(members)

    # -- subscriptions -----------------------------------------------------------------------

    def limit(self, role: str | None) -> int:
        """Symbols a connection may follow: its role's limit, else ``max_symbols``."""
        return subscription_limit(role, self.max_symbols)

    def subscribe(self, connection_id: str, symbols: Iterable[object]) -> list[str]:
        """Add symbols (validated, uppercased); returns them. At most the connection's limit in total."""
        wanted = normalize_symbols(symbols)
        if not wanted:
            return []

        def tx(pipe: Any) -> None:
            current: set[str] = pipe.smembers(subs_key(connection_id))
            role: str | None = pipe.hget(conn_key(connection_id), "role")
            check_subscription_limit(current, wanted, self.limit(role), role)
            now = str(now_ms())
            pipe.multi()
            pipe.sadd(subs_key(connection_id), *wanted)
            for symbol in wanted:
                pipe.sadd(sym_key(symbol), connection_id)
            pipe.hset(conn_key(connection_id), "last_active_at", now)
            pipe.hsetnx(conn_key(connection_id), "connected_at", now)
            pipe.expire(conn_key(connection_id), self.ttl_seconds)
            pipe.expire(subs_key(connection_id), self.ttl_seconds)

        self._r.transaction(tx, subs_key(connection_id), conn_key(connection_id))
        return wanted

    def unsubscribe(self, connection_id: str, symbols: Iterable[object]) -> list[str]:
        """Remove symbols (validated, uppercased); returns them, followed or not."""
        unwanted = normalize_symbols(symbols)
        if not unwanted:
            return []
        pipe = self._r.pipeline(transaction=True)
        pipe.srem(subs_key(connection_id), *unwanted)
        for symbol in unwanted:
            pipe.srem(sym_key(symbol), connection_id)
        pipe.hset(conn_key(connection_id), "last_active_at", str(now_ms()))
        pipe.expire(conn_key(connection_id), self.ttl_seconds)
        pipe.expire(subs_key(connection_id), self.ttl_seconds)
        pipe.execute()
        return unwanted

    def subscribers(self, symbol: str) -> set[str]:
        members: set[str] = self._r.smembers(sym_key(symbol.upper()))  # type: ignore[assignment]
        return set(members)

    def subscribers_of(self, symbols: Sequence[str]) -> dict[str, set[str]]:
        """Each symbol's subscribers, in one round trip and one reply:
        a script runs ``SMEMBERS`` per symbol on the server, so the client parses one nested array (in
        hiredis) instead of one reply per symbol."""
        unique = sorted({s.upper() for s in symbols})
        if not unique:
            return {}
        replies: list[list[str]] = self._subscribers_script(keys=[sym_key(s) for s in unique])
        return {s: set(members) for s, members in zip(unique, replies, strict=True)}

    def subscriptions(self, connection_id: str) -> set[str]:
        members: set[str] = self._r.smembers(subs_key(connection_id))  # type: ignore[assignment]
        return set(members)

    def subscribed_symbols(self) -> set[str]:
        """Every symbol with at least one subscriber (Redis drops empty sets)."""
        return {key[len(_SYM) :] for key in self._r.scan_iter(match=f"{_SYM}*", count=500)}


def connection_registry() -> Registry:
    """The process's registry: DynamoDB when ``CONNECTIONS_TABLE`` is set (AWS, ``make dev``), else Redis."""
    from stockscreen.core.config import core_settings

    table = core_settings().connections_table
    if table:
        from stockscreen.realtime.dynamo import DynamoConnectionRegistry

        return DynamoConnectionRegistry(table)
    return ConnectionRegistry(get_redis_py())


def default_registry() -> Registry:
    return connection_registry()


# Module-level conveniences over the process-wide Redis client.


def register(
    connection_id: str, user_id: str | None = None, role: str | None = None, session_id: str | None = None
) -> None:
    default_registry().register(connection_id, user_id, role, session_id)


def unregister(connection_id: str) -> list[str]:
    return default_registry().unregister(connection_id)


def subscribe(connection_id: str, symbols: Iterable[object]) -> list[str]:
    return default_registry().subscribe(connection_id, symbols)


def unsubscribe(connection_id: str, symbols: Iterable[object]) -> list[str]:
    return default_registry().unsubscribe(connection_id, symbols)


def subscribers(symbol: str) -> set[str]:
    return default_registry().subscribers(symbol)


def subscriptions(connection_id: str) -> set[str]:
    return default_registry().subscriptions(connection_id)
