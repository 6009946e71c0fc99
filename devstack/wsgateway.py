"""Local stand-in for API Gateway's WebSocket API (``chalice local`` has no WebSocket support).

:class:`WebSocketGateway` exposes Starlette routes:

* ``/ws``: the WebSocket endpoint. Each socket gets an API Gateway style connection id; the
  gateway builds WebSocket proxy events (``$connect`` / message routes / ``$disconnect``),
  selects the route with ``$request.body.action`` and calls the synchronous Lambda handlers in
  a worker thread. When the handlers have a REQUEST authorizer (``authorize``), it runs first, as on
  API Gateway: raising "Unauthorized" refuses the handshake with HTTP 401, a Deny policy with 403, and
  an Allow hands its ``context`` to ``$connect`` in ``requestContext.authorizer``. A ``$connect``
  handler answering non-2xx refuses the handshake with that status (500 when it fails).
* API Gateway's connection limits: an idle connection (no frame from the client for ``idle_timeout_s``,
  10 minutes: the server's pushes do not keep a connection alive, the client's heartbeat does) and
  any connection older than ``max_connection_s`` (2 hours) is closed with 1001 "Going away"; both are
  settable so tests can reach them in seconds.
* Posts never wait for a slow client, and a stuck client cannot grow the gateway's memory without bound:
  under uvicorn with :data:`UVICORN_WS_OPTIONS` (:class:`FrameWriterProtocol`), a post is encoded as a
  WebSocket frame once (connections posted the same ``bytes`` share it) and written at once to each
  connection's transport, which hands it to the kernel or keeps it in its write buffer; elsewhere (another
  server) each connection has an outbox drained by its own writer task. A client with more than
  ``outbox_bytes`` (1 MiB) not yet taken by its socket is closed (1008 "Slow consumer", its transport
  aborted if even the close cannot be written within ``close_timeout_s``) and its posts answer 410, as API
  Gateway gives up on a connection it cannot write to.
* ``/@connections/{connection_id}``: the management API that boto3's
  ``apigatewaymanagementapi`` client calls (``POST`` sends a frame, ``GET`` describes the
  connection, ``DELETE`` closes it; unknown ids answer 410 ``GoneException``).

Handlers run in threads and usually call the management API of this same server over HTTP;
the management endpoints are pure ``async`` code on the event loop, so a handler blocked on
that request never blocks the loop that serves it. Code in the gateway's own process (the quote
poller of ``make dev``, the fan-out benchmark) posts through :class:`LocalManagementClient` instead:
the same ``post_to_connection`` contract without HTTP, plus ``post_many``, which queues a whole
fan-out on the loop in one hop.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import json
import logging
import secrets
import struct
import time
import uuid
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from botocore.exceptions import ClientError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request as HandshakeRequest
from websockets.protocol import State

from stockscreen.core.errors import DomainError
from stockscreen.core.jsonread import read_json

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]
T = TypeVar("T")

#: routeKey -> name of the handler attribute, as the CDK stack wires the Lambda integrations.
DEFAULT_ROUTES: Mapping[str, str] = {
    "$connect": "connect",
    "$disconnect": "disconnect",
    "subscribe": "message",
    "unsubscribe": "message",
    "$default": "message",
}

#: API Gateway's limits: 128 KB per message (frames are reassembled by the server here).
MAX_MESSAGE_BYTES = 128 * 1024
POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009
GOING_AWAY = 1001
#: API Gateway's WebSocket limits: idle timeout and maximum connection duration.
IDLE_TIMEOUT_S = 10 * 60
MAX_CONNECTION_S = 2 * 60 * 60
#: Bytes sent to one client and not yet taken by its socket before the gateway gives up on it (a slow consumer).
OUTBOX_BYTES = 1024 * 1024
#: How long closing a slow consumer may wait for its socket before the connection is aborted.
CLOSE_TIMEOUT_S = 10.0
#: The ASGI scope key under which :class:`FrameWriterProtocol` hands itself to the gateway.
FRAME_WRITER_KEY = "stockscreen.frame_writer"


def encode_frame(payload: bytes, *, text: bool) -> bytes:
    """One unfragmented, unmasked server-to-client WebSocket frame (RFC 6455 5.2): FIN, opcode, length."""
    opcode = 0x81 if text else 0x82
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", opcode, n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", opcode, 126, n)
    else:
        head = struct.pack("!BBQ", opcode, 127, n)
    return head + payload


def frame_of(data: str | bytes) -> bytes:
    """``data`` as one frame: text for a ``str`` (UTF-8), binary for ``bytes``."""
    if isinstance(data, str):
        return encode_frame(data.encode("utf-8"), text=True)
    return encode_frame(data, text=False)


def _is_utf8(data: bytes) -> bool:
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class FrameWriterProtocol(WebSocketsSansIOProtocol):
    """uvicorn's ``websockets-sansio`` protocol that also takes frames already encoded (:func:`encode_frame`)
    and writes them straight to its transport: no task, queue or ASGI message per frame. It hands itself to
    the application in the scope (:data:`FRAME_WRITER_KEY`); everything else (handshake, reads, ping, close)
    is uvicorn's."""

    def handle_connect(self, event: HandshakeRequest) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # only when the handshake goes on to the application
        if scope is not None:
            scope[FRAME_WRITER_KEY] = self

    @property
    def raw_frames(self) -> bool:
        """Plain frames are valid on this connection: no extension (``permessage-deflate``) negotiated."""
        return not self.conn.extensions

    def write_frame(self, frame: bytes, limit: int) -> bool | None:
        """Write one encoded frame now (the transport keeps what the socket does not take): True. False once
        the connection is closing or closed; None, and nothing written, when more than ``limit`` bytes would
        wait for the socket (a frame alone always goes)."""
        transport = self.transport
        if (
            self.close_sent
            or self.disconnected
            or not self.handshake_complete
            or self.conn.state is not State.OPEN
            or transport.is_closing()
        ):
            return False
        waiting = transport.get_write_buffer_size()
        if waiting and waiting + len(frame) > limit:
            return None
        transport.write(frame)
        return True

    def buffered(self) -> int:
        """Bytes written and not yet taken by the socket."""
        return int(self.transport.get_write_buffer_size())


