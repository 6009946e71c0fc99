"""One local origin, as CloudFront gives in production: SPA at /, HTTP API at /api, WebSocket at /ws.

``/api/*`` is handed to the Chalice app exactly as API Gateway would (a proxy event built
by Chalice's own LocalGateway, with the stage ``api`` stripped); ``/ws`` and the
``@connections`` management API come from :mod:`devstack.wsgateway`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import uuid
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from chalice.app import Chalice
from chalice.config import Config
from chalice.local import ForbiddenError, LambdaEventConverter, LocalGateway, LocalGatewayException, RouteMatcher
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from devstack import mailbox
from devstack.wsgateway import WebSocketGateway

if TYPE_CHECKING:
    from devstack.metrics import EmfBridge

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
#: requests served at once by the local origin (``STOCKSCREEN_API_THREADS``); see ``ApiProxy._limiter``
API_THREADS = int(os.environ.get("STOCKSCREEN_API_THREADS", "4"))

# The SPA's headers, as the CloudFront response-headers policy sets them in production (there the
# CSP's connect-src is 'self', which CSP Level 3 extends to wss: on the page's own host).
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src {connect}; font-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
SPA_HEADERS = {
    "Content-Security-Policy": _CSP.format(connect="'self'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
}
#: A Host header that may appear in the CSP: a name or IPv4/IPv6 address and an optional port.
_HOST = re.compile(r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


#: The origin the admins' uploads are posted to (the raw bucket's endpoint: ``make dev`` sets it to the
#: local AWS endpoint, as CDK adds the raw bucket's origin to the production CSP); unset: none.
UPLOAD_ORIGIN_ENV = "UPLOAD_ORIGIN"
_ORIGIN = re.compile(r"https?://" + _HOST.pattern)


def security_headers(host: str | None, scheme: str = "http") -> dict[str, str]:
    """:data:`SPA_HEADERS` with connect-src naming this origin's WebSocket URL exactly (``ws://host/ws``),
    so the SPA may open its own live feed and no other; a malformed Host gets 'self' alone. The upload
    origin (:data:`UPLOAD_ORIGIN_ENV`), when set, is allowed too."""
    headers = dict(SPA_HEADERS)
    connect = ["'self'"]
    if host and _HOST.fullmatch(host):
        ws = "wss" if scheme in ("https", "wss") else "ws"
        connect.append(f"{ws}://{host.lower()}/ws")
    upload = os.environ.get(UPLOAD_ORIGIN_ENV, "")
    if _ORIGIN.fullmatch(upload):
        connect.append(upload.lower())
    headers["Content-Security-Policy"] = _CSP.format(connect=" ".join(connect))
    return headers


def _request_headers(scope: Scope) -> dict[str, str]:
    host = None
    for key, value in scope.get("headers") or ():
        if key == b"host":
            host = value.decode("latin-1")
            break
    return security_headers(host, str(scope.get("scheme", "http")))


class SecurityHeaders:
    """Every HTTP answer of the origin carries the security headers (404s, 400s, the router's 405s and
    the proxy's own errors included); one the answer sets itself (the API's CSP) is left as it is."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = _request_headers(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in wanted.items():
                    if key not in headers:
                        headers[key] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": None, "request_id": str(uuid.uuid4())}},
        status_code=status,
        headers=headers,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    """The router's own answers (404, 405) in the uniform error body."""
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
    return _error(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))


