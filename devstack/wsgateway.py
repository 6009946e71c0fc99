"""Local stand-in for API Gateway's WebSocket API (``chalice local`` has no WebSocket support).

:class:`WebSocketGateway` exposes Starlette routes:

* ``/ws``: the WebSocket endpoint. Each socket gets an API Gateway style connection id; the
  gateway builds WebSocket proxy events (``$connect`` / message routes / ``$disconnect``),
  selects the route with ``$request.body.action`` and calls the synchronous Lambda handlers in
  a worker thread. A ``$connect`` handler answering non-2xx (or failing) rejects the socket
  (ASGI close code 1008 before the handshake completes, which the client sees as HTTP 403).
* ``/@connections/{connection_id}``: the management API that boto3's
  ``apigatewaymanagementapi`` client calls (``POST`` sends a frame, ``GET`` describes the
  connection, ``DELETE`` closes it; unknown ids answer 410 ``GoneException``).

Handlers run in threads and usually call the management API of this same server over HTTP;
the management endpoints are pure ``async`` code on the event loop, so a handler blocked on
that request never blocks the loop that serves it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

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
    ) -> None:
        self._handlers: dict[str, Handler] = {}
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

    async def _websocket_endpoint(self, ws: WebSocket) -> None:
        now = _now_ms()
        conn = Connection(
            connection_id=new_connection_id(),
            websocket=ws,
            loop=asyncio.get_running_loop(),
            connected_at=now,
            last_active_at=now,
            source_ip=ws.client.host if ws.client else "127.0.0.1",
            user_agent=ws.headers.get("user-agent", ""),
        )
        try:
            result = await self._invoke("$connect", self.connect_event(conn, ws))
            status = _status_of(result)
        except Exception:
            log.exception("$connect handler failed for %s", conn.connection_id)
            status = 500
        if not 200 <= status < 300:
            log.info("$connect rejected %s with status %s", conn.connection_id, status)
            await ws.close(code=POLICY_VIOLATION, reason=f"$connect returned {status}")
            return

        code, reason = 1005, "Client closed connection"
        try:
            await ws.accept()  # may fail if the client left during $connect: still run $disconnect
            self.connections[conn.connection_id] = conn
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
                    await self._send(
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
            self.connections.pop(conn.connection_id, None)
            if conn.close_code is not None:
                code, reason = conn.close_code, conn.close_reason
            try:
                await self._invoke("$disconnect", self.disconnect_event(conn, code, reason))
            except Exception:
                log.exception("$disconnect handler failed for %s", conn.connection_id)

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

    async def _send(self, conn: Connection, data: str | bytes) -> bool:
        async def go() -> None:
            if isinstance(data, str):
                await conn.websocket.send_text(data)
            else:
                await conn.websocket.send_bytes(data)

        try:
            await self._on_loop(conn.loop, go())
        except Exception as exc:  # closed under our feet: report it as gone
            log.info("send to %s failed: %r", conn.connection_id, exc)
            return False
        conn.last_active_at = _now_ms()
        return True

    async def post_to_connection(self, connection_id: str, data: bytes) -> bool:
        """Send ``data`` as one frame (text when it is UTF-8); False when the connection is gone."""
        conn = self.connections.get(connection_id)
        if conn is None or conn.closing:
            return False
        try:
            payload: str | bytes = data.decode("utf-8")
        except UnicodeDecodeError:
            payload = data
        return await self._send(conn, payload)

    async def delete_connection(self, connection_id: str, code: int = 1000, reason: str = "") -> bool:
        conn = self.connections.get(connection_id)
        if conn is None or conn.closing:
            return False
        conn.closing = True
        conn.close_code, conn.close_reason = code, reason or "Connection closed by the management API"
        try:
            await self._on_loop(conn.loop, conn.websocket.close(code=code, reason=reason or None))
        except Exception as exc:
            log.info("closing %s failed: %r", connection_id, exc)
        return True

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
