"""Push server messages to WebSocket clients through API Gateway's ``@connections`` API.

A quote batch's fan-out (:meth:`Broadcaster.broadcast_quotes`):

1. **Lookup**: the subscribers of every symbol of the batch, in one call to the registry
   (:meth:`~stockscreen.realtime.connections.Registry.subscribers_of`: one Query per symbol on DynamoDB,
   run in parallel; on Redis one script, one reply).
2. **Frames**: each connection gets the quotes it follows as few frames as fit in 32 KB
   (:func:`~stockscreen.realtime.messages.quote_frames`): one ``PostToConnection`` per connection and tick
   rather than one per quote. Each quote is serialised once per batch and each distinct frame is built once
   (connections following the same symbols share its bytes).
3. **Posts** in parallel on a bounded thread pool (:data:`POST_WORKERS`), each post with its own short read
   timeout: a slow connection holds one worker, never the others. A client that supports ``post_many``
   (the local gateway's in-process client, :class:`devstack.wsgateway.LocalManagementClient`) takes the
   whole list in one call. A post answering ``GoneException`` unregisters the connection; any other
   failure is logged and counted, and the fan-out goes on.

:meth:`Broadcaster.close` ends connections (``DeleteConnection``, in parallel, then unregistered): a signed-out
session's sockets (:func:`stockscreen.realtime.sessions.close_sessions`).

Pushed frames (quotes, alerts) carry the bound correlation id as ``cid``
(:func:`stockscreen.core.correlation.tag_frame`).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from stockscreen.core import collector, correlation
from stockscreen.core.clients import aws_client
from stockscreen.core.config import ws_settings
from stockscreen.realtime.connections import Registry, connection_registry
from stockscreen.realtime.messages import MAX_FRAME_BYTES, Quote, ServerMessage, quote_frames

log = logging.getLogger(__name__)

#: Posts in flight at once (threads; boto3's connection pool is sized to match).
POST_WORKERS = 32
#: A post waits this long for API Gateway's answer (botocore's default is 60 s).
POST_READ_TIMEOUT_S = 5.0


class ManagementClient(Protocol):
    """The part of boto3's ``apigatewaymanagementapi`` client used here."""

    @property
    def exceptions(self) -> Any: ...

    def post_to_connection(self, *, Data: bytes, ConnectionId: str) -> Any: ...

    def delete_connection(self, *, ConnectionId: str) -> Any: ...


