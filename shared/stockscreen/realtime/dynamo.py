"""The connection registry in DynamoDB: what the WebSocket functions use on AWS and in ``make dev`` (moto).

One table (``CONNECTIONS_TABLE``), string keys ``pk``/``sk``, a TTL attribute ``expires_at`` (epoch seconds):

==================  =================  =====================================================================
``pk``              ``sk``             holds
==================  =================  =====================================================================
``CONN#<id>``       ``META``           ``user_id``, ``session_id``, ``role``, ``connected_at``, ``last_active_at``
``CONN#<id>``       ``SYM#<symbol>``   the connection's own subscriptions: one Query finds all to clean up
``SYM#<symbol>``    ``<id>``           the symbol's subscribers: the fan-out's one Query per symbol
``USER#<user id>``  ``<id>``           the user channel (alert pushes, unread counts)
``SESSION#<sid>``   ``<id>``           the session's connections (closed when the session is signed out)
``SYMBOLS``         ``<symbol>``       ``n``: how many connections follow the symbol (the poller's demand)
==================  =================  =====================================================================

Every read is a ``Query`` on a partition key (never a ``Scan``). Every item of a connection expires with it:
``expires_at`` is the connection's start plus API Gateway's 2-hour connection limit plus a margin, so a
connection whose ``$disconnect`` never ran (a crashed Lambda) is gone from the table after its TTL sweep,
and reads skip items past ``expires_at`` before the sweep gets to them. The ``SYMBOLS`` counters are
exact for connections that disconnect (a counted put/delete with ``ReturnValues``); one that expires instead
leaves its symbols counted, so the poller may poll a symbol nobody follows until the counter item's own TTL
(refreshed on every subscribe) passes: wasted provider calls, never a missed quote.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from stockscreen.core.clients import aws_client
from stockscreen.core.symbols import normalize_symbols
from stockscreen.realtime.connections import check_subscription_limit, now_ms, subscription_limit

#: API Gateway closes every WebSocket connection after 2 hours; the registry keeps its items 10 minutes more.
CONNECTION_MAX_SECONDS = 2 * 60 * 60
TTL_MARGIN_SECONDS = 10 * 60
TTL_ATTRIBUTE = "expires_at"
#: Queries of a fan-out run on this many threads (one Query per symbol).
QUERY_WORKERS = 16

_META = "META"
_SYMBOLS = "SYMBOLS"
#: the open-connections counter: ``pk=STATS, sk=CONNECTIONS``, ``n`` moved by register / unregister
_STATS = "STATS"
_CONNECTIONS = "CONNECTIONS"


def conn_pk(connection_id: str) -> str:
    return f"CONN#{connection_id}"


def sym_pk(symbol: str) -> str:
    return f"SYM#{symbol}"


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def session_pk(session_id: str) -> str:
    return f"SESSION#{session_id}"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _key(pk: str, sk: str) -> dict[str, dict[str, str]]:
    return {"pk": _s(pk), "sk": _s(sk)}


class DynamoConnectionRegistry:
    """:class:`stockscreen.realtime.connections.Registry` over one DynamoDB table (see the module doc)."""

    def __init__(
        self,
        table: str,
        client: Any | None = None,
        *,
        max_seconds: int = CONNECTION_MAX_SECONDS,
        max_symbols: int = 50,
        clock: Any = time.time,
    ) -> None:
        self.table = table
        self._ddb = client if client is not None else aws_client("dynamodb", max_pool_connections=QUERY_WORKERS)
        self.max_seconds = max_seconds
        self.max_symbols = max_symbols
        self._clock = clock

    # -- low-level helpers ---------------------------------------------------------------------

    def _expiry(self) -> int:
        return int(self._clock()) + self.max_seconds + TTL_MARGIN_SECONDS

    def _query(self, pk: str, *, projection: str = "sk, expires_at") -> Iterator[dict[str, Any]]:
        """Every live item of partition ``pk`` (items past their TTL, not yet swept, are skipped)."""
        now = int(self._clock())
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": _s(pk)},
            "ProjectionExpression": projection,
        }
        while True:
            page = self._ddb.query(**kwargs)
            for item in page.get("Items", []):
                expires = item.get(TTL_ATTRIBUTE)
                if expires is None or int(expires["N"]) > now:
                    yield item
            last = page.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        """BatchWriteItem in chunks of 25, re-sending what DynamoDB left unprocessed."""
        for i in range(0, len(requests), 25):
            pending: dict[str, Any] = {self.table: requests[i : i + 25]}
            for attempt in range(8):
                left = self._ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                if not left:
                    break
                pending = left
                time.sleep(min(0.5, 0.02 * 2**attempt))
            else:
                raise RuntimeError(f"DynamoDB left {len(pending.get(self.table, []))} writes unprocessed")

    def _count(self, symbol: str, delta: int) -> None:
        self._ddb.update_item(
            TableName=self.table,
            Key=_key(_SYMBOLS, symbol),
            UpdateExpression="ADD n :d SET expires_at = :e",
            ExpressionAttributeValues={":d": _n(delta), ":e": _n(self._expiry())},
        )

    def _meta(self, connection_id: str) -> dict[str, Any] | None:
        item = self._ddb.get_item(TableName=self.table, Key=_key(conn_pk(connection_id), _META)).get("Item")
        if item is None or int(item.get(TTL_ATTRIBUTE, {"N": "0"})["N"]) <= int(self._clock()):
            return None
        return dict(item)

    def _own(self, connection_id: str) -> tuple[dict[str, Any] | None, set[str]]:
        """The connection's META item and the symbols it follows: one Query of its partition."""
        meta: dict[str, Any] | None = None
        symbols: set[str] = set()
        projection = "sk, expires_at, user_id, session_id, #r, connected_at, last_active_at"
        now = int(self._clock())
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": _s(conn_pk(connection_id))},
            "ProjectionExpression": projection,
            "ExpressionAttributeNames": {"#r": "role"},
        }
        while True:
            page = self._ddb.query(**kwargs)
            for item in page.get("Items", []):
                if int(item.get(TTL_ATTRIBUTE, {"N": "0"})["N"]) <= now:
                    continue
                sk = item["sk"]["S"]
                if sk == _META:
                    meta = item
                elif sk.startswith("SYM#"):
                    symbols.add(sk[4:])
            last = page.get("LastEvaluatedKey")
            if not last:
                return meta, symbols
            kwargs["ExclusiveStartKey"] = last

    # -- connections ---------------------------------------------------------------------------

    def register(
        self, connection_id: str, user_id: str | None = None, role: str | None = None, session_id: str | None = None
    ) -> None:
        now = now_ms()
        expires = self._expiry()
        item: dict[str, Any] = {
            **_key(conn_pk(connection_id), _META),
            "user_id": _s(user_id or ""),
            "connected_at": _n(now),
            "last_active_at": _n(now),
            TTL_ATTRIBUTE: _n(expires),
        }
        if role:
            item["role"] = _s(role)
        if session_id:
            item["session_id"] = _s(session_id)
        writes = [{"PutRequest": {"Item": item}}]
        for pk in (user_pk(user_id) if user_id else None, session_pk(session_id) if session_id else None):
            if pk:
                writes.append({"PutRequest": {"Item": {**_key(pk, connection_id), TTL_ATTRIBUTE: _n(expires)}}})
        self._batch_write(writes)
        self._count_connections(+1)

    def _count_connections(self, delta: int) -> None:
        self._ddb.update_item(
            TableName=self.table,
            Key=_key(_STATS, _CONNECTIONS),
            UpdateExpression="ADD n :d",
            ExpressionAttributeValues={":d": _n(delta)},
        )

    def open_connections(self) -> int:
        """The counter's value (one GetItem, never a Scan). API Gateway calls ``$disconnect`` for every
        connection it closes (the 2-hour limit and the idle timeout included), so the counter follows the
        connections; one lost ``$disconnect`` would leave it one high, hence never below zero here."""
        item = self._ddb.get_item(TableName=self.table, Key=_key(_STATS, _CONNECTIONS)).get("Item") or {}
        return max(0, int(item.get("n", {"N": "0"})["N"]))

    def touch(self, connection_id: str) -> None:
        """Record activity (``last_active_at``); the TTL stays: API Gateway's 2-hour limit does not move."""
        # an unknown (or already forgotten) connection: nothing to touch
        with contextlib.suppress(self._ddb.exceptions.ConditionalCheckFailedException):
            self._ddb.update_item(
                TableName=self.table,
                Key=_key(conn_pk(connection_id), _META),
                UpdateExpression="SET last_active_at = :t",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":t": _n(now_ms())},
            )

    def connection(self, connection_id: str) -> dict[str, str] | None:
        meta = self._meta(connection_id)
        if meta is None:
            return None
        out = {k: v.get("S", v.get("N", "")) for k, v in meta.items() if k not in ("pk", "sk", TTL_ATTRIBUTE)}
        return {str(k): str(v) for k, v in out.items()}

    def user_id(self, connection_id: str) -> str | None:
        meta = self._meta(connection_id)
        value = meta.get("user_id", {}).get("S") if meta else None
        return str(value) if value else None

    def unregister(self, connection_id: str) -> list[str]:
        """Forget the connection, its subscriptions and its user-channel entry; returns the symbols it followed."""
        meta, symbols = self._own(connection_id)
        user_id = meta.get("user_id", {}).get("S") if meta else None
        session_id = meta.get("session_id", {}).get("S") if meta else None
        deletes = [{"DeleteRequest": {"Key": _key(conn_pk(connection_id), _META)}}]
        for symbol in sorted(symbols):
            deletes.append({"DeleteRequest": {"Key": _key(conn_pk(connection_id), f"SYM#{symbol}")}})
            deletes.append({"DeleteRequest": {"Key": _key(sym_pk(symbol), connection_id)}})
        if user_id:
            deletes.append({"DeleteRequest": {"Key": _key(user_pk(str(user_id)), connection_id)}})
        if session_id:
            deletes.append({"DeleteRequest": {"Key": _key(session_pk(str(session_id)), connection_id)}})
        self._batch_write(deletes)
        if meta is not None:
            self._count_connections(-1)
        for symbol in symbols:
            self._count(symbol, -1)
        return sorted(symbols)

    def connections_of(self, user_id: str) -> set[str]:
        return {item["sk"]["S"] for item in self._query(user_pk(user_id))}

    def connections_of_session(self, session_id: str) -> set[str]:
        return {item["sk"]["S"] for item in self._query(session_pk(session_id))}

    # -- subscriptions -------------------------------------------------------------------------

    def limit(self, role: str | None) -> int:
        return subscription_limit(role, self.max_symbols)

    def subscribe(self, connection_id: str, symbols: Iterable[object]) -> list[str]:
        """Add symbols (validated, uppercased); returns them. At most the connection's limit in total."""
        wanted = normalize_symbols(symbols)
        if not wanted:
            return []
        meta, current = self._own(connection_id)
        role = meta.get("role", {}).get("S") if meta else None
        check_subscription_limit(current, wanted, self.limit(role), role)
        expires = _n(int(meta[TTL_ATTRIBUTE]["N"]) if meta else self._expiry())
        new = [s for s in wanted if s not in current]
        writes: list[dict[str, Any]] = []
        for symbol in new:
            own = {**_key(conn_pk(connection_id), f"SYM#{symbol}"), TTL_ATTRIBUTE: expires}
            writes.append({"PutRequest": {"Item": own}})
            writes.append({"PutRequest": {"Item": {**_key(sym_pk(symbol), connection_id), TTL_ATTRIBUTE: expires}}})
        self._batch_write(writes)
        for symbol in new:
            self._count(symbol, 1)
        self.touch(connection_id)
        return wanted

    def unsubscribe(self, connection_id: str, symbols: Iterable[object]) -> list[str]:
        """Remove symbols (validated, uppercased); returns them, followed or not."""
        unwanted = normalize_symbols(symbols)
        if not unwanted:
            return []
        _, current = self._own(connection_id)
        gone = [s for s in unwanted if s in current]
        deletes: list[dict[str, Any]] = []
        for symbol in gone:
            deletes.append({"DeleteRequest": {"Key": _key(conn_pk(connection_id), f"SYM#{symbol}")}})
            deletes.append({"DeleteRequest": {"Key": _key(sym_pk(symbol), connection_id)}})
        self._batch_write(deletes)
        for symbol in gone:
            self._count(symbol, -1)
        self.touch(connection_id)
        return unwanted

    def subscribers(self, symbol: str) -> set[str]:
        return {item["sk"]["S"] for item in self._query(sym_pk(symbol.upper()))}

    def subscribers_of(self, symbols: Sequence[str]) -> dict[str, set[str]]:
        """Each symbol's subscribers: one Query per symbol, :data:`QUERY_WORKERS` at a time."""
        unique = sorted({s.upper() for s in symbols})
        if len(unique) <= 1:
            return {s: self.subscribers(s) for s in unique}
        with ThreadPoolExecutor(max_workers=min(QUERY_WORKERS, len(unique))) as pool:
            return dict(zip(unique, pool.map(self.subscribers, unique), strict=True))

    def subscriptions(self, connection_id: str) -> set[str]:
        return self._own(connection_id)[1]

    def subscribed_symbols(self) -> set[str]:
        """Every symbol with at least one subscriber: one Query of the ``SYMBOLS`` counters."""
        out: set[str] = set()
        for item in self._query(_SYMBOLS, projection="sk, n, expires_at"):
            if int(item.get("n", {"N": "0"})["N"]) > 0:
                out.add(item["sk"]["S"])
        return out