#: uvicorn settings of a server that hosts the gateway: its protocol writes encoded frames straight to each
#: socket (:class:`FrameWriterProtocol`); API Gateway does not negotiate ``permessage-deflate``, so neither does
#: the gateway (compressing every frame per connection was a third of its CPU per tick).
UVICORN_WS_OPTIONS: Mapping[str, Any] = {"ws": FrameWriterProtocol, "ws_per_message_deflate": False}


def new_connection_id() -> str:
    """A 16-character id like API Gateway's (``"L0SM9cOFvHcCIhw="``), URL-path safe."""
    return base64.urlsafe_b64encode(secrets.token_bytes(11)).decode("ascii")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _request_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class LocalLambdaContext:
    """Enough of the Lambda context object for handlers and Powertools."""

    function_name: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    timeout_ms: int = 30_000
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.timeout_ms - int((time.monotonic() - self._started) * 1000))


@dataclass
class Connection:
    connection_id: str
    websocket: WebSocket
    loop: asyncio.AbstractEventLoop
    connected_at: int
    source_ip: str
    user_agent: str
    last_active_at: int = 0
    closing: bool = False
    close_code: int | None = None
    close_reason: str = ""
    #: the gateway dropped it (management DELETE, limits, slow consumer): $disconnect already ran or is running
    dropped: bool = False
    #: the server's protocol when it writes encoded frames itself (uvicorn with UVICORN_WS_OPTIONS), else None
    direct: FrameWriterProtocol | None = None
    #: otherwise: frames waiting for the connection's writer task (made with it), and their bytes
    outbox: asyncio.Queue[str | bytes | None] | None = None
    queued_bytes: int = 0
    writer: asyncio.Task[None] | None = None

    def unsent(self) -> int:
        """Bytes posted to the connection and not yet taken by its socket."""
        return self.direct.buffered() if self.direct is not None else self.queued_bytes

    def identity(self) -> dict[str, str]:
        return {"sourceIp": self.source_ip, "userAgent": self.user_agent}