async def _internal_error(request: Request, exc: Exception) -> Response:
    """An unexpected failure: the uniform 500 body (logged, never a traceback), with the security
    headers set here: Starlette answers it outside the middleware."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error(500, "internal_error", "an internal error occurred", _request_headers(request.scope))


class _PeerEventConverter(LambdaEventConverter):
    """Chalice's event converter, with the caller's real address as ``requestContext.identity.sourceIp``
    (Chalice's own says 127.0.0.1 for everyone: every local client would share one rate-limit bucket).
    The address is per thread: requests are served concurrently."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._peer = threading.local()

    @property
    def source_ip(self) -> str:
        return getattr(self._peer, "address", "127.0.0.1")

    @source_ip.setter
    def source_ip(self, value: str) -> None:
        self._peer.address = value

    def create_lambda_event(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None = None
    ) -> dict[str, Any]:
        event: dict[str, Any] = super().create_lambda_event(method, path, headers, body)
        event["requestContext"]["identity"]["sourceIp"] = self.source_ip
        return event


class ApiProxy:
    """Turns HTTP requests into API Gateway proxy events for the Chalice app."""

    def __init__(self, app: Chalice) -> None:
        config = Config.create(
            chalice_app=app, app_name=app.app_name, chalice_stage="api", lambda_timeout=15, lambda_memory_size=512
        )
        self.gateway = LocalGateway(app, config)
        self.events = _PeerEventConverter(RouteMatcher(list(app.routes)), app.api.binary_types)
        self.gateway.event_converter = self.events
        # Requests run concurrently on a thread pool: the app keeps each request per thread
        # (``chalicelib.http.ApiApp``), as API Gateway gives each its own Lambda invocation.
        self._threads: anyio.CapacityLimiter | None = None

    def _limiter(self) -> anyio.CapacityLimiter:
        """At most ``API_THREADS`` requests run at once (created in the server's event loop): enough to overlap
        their database and Redis waits; more would only share the GIL, so that every request in flight
        slows down together instead of finishing in turn."""
        if self._threads is None:
            self._threads = anyio.CapacityLimiter(API_THREADS)
        return self._threads

    def _invoke(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None, source_ip: str
    ) -> dict[str, Any]:
        self.events.source_ip = source_ip
        return self.gateway.handle_request(method, path, headers, body)

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return _error(413, "payload_too_large", f"request body is larger than {MAX_BODY} bytes")
        path = "/" + request.path_params["path"]
        if request.url.query:
            path += "?" + request.url.query
        headers = {k: v for k, v in request.headers.items()}
        peer = request.client.host if request.client is not None else "127.0.0.1"
        try:
            result: dict[str, Any] = await anyio.to_thread.run_sync(
                self._invoke, request.method, path, headers, body or None, peer, limiter=self._limiter()
            )
        except ForbiddenError:
            return _error(404, "not_found", f"no route for {request.method} /api{path.split('?')[0]}")
        except LocalGatewayException as exc:
            return Response(exc.body, status_code=exc.CODE, headers=exc.headers)
        out_headers = {k: v for k, v in (result.get("headers") or {}).items()}
        for key, values in (result.get("multiValueHeaders") or {}).items():
            out_headers[key] = ", ".join(values)
        raw = result.get("body") or b""
        if result.get("isBase64Encoded"):
            import base64

            raw = base64.b64decode(raw)
        return Response(
            raw if isinstance(raw, bytes) else str(raw).encode(), status_code=result["statusCode"], headers=out_headers
        )


#: Characters no file of the built SPA has in its path: NUL (the OS refuses it) and other controls.
_BAD_PATH = re.compile(r"[\x00-\x1f\x7f]")


class StaticSite:
    """The built SPA; unknown paths without a file extension get index.html (client-side routes).

    A path is served only when it resolves (symbolic links and ``..`` followed) to a file inside the
    SPA folder; control characters are a 400 and anything else outside it a 404."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _target(self, rel: str) -> Path | None:
        """The file ``rel`` names inside the SPA folder, or None (outside it, or not a file)."""
        try:
            target = (self.root / rel).resolve()
            if not target.is_relative_to(self.root) or not target.is_file():
                return None
        except (OSError, ValueError):  # a name too long for the OS, a loop of links
            return None
        return target

    async def handle(self, request: Request) -> Response:
        rel = request.path_params.get("path", "")
        if _BAD_PATH.search(rel):
            return _error(400, "invalid_path", "the path contains control characters")
        target = self._target(rel)
        if target is not None:
            assets = target.relative_to(self.root).parts[:1] == ("assets",)
            cache = "public, max-age=31536000, immutable" if assets else "no-cache"
            return FileResponse(target, headers={"Cache-Control": cache})
        if "." in PurePosixPath(rel).name or ".." in PurePosixPath(rel).parts:
            return _error(404, "not_found", f"no file {rel}")
        index = self.root / "index.html"
        if not index.is_file():
            return Response(
                "The SPA is not built yet: run 'make dev' (it builds frontend/dist).",
                status_code=503,
                media_type="text/plain",
            )
        return FileResponse(index, headers={"Cache-Control": "no-cache"})


class AnyPath(Convertor[str]):
    """Starlette's ``path`` convertor stops at a newline (its regex is ``.*``); API Gateway passes any
    decoded path to the function, so the local origin does too (``%0A`` in a token is the API's 404)."""

    regex = "[\\s\\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("anypath", AnyPath())


def create_app(api: Chalice, ws_handlers: ModuleType, static_root: Path, metrics: EmfBridge | None = None) -> Starlette:
    proxy = ApiProxy(api)
    ws = WebSocketGateway(ws_handlers)
    site = StaticSite(static_root)
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
    routes = [
        Route("/api/{path:anypath}", proxy.handle, methods=methods),
        *ws.routes(),
        Route("/dev/mail", mailbox.page, methods=["GET"]),  # the dev mailbox (make dev only)
        *([Route("/metrics", _metrics_page(metrics), methods=["GET"])] if metrics is not None else []),
        Route("/{path:anypath}", site.handle, methods=["GET", "HEAD"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
    )
    app.state.ws_gateway = ws
    return app


def _metrics_page(bridge: EmfBridge) -> Any:
    """Prometheus' text format (``make dev`` only: in AWS the same figures are CloudWatch metrics)."""

    async def page(request: Request) -> Response:
        from prometheus_client.exposition import CONTENT_TYPE_LATEST

        body = await run_in_threadpool(bridge.exposition)
        return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})

    return page


def to_json(data: Any) -> str:
    return json.dumps(data, default=str)