def _is_gone(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code", "")) == "GoneException"


@dataclass
class FanOut:
    """What one fan-out did: frames posted, delivered, connections found gone, other failures."""

    posts: int = 0
    delivered: int = 0
    gone: set[str] = field(default_factory=set)
    failed: int = 0


class Broadcaster:
    """Sends messages to connections; a connection that answers ``GoneException`` is unregistered."""

    def __init__(
        self,
        management_client: ManagementClient,
        registry: Registry | None = None,
        *,
        workers: int = POST_WORKERS,
        frame_limit: int = MAX_FRAME_BYTES,
    ) -> None:
        self.client = management_client
        self._registry = registry
        self.workers = workers
        self.frame_limit = frame_limit
        gone = getattr(getattr(management_client, "exceptions", None), "GoneException", None)
        self._gone: type[BaseException] | None = (
            gone if isinstance(gone, type) and issubclass(gone, BaseException) else None
        )
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    @classmethod
    def from_settings(cls, registry: Registry | None = None) -> Broadcaster:
        client = aws_client(
            "apigatewaymanagementapi",
            endpoint_url=ws_settings().ws_management_url,
            max_pool_connections=POST_WORKERS,
            read_timeout=POST_READ_TIMEOUT_S,
        )
        return cls(client, registry)

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = connection_registry()
        return self._registry

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="ws-post")
            return self._pool

    def _is_gone(self, exc: BaseException) -> bool:
        """The connection is gone (``GoneException``, as the client's own class or as a ``ClientError``)."""
        return (self._gone is not None and isinstance(exc, self._gone)) or (
            isinstance(exc, ClientError) and _is_gone(exc)
        )

    def _post(self, connection_id: str, data: bytes) -> bool:
        """True when delivered; False when the connection is gone (it is then unregistered)."""
        try:
            self.client.post_to_connection(ConnectionId=connection_id, Data=data)
            return True
        except Exception as exc:
            if not self._is_gone(exc):
                raise
        log.info("connection %s is gone; unregistering it", connection_id)
        self.registry.unregister(connection_id)
        return False

    def _try_post(self, post: tuple[str, bytes]) -> bool | None:
        """One post of a fan-out: True delivered, False gone (unregistered), None failed (logged)."""
        try:
            return self._post(*post)
        except (ClientError, BotoCoreError):
            log.exception("post_to_connection failed for %s", post[0])
        except Exception:  # one broken connection must not end the fan-out
            log.exception("post_to_connection raised for %s", post[0])
        return None

    def post_all(self, posts: Sequence[tuple[str, bytes]]) -> FanOut:
        """Post every ``(connection id, frame)`` in parallel (bounded); gone connections are unregistered."""
        result = FanOut(posts=len(posts))
        if not posts:
            return result
        many = getattr(self.client, "post_many", None)
        if callable(many):
            outcomes: Iterable[bool | None] = many(posts)
            gone_ids = [cid for (cid, _), ok in zip(posts, outcomes, strict=True) if ok is False]
            for cid in set(gone_ids):
                self.registry.unregister(cid)
            result.delivered = len(posts) - len(gone_ids)
            result.gone = set(gone_ids)
            return result
        # one post runs here; more go to the pool (a slow one holds one worker, not the others)
        outcomes = [self._try_post(posts[0])] if len(posts) == 1 else self._executor().map(self._try_post, posts)
        for (cid, _), ok in zip(posts, outcomes, strict=True):
            if ok:
                result.delivered += 1
            elif ok is False:
                result.gone.add(cid)
            else:
                result.failed += 1
        return result

    def _close(self, connection_id: str) -> bool:
        """Close one connection (``DeleteConnection``) and forget it; False when it was already gone."""
        try:
            self.client.delete_connection(ConnectionId=connection_id)
            closed = True
        except Exception as exc:
            if not self._is_gone(exc):
                raise
            closed = False
        self.registry.unregister(connection_id)  # $disconnect does it too; here it is sure to be done
        return closed

    def close(self, connection_ids: Iterable[str]) -> int:
        """Close the connections in parallel (a session signed out: its pushes stop); returns how many were
        open. One that fails otherwise is logged and skipped."""
        ids = sorted(set(connection_ids))

        def one(cid: str) -> bool:
            try:
                return self._close(cid)
            except Exception:
                log.exception("delete_connection failed for %s", cid)
                return False

        return sum(self._executor().map(one, ids)) if ids else 0

    def send(self, connection_id: str, message: ServerMessage) -> bool:
        """Send one message; False (and the connection forgotten) when it is gone."""
        data = message.to_bytes()
        if len(data) > self.frame_limit:
            raise ValueError(f"a {message.type} message of {len(data)} bytes does not fit one frame")
        return self._post(connection_id, data)

    def push_to_user(self, user_id: str, message: ServerMessage) -> int:
        """Send ``message`` to every open connection of the user (the user channel), in parallel.

        Returns the number of connections reached; gone ones are forgotten, and a failing post
        is logged and skipped so that one bad connection does not stop the others.
        """
        data = correlation.tag_frame(message.to_bytes())
        return self.post_all([(cid, data) for cid in sorted(self.registry.connections_of(user_id))]).delivered

    def frames_for(self, quotes: Iterable[Quote]) -> list[tuple[str, bytes]]:
        """Each subscriber's frames for a batch: the quotes it follows, split to fit :attr:`frame_limit`.

        Each quote is serialised once; connections following the same symbols share one built frame (the
        same ``bytes`` object), so the work per connection is a dictionary lookup, not a JSON encoding. The
        cyclic collector is paused meanwhile (:func:`stockscreen.core.collector.paused`): what it builds is acyclic."""
        by_symbol = {q.symbol: q.to_bytes() for q in quotes}
        if not by_symbol:
            return []
        with collector.paused():
            return self._frames_for(by_symbol)

    def _frames_for(self, by_symbol: dict[str, bytes]) -> list[tuple[str, bytes]]:
        # each connection's quotes, in the registry's (sorted) symbol order: equal sets give equal tuples
        per_connection: defaultdict[str, list[bytes]] = defaultdict(list)
        for symbol, subscribers in self.registry.subscribers_of(sorted(by_symbol)).items():
            part = by_symbol[symbol]
            for cid in subscribers:
                per_connection[cid].append(part)
        tag = correlation.current()
        limit = self.frame_limit - (len(tag) + 9 if tag else 0)  # room for '"cid":"<id>",'
        built: dict[tuple[bytes, ...], list[bytes]] = {}
        posts: list[tuple[str, bytes]] = []
        for cid, parts in per_connection.items():
            key = tuple(parts)
            frames = built.get(key)
            if frames is None:
                frames = built[key] = quote_frames(parts, limit)
                if tag:
                    frames[:] = [correlation.tag_frame(frame) for frame in frames]
            if len(frames) == 1:
                posts.append((cid, frames[0]))
            else:
                posts.extend([(cid, frame) for frame in frames])
        return posts

    def fan_out(self, quotes: Iterable[Quote]) -> FanOut:
        return self.post_all(self.frames_for(quotes))

    def broadcast_quotes(self, quotes: Iterable[Quote]) -> int:
        """Fan each quote out to its symbol's subscribers; returns the number of frames delivered.

        A failure other than ``GoneException`` is logged and skipped so that one bad
        connection does not stop the fan-out.
        """
        return self.fan_out(quotes).delivered