def _gone(connection_id: str) -> JSONResponse:
    return JSONResponse(
        {"message": f"connection {connection_id!r} is gone"},
        status_code=410,
        headers={"x-amzn-ErrorType": "GoneException"},
    )


def _status_of(result: Any) -> int:
    """Lambda proxy result -> HTTP status (API Gateway treats a missing status as 200)."""
    if isinstance(result, Mapping):
        try:
            return int(result.get("statusCode", 200))
        except (TypeError, ValueError):
            return 502
    return 200


class WebSocketGateway:
    """API Gateway WebSocket API emulation over a handlers object or module."""

    def __init__(
        self,
        handlers: object,
        *,
        routes: Mapping[str, str] = DEFAULT_ROUTES,
        stage: str = "local",
        api_id: str = "local",
        path: str = "/ws",
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        authorizer: str | None = "authorize",
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        max_connection_s: float = MAX_CONNECTION_S,
        outbox_bytes: int = OUTBOX_BYTES,
        close_timeout_s: float = CLOSE_TIMEOUT_S,
    ) -> None:
        self._handlers: dict[str, Handler] = {}
        found = getattr(handlers, authorizer, None) if authorizer else None
        self._authorizer: Handler | None = found if callable(found) else None
        self.idle_timeout_s = idle_timeout_s
        self.max_connection_s = max_connection_s
        self.outbox_bytes = outbox_bytes
        self.close_timeout_s = close_timeout_s
        self.loop: asyncio.AbstractEventLoop | None = None
        self._closers: set[asyncio.Future[None]] = set()
        for route_key, attr in routes.items():
            fn = getattr(handlers, attr, None)
            if not callable(fn):
                raise TypeError(f"handlers object has no callable {attr!r} for route {route_key!r}")
            self._handlers[route_key] = fn
        if "$default" not in self._handlers:
            raise TypeError("a '$default' route is required")
        self.stage = stage
        self.api_id = api_id
        self.path = path
        self.max_message_bytes = max_message_bytes
        self.connections: dict[str, Connection] = {}

    # -- routes -------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [
            WebSocketRoute(self.path, self._websocket_endpoint),
            Route(
                "/@connections/{connection_id}",
                self._management_endpoint,
                methods=["GET", "POST", "DELETE"],
            ),
        ]

    # -- events -------------------------------------------------------------------------------

    def select_route(self, body: str | None) -> str:
        """Route selection expression ``$request.body.action``; a body that is not a JSON object (or that
        the one JSON reader refuses: too deep, too long a number) goes to ``$default``, whose handler
        answers the error."""
        if body:
            try:
                parsed = read_json(body, max_bytes=self.max_message_bytes, what="message")
            except DomainError:
                parsed = None
            action = parsed.get("action") if isinstance(parsed, dict) else None
            if isinstance(action, str) and action in self._handlers and not action.startswith("$"):
                return action
        return "$default"

    def _request_context(
        self, conn: Connection, route_key: str, event_type: str, domain: str, **extra: Any
    ) -> dict[str, Any]:
        now = _now_ms()
        request_id = base64.urlsafe_b64encode(secrets.token_bytes(6)).decode("ascii") + "="
        ctx: dict[str, Any] = {
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": request_id,
            "requestTime": _request_time(now),
            "messageDirection": "IN",
            "stage": self.stage,
            "connectedAt": conn.connected_at,
            "requestTimeEpoch": now,
            "identity": {"sourceIp": conn.source_ip, "userAgent": conn.user_agent},
            "requestId": request_id,
            "domainName": domain,
            "connectionId": conn.connection_id,
            "apiId": self.api_id,
        }
        ctx.update(extra)
        return ctx

    @staticmethod
    def _domain(ws: WebSocket) -> str:
        return ws.headers.get("host") or (f"{ws.url.hostname}:{ws.url.port}" if ws.url.port else "localhost")

    def connect_event(self, conn: Connection, ws: WebSocket) -> dict[str, Any]:
        headers: dict[str, str] = {}
        multi_headers: dict[str, list[str]] = {}
        for k, v in ws.headers.items():
            name = "-".join(p.capitalize() for p in k.split("-"))
            headers[name] = v
            multi_headers.setdefault(name, []).append(v)
        query: dict[str, str] = dict(ws.query_params.items())
        multi_query: dict[str, list[str]] = {}
        for k, v in ws.query_params.multi_items():
            multi_query.setdefault(k, []).append(v)
        event: dict[str, Any] = {
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "requestContext": self._request_context(conn, "$connect", "CONNECT", self._domain(ws)),
            "isBase64Encoded": False,
        }
        if query:
            event["queryStringParameters"] = query
            event["multiValueQueryStringParameters"] = multi_query
        return event

    def authorizer_event(self, connect_event: dict[str, Any]) -> dict[str, Any]:
        """The REQUEST authorizer's event: the ``$connect`` request plus ``type`` and ``methodArn``."""
        ctx = connect_event["requestContext"]
        arn = f"arn:aws:execute-api:us-east-1:000000000000:{self.api_id}/{self.stage}/$connect"
        return {**connect_event, "type": "REQUEST", "methodArn": arn, "requestContext": dict(ctx)}

    async def _authorize(self, connect_event: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        """Run the REQUEST authorizer as API Gateway does: (status, context for ``requestContext.authorizer``).

        Raising ``Unauthorized`` -> 401; a Deny (or no Allow) -> 403; an Allow -> 200 and its context."""
        assert self._authorizer is not None
        context = LocalLambdaContext(function_name="ws-authorize")
        try:
            result = await run_in_threadpool(self._authorizer, self.authorizer_event(connect_event), context)
        except Exception as exc:
            if str(exc) == "Unauthorized":
                return 401, None
            log.exception("the $connect authorizer failed")
            return 500, None
        statements = (result or {}).get("policyDocument", {}).get("Statement", [])
        effects = {st.get("Effect") for st in statements if isinstance(st, Mapping)}
        if "Deny" in effects or "Allow" not in effects:
            return 403, None
        decided = {str(k): v for k, v in ((result or {}).get("context") or {}).items()}
        decided["principalId"] = result.get("principalId", "")
        return 200, decided

    def message_event(self, conn: Connection, route_key: str, body: str, is_base64: bool) -> dict[str, Any]:
        message_id = base64.urlsafe_b64encode(secrets.token_bytes(6)).decode("ascii") + "="
        return {
            "requestContext": self._request_context(
                conn, route_key, "MESSAGE", self._domain(conn.websocket), messageId=message_id
            ),
            "body": body,
            "isBase64Encoded": is_base64,
        }

    def disconnect_event(self, conn: Connection, code: int, reason: str) -> dict[str, Any]:
        return {
            "headers": {"Host": self._domain(conn.websocket), "x-api-key": "", "X-Forwarded-For": ""},
            "multiValueHeaders": {"Host": [self._domain(conn.websocket)]},
            "requestContext": self._request_context(
                conn,
                "$disconnect",
                "DISCONNECT",
                self._domain(conn.websocket),
                disconnectStatusCode=code,
                disconnectReason=reason,
            ),
            "isBase64Encoded": False,
        }

    async def _invoke(self, route_key: str, event: dict[str, Any]) -> Any:
        fn = self._handlers.get(route_key) or self._handlers["$default"]
        context = LocalLambdaContext(function_name=f"ws-{getattr(fn, '__name__', 'handler')}")
        return await run_in_threadpool(fn, event, context)

    # -- the WebSocket endpoint -----------------------------------------------------------------

    async def _refuse(self, ws: WebSocket, status: int, body: Any = None) -> None:
        """Refuse the handshake with an HTTP status, as API Gateway does (401 from the authorizer, the
        ``$connect`` handler's status); a server without the denial extension closes with 1008 (a 403)."""
        if body is None:
            body = {"message": {401: "Unauthorized", 403: "Forbidden"}.get(status, "Internal server error")}
        try:
            await ws.send_denial_response(JSONResponse(body, status_code=status))
        except RuntimeError:
            await ws.close(code=POLICY_VIOLATION, reason=f"$connect returned {status}")

    async def _websocket_endpoint(self, ws: WebSocket) -> None:
        now = _now_ms()
        self.loop = asyncio.get_running_loop()
        conn = Connection(
            connection_id=new_connection_id(),
            websocket=ws,
            loop=self.loop,
            connected_at=now,
            last_active_at=now,
            source_ip=ws.client.host if ws.client else "127.0.0.1",
            user_agent=ws.headers.get("user-agent", ""),
        )
        event = self.connect_event(conn, ws)
        if self._authorizer is not None:
            status, decided = await self._authorize(event)
            if status != 200:
                log.info("$connect authorizer refused %s with %s", conn.connection_id, status)
                await self._refuse(ws, status)
                return
            event["requestContext"]["authorizer"] = decided
        body: Any = None
        try:
            result = await self._invoke("$connect", event)
            status = _status_of(result)
            if isinstance(result, Mapping) and isinstance(result.get("body"), str):
                try:
                    body = json.loads(result["body"])
                except ValueError:
                    body = {"message": result["body"]}
        except Exception:
            log.exception("$connect handler failed for %s", conn.connection_id)
            status = 500
        if not 200 <= status < 300:
            log.info("$connect rejected %s with status %s", conn.connection_id, status)
            await self._refuse(ws, status, body)
            return

        code, reason = 1005, "Client closed connection"
        limits: asyncio.Task[None] | None = None
        try:
            await ws.accept()  # may fail if the client left during $connect: still run $disconnect
            writer = ws.scope.get(FRAME_WRITER_KEY)
            if isinstance(writer, FrameWriterProtocol) and writer.raw_frames:
                conn.direct = writer  # frames go straight to the socket
            else:
                conn.outbox = asyncio.Queue()
                conn.writer = asyncio.create_task(self._writer(conn))
            self.connections[conn.connection_id] = conn
            limits = asyncio.create_task(self._enforce_limits(conn))
            while True:
                msg = await ws.receive()
                if msg["type"] == "websocket.disconnect":
                    code = int(msg.get("code") or 1005)
                    reason = str(msg.get("reason") or "")
                    break
                conn.last_active_at = _now_ms()
                body, is_b64 = self._frame_body(msg)
                if len(body.encode("utf-8")) > self.max_message_bytes:
                    code, reason = MESSAGE_TOO_BIG, "Message too big"
                    conn.closing = True
                    await ws.close(code=MESSAGE_TOO_BIG, reason=reason)
                    break
                route_key = "$default" if is_b64 else self.select_route(body)
                event = self.message_event(conn, route_key, body, is_b64)
                try:
                    await self._invoke(route_key, event)
                except Exception:
                    log.exception("%s handler failed for %s", route_key, conn.connection_id)
                    self._enqueue(
                        conn,
                        json.dumps(
                            {
                                "message": "Internal server error",
                                "connectionId": conn.connection_id,
                                "requestId": event["requestContext"]["requestId"],
                            }
                        ),
                    )
        except Exception:
            log.exception("websocket %s failed", conn.connection_id)
            code, reason = 1011, "Internal error"
        finally:
            conn.closing = True
            for task in (limits, conn.writer):
                if task is not None:
                    task.cancel()
            if not conn.dropped:
                self.connections.pop(conn.connection_id, None)
                await self._disconnected(conn, code, reason)

    async def _disconnected(self, conn: Connection, code: int, reason: str) -> None:
        if conn.close_code is not None:
            code, reason = conn.close_code, conn.close_reason
        try:
            await self._invoke("$disconnect", self.disconnect_event(conn, code, reason))
        except Exception:
            log.exception("$disconnect handler failed for %s", conn.connection_id)

    def _drop(self, conn: Connection, code: int, reason: str) -> None:
        """On the loop: the gateway ends the connection now, as API Gateway does (later posts answer 410 at
        once, ``$disconnect`` runs at once) whether or not the client answers the close handshake."""
        if conn.dropped:
            return
        conn.dropped = conn.closing = True
        conn.close_code, conn.close_reason = code, reason
        self.connections.pop(conn.connection_id, None)
        if conn.writer is not None:
            conn.writer.cancel()
        for coro in (self._close_socket(conn, code, reason), self._disconnected(conn, code, reason)):
            task = asyncio.ensure_future(coro)
            self._closers.add(task)
            task.add_done_callback(self._closers.discard)

    async def _enforce_limits(self, conn: Connection) -> None:
        """Close the connection at API Gateway's limits: idle for ``idle_timeout_s``, or ``max_connection_s`` old."""
        while not conn.closing:
            now = _now_ms()
            idle_at = conn.last_active_at + self.idle_timeout_s * 1000
            age_at = conn.connected_at + self.max_connection_s * 1000
            if now >= min(idle_at, age_at):
                why = "Connection idle timeout" if now >= idle_at and now < age_at else "Maximum connection duration"
                log.info("closing %s: %s", conn.connection_id, why)
                await self.delete_connection(conn.connection_id, GOING_AWAY, why)
                return
            await asyncio.sleep(max(0.01, (min(idle_at, age_at) - now) / 1000))

    async def _writer(self, conn: Connection) -> None:
        """Drain the connection's outbox onto its socket, in order; a failed write closes the connection."""
        send = conn.websocket.send
        queue = conn.outbox
        assert queue is not None
        while True:
            data = await queue.get()
            if data is None:
                return
            conn.queued_bytes -= len(data)
            try:  # the ASGI message itself (Starlette's send_text re-checks the state on every frame)
                await send(
                    {"type": "websocket.send", "text": data}
                    if isinstance(data, str)
                    else {"type": "websocket.send", "bytes": data}
                )
            except Exception as exc:  # closed under our feet: later posts answer 410
                log.info("send to %s failed: %r", conn.connection_id, exc)
                conn.closing = True
                return

    def _enqueue(self, conn: Connection, data: str | bytes) -> bool:
        """Send a frame to the connection (on the loop); False when it is closing or too slow."""
        if conn.closing:
            return False
        if conn.direct is not None:
            return self._write(conn, frame_of(data))
        if conn.outbox is None or not self._room_for(conn, len(data)):
            return False
        conn.outbox.put_nowait(data)
        conn.queued_bytes += len(data)
        return True

    def _room_for(self, conn: Connection, size: int) -> bool:
        """Whether ``size`` more bytes may wait for the connection's socket. A client with more than
        ``outbox_bytes`` waiting is too slow to keep: it is closed (1008) and the frame refused; a frame
        alone always goes (so one bigger than the limit reaches a client that keeps up)."""
        unsent = conn.unsent()
        if unsent and unsent + size > self.outbox_bytes:
            self._slow_consumer(conn)
            return False
        return True

    def _slow_consumer(self, conn: Connection) -> None:
        log.warning("closing %s: %d bytes unsent (slow consumer)", conn.connection_id, conn.unsent())
        self._drop(conn, POLICY_VIOLATION, "Slow consumer")

    def _write(self, conn: Connection, frame: bytes) -> bool:
        """Write an encoded frame to a direct connection's socket now (never waiting for it)."""
        assert conn.direct is not None
        written = conn.direct.write_frame(frame, self.outbox_bytes)
        return written or self._not_written(conn, written)

    def _not_written(self, conn: Connection, written: bool | None) -> bool:
        """After a refused direct write: a slow consumer (None) is dropped; a connection closed under our feet
        (False) is marked closing, so later posts answer 410. Always False."""
        if written is None:
            self._slow_consumer(conn)
        else:
            conn.closing = True
        return False

    async def _close_socket(self, conn: Connection, code: int, reason: str) -> None:
        try:
            await asyncio.wait_for(conn.websocket.close(code=code, reason=reason or None), self.close_timeout_s)
        except TimeoutError:  # the close frame waits behind what the client does not read: give up on it
            log.info("closing %s timed out; aborting it", conn.connection_id)
            if conn.direct is not None:
                conn.direct.transport.abort()
        except Exception as exc:
            log.info("closing %s failed: %r", conn.connection_id, exc)

    @staticmethod
    def _frame_body(msg: Mapping[str, Any]) -> tuple[str, bool]:
        text = msg.get("text")
        if text is not None:
            return str(text), False
        data: bytes = msg.get("bytes") or b""
        try:
            return data.decode("utf-8"), False
        except UnicodeDecodeError:
            return base64.b64encode(data).decode("ascii"), True

    # -- sending, from any thread or loop -----------------------------------------------------

    @staticmethod
    async def _on_loop(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on ``loop`` (the socket's), whichever loop we are running on."""
        if loop is asyncio.get_running_loop():
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))

    @staticmethod
    def _payload(data: bytes) -> str | bytes:
        try:
            return data.decode("utf-8")  # a text frame when it is UTF-8
        except UnicodeDecodeError:
            return data

    def post_now(self, connection_id: str, data: bytes) -> bool:
        """On the loop: queue ``data`` as one frame for the connection; False when it is gone."""
        conn = self.connections.get(connection_id)
        if conn is None:
            return False
        if conn.direct is None or conn.closing:
            return self._enqueue(conn, self._payload(data))
        return self._write(conn, encode_frame(data, text=_is_utf8(data)))

    def post_many_now(self, posts: Sequence[tuple[str, bytes]]) -> list[bool]:  # the fan-out's hot path
        """On the loop: :meth:`post_now` for each ``(connection id, frame)``; each distinct ``bytes`` object is
        encoded once, and written straight to every direct connection it goes to."""
        connections = self.connections
        encoded: dict[int, bytes] = {}  # id(data) -> its frame (``posts`` keeps every data alive meanwhile)
        limit = self.outbox_bytes
        out: list[bool] = []
        for connection_id, data in posts:
            conn = connections.get(connection_id)
            if conn is None or conn.closing:
                out.append(False)
                continue
            direct = conn.direct
            if direct is None:
                out.append(self._enqueue(conn, self._payload(data)))
                continue
            frame = encoded.get(id(data))
            if frame is None:
                frame = encoded[id(data)] = encode_frame(data, text=_is_utf8(data))
            written = direct.write_frame(frame, limit)
            out.append(written or self._not_written(conn, written))
        return out

    def drop_now(
        self, connection_id: str, code: int = 1000, reason: str = "Connection closed by the management API"
    ) -> bool:
        """On the loop: close the connection now (``DeleteConnection``); False when it is gone."""
        conn = self.connections.get(connection_id)
        if conn is None or conn.closing:
            return False
        self._drop(conn, code, reason)
        return True

    async def post_to_connection(self, connection_id: str, data: bytes) -> bool:
        """Send ``data`` as one frame (text when it is UTF-8); False when the connection is gone."""
        conn = self.connections.get(connection_id)
        if conn is None:
            return False
        return await self._on_loop(conn.loop, self._post_async(connection_id, data))

    async def _post_async(self, connection_id: str, data: bytes) -> bool:
        return self.post_now(connection_id, data)

    async def delete_connection(self, connection_id: str, code: int = 1000, reason: str = "") -> bool:
        conn = self.connections.get(connection_id)
        if conn is None or conn.closing:
            return False
        await self._on_loop(
            conn.loop, self._drop_async(conn, code, reason or "Connection closed by the management API")
        )
        return True

    async def _drop_async(self, conn: Connection, code: int, reason: str) -> None:
        self._drop(conn, code, reason)

    # -- the @connections management API ------------------------------------------------------

    async def _management_endpoint(self, request: Request) -> Response:
        connection_id = request.path_params["connection_id"]
        if request.method == "POST":
            data = await request.body()
            if len(data) > self.max_message_bytes:
                return JSONResponse(
                    {"message": f"payload of {len(data)} bytes exceeds {self.max_message_bytes}"},
                    status_code=413,
                    headers={"x-amzn-ErrorType": "PayloadTooLargeException"},
                )
            if not await self.post_to_connection(connection_id, data):
                return _gone(connection_id)
            return Response(status_code=200)
        if request.method == "DELETE":
            if not await self.delete_connection(connection_id):
                return _gone(connection_id)
            return Response(status_code=204)
        conn = self.connections.get(connection_id)
        if conn is None or conn.closing:
            return _gone(connection_id)
        return JSONResponse(
            {
                "connectedAt": _iso(conn.connected_at),
                "identity": conn.identity(),
                "lastActiveAt": _iso(conn.last_active_at),
            }
        )


class GoneException(ClientError):
    """What :class:`LocalManagementClient` raises for a connection that is gone (botocore's shape: code 410)."""

    def __init__(self, connection_id: str) -> None:
        super().__init__(
            {
                "Error": {"Code": "GoneException", "Message": f"connection {connection_id!r} is gone"},
                "ResponseMetadata": {
                    "HTTPStatusCode": 410,
                    "HTTPHeaders": {},
                    "HostId": "",
                    "RequestId": "",
                    "RetryAttempts": 0,
                },
            },
            "PostToConnection",
        )


class LocalManagementClient:
    """The ``@connections`` API of a gateway in this process, for code running on other threads (the
    ``make dev`` poller's fan-out, the benchmark): boto3's ``post_to_connection`` contract without HTTP, and
    ``post_many``, which queues a whole fan-out on the gateway's loop in one hop (what the broadcaster uses)."""

    class exceptions:
        GoneException = GoneException

    def __init__(self, gateway: WebSocketGateway, timeout: float = 10.0) -> None:
        self.gateway = gateway
        self.timeout = timeout

    def _call(self, fn: Callable[[], T]) -> T:
        loop = self.gateway.loop
        if loop is None:
            raise GoneException("-")  # nobody ever connected
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(fn())
            except BaseException as exc:  # handed to the caller's thread
                done.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return done.result(self.timeout)

    def post_to_connection(self, *, Data: bytes, ConnectionId: str) -> dict[str, Any]:
        if not self._call(lambda: self.gateway.post_now(ConnectionId, Data)):
            raise GoneException(ConnectionId)
        return {}

    def delete_connection(self, *, ConnectionId: str) -> dict[str, Any]:
        """Close the connection (1000), as ``DELETE @connections/{id}`` does; ``GoneException`` when it is gone."""
        if self.gateway.loop is None or not self._call(lambda: self.gateway.drop_now(ConnectionId)):
            raise GoneException(ConnectionId)
        return {}

    def post_many(self, posts: Sequence[tuple[str, bytes]]) -> list[bool]:
        """Queue every ``(connection id, frame)``; True where queued, False where the connection is gone."""
        if self.gateway.loop is None:
            return [False] * len(posts)
        return self._call(lambda: self.gateway.post_many_now(posts))
