"""The registry of open WebSocket connections and their symbol subscriptions: one interface, two stores.

:class:`Registry` is what the WebSocket functions, the broadcaster and the poller's demand use;
:func:`connection_registry` picks the store: DynamoDB (:mod:`stockscreen.realtime.dynamo`) when
``CONNECTIONS_TABLE`` is set, as on AWS and in ``make dev`` (moto's DynamoDB), else the Redis one below
(unit tests and a bare local gateway).

The Redis store's keys:

Keys:

* ``ws:conn:{id}``  hash ``connected_at``, ``last_active_at`` (epoch ms), ``user_id``
  (empty when anonymous) and ``role`` (the subscription limit's role, ``core.policy.WS_SUBSCRIPTIONS``;
  absent: ``max_symbols``); expires 2 h after the last activity.
* ``ws:subs:{id}``  set of the symbols the connection follows (same TTL).
* ``ws:sym:{SYMBOL}`` set of connection ids following ``SYMBOL``; no TTL (it is shared), stale
  members are dropped on ``$disconnect`` or when a push answers ``GoneException``.
* ``ws:user:{USER_ID}`` set of the signed-in user's open connections: the user channel that alert
  pushes and unread counts go to (same TTL as the connection, renewed with it).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import redis

from stockscreen.core import policy
from stockscreen.core.clients import get_redis
from stockscreen.core.errors import Invalid
from stockscreen.core.symbols import normalize_symbols

CONNECTION_TTL_SECONDS = 2 * 60 * 60
MAX_SYMBOLS_PER_CONNECTION = 50

_CONN = "ws:conn:"
_SUBS = "ws:subs:"
_SYM = "ws:sym:"
_USER = "ws:user:"


def conn_key(connection_id: str) -> str:
    return f"{_CONN}{connection_id}"


def subs_key(connection_id: str) -> str:
    return f"{_SUBS}{connection_id}"


def sym_key(symbol: str) -> str:
    return f"{_SYM}{symbol}"


def user_key(user_id: str) -> str:
    return f"{_USER}{user_id}"


def _now_ms() -> int:
    return int(time.time() * 1000)


class Registry(Protocol):
    """Open connections, their identity and subscriptions (Redis: :class:`ConnectionRegistry`; DynamoDB:
    :class:`stockscreen.realtime.dynamo.DynamoConnectionRegistry`)."""

    def register(self, connection_id: str, user_id: str | None = None, role: str | None = None) -> None: ...
    def touch(self, connection_id: str) -> None: ...
    def connection(self, connection_id: str) -> dict[str, str] | None: ...
    def user_id(self, connection_id: str) -> str | None: ...
    def unregister(self, connection_id: str) -> list[str]: ...
    def connections_of(self, user_id: str) -> set[str]: ...
    def limit(self, role: str | None) -> int: ...
    def subscribe(self, connection_id: str, symbols: Iterable[object]) -> list[str]: ...
    def unsubscribe(self, connection_id: str, symbols: Iterable[object]) -> list[str]: ...
    def subscribers(self, symbol: str) -> set[str]: ...
    def subscribers_of(self, symbols: Sequence[str]) -> dict[str, set[str]]: ...
    def subscriptions(self, connection_id: str) -> set[str]: ...
    def subscribed_symbols(self) -> set[str]: ...


class ConnectionRegistry:
    """The Redis store of :class:`Registry`."""

    def __init__(
        self,
        client: redis.Redis | None = None,
        *,
        ttl_seconds: int = CONNECTION_TTL_SECONDS,
        max_symbols: int = MAX_SYMBOLS_PER_CONNECTION,
    ) -> None:
        self._r: redis.Redis = client if client is not None else get_redis()
        self.ttl_seconds = ttl_seconds
        self.max_symbols = max_symbols

    # -- connections -------------------------------------------------------------------------

    def register(self, connection_id: str, user_id: str | None = None, role: str | None = None) -> None:
        now = str(_now_ms())
        fields: dict[Any, str] = {"connected_at": now, "last_active_at": now, "user_id": user_id or ""}
        if role:
            fields["role"] = role
        pipe = self._r.pipeline(transaction=True)
        pipe.hset(conn_key(connection_id), mapping=fields)
        pipe.expire(conn_key(connection_id), self.ttl_seconds)
        if user_id:
            pipe.sadd(user_key(user_id), connection_id)
            pipe.expire(user_key(user_id), self.ttl_seconds)
        pipe.execute()

    def touch(self, connection_id: str) -> None:
        """Record activity: refresh ``last_active_at`` and the TTLs (the user channel's too)."""
        user_id = self.user_id(connection_id)
        pipe = self._r.pipeline(transaction=True)
        pipe.hset(conn_key(connection_id), "last_active_at", str(_now_ms()))
        pipe.expire(conn_key(connection_id), self.ttl_seconds)
        pipe.expire(subs_key(connection_id), self.ttl_seconds)
        if user_id:
            pipe.expire(user_key(user_id), self.ttl_seconds)
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
            user_id = pipe.hget(conn_key(connection_id), "user_id")
            pipe.multi()
            for symbol in removed:
                pipe.srem(sym_key(symbol), connection_id)
            if user_id:
                pipe.srem(user_key(user_id), connection_id)
            pipe.delete(subs_key(connection_id), conn_key(connection_id))

        self._r.transaction(tx, subs_key(connection_id))
        return removed

    def connections_of(self, user_id: str) -> set[str]:
        """The user's open connections (the per-user channel of alert pushes)."""
        members: set[str] = self._r.smembers(user_key(user_id))  # type: ignore[assignment]
        return members

    # -- subscriptions -----------------------------------------------------------------------

    def limit(self, role: str | None) -> int:
        """Symbols a connection may follow: its role's limit, else ``max_symbols``."""
        return policy.ws_subscription_limit(role) if role else self.max_symbols

    def subscribe(self, connection_id: str, symbols: Iterable[object]) -> list[str]:
        """Add symbols (validated, uppercased); returns them. At most the connection's limit in total."""
        wanted = normalize_symbols(symbols)
        if not wanted:
            return []

        def tx(pipe: Any) -> None:
            current: set[str] = pipe.smembers(subs_key(connection_id))
            role: str | None = pipe.hget(conn_key(connection_id), "role")
            limit = self.limit(role)
            total = len(current | set(wanted))
            if total > limit:
                raise Invalid(
                    f"too many subscriptions: a connection may follow at most {limit} "
                    f"symbols ({len(current)} already, {total} requested in total)",
                    {"limit": limit, "current": len(current), "requested": total, "role": role},
                )
            now = str(_now_ms())
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
        pipe.hset(conn_key(connection_id), "last_active_at", str(_now_ms()))
        pipe.expire(conn_key(connection_id), self.ttl_seconds)
        pipe.expire(subs_key(connection_id), self.ttl_seconds)
        pipe.execute()
        return unwanted

    def subscribers(self, symbol: str) -> set[str]:
        members: set[str] = self._r.smembers(sym_key(symbol.upper()))  # type: ignore[assignment]
        return set(members)

    def subscribers_of(self, symbols: Sequence[str]) -> dict[str, set[str]]:
        """Each symbol's subscribers, in one round trip."""
        unique = sorted({s.upper() for s in symbols})
        pipe = self._r.pipeline(transaction=False)
        for symbol in unique:
            pipe.smembers(sym_key(symbol))
        return {s: set(members) for s, members in zip(unique, pipe.execute(), strict=True)}

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
    return ConnectionRegistry(get_redis())


def default_registry() -> Registry:
    return connection_registry()


# Module-level conveniences over the process-wide Redis client.


def register(connection_id: str, user_id: str | None = None, role: str | None = None) -> None:
    default_registry().register(connection_id, user_id, role)


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
