"""One local origin, as CloudFront gives in production: SPA at /, HTTP API at /api, WebSocket at /ws.

``/api/*`` is handed to the Chalice app exactly as API Gateway would (a proxy event built
by Chalice's own LocalGateway, with the stage ``api`` stripped); ``/ws`` and the
``@connections`` management API come from :mod:`devstack.wsgateway`.
"""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

from chalice.app import Chalice
from chalice.config import Config
from chalice.local import ForbiddenError, LocalGateway, LocalGatewayException
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from devstack import mailbox
from devstack.wsgateway import WebSocketGateway

MAX_BODY = 1024 * 1024

# The SPA's headers, as the CloudFront response-headers policy sets them in production.
SPA_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self' ws: wss:; font-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
}


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": None, "request_id": str(uuid.uuid4())}},
        status_code=status,
    )


class ApiProxy:
    """Turns HTTP requests into API Gateway proxy events for the Chalice app."""

    def __init__(self, app: Chalice) -> None:
        config = Config.create(
            chalice_app=app, app_name=app.app_name, chalice_stage="api", lambda_timeout=15, lambda_memory_size=512
        )
        self.gateway = LocalGateway(app, config)
        # A Chalice app serves one request at a time (``app.current_request`` is one attribute), as a
        # Lambda container does; concurrent requests here would read each other's bodies.
        self._one_at_a_time = threading.Lock()

    def _invoke(self, method: str, path: str, headers: dict[str, str], body: bytes | None) -> dict[str, Any]:
        with self._one_at_a_time:
            return self.gateway.handle_request(method, path, headers, body)

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return _error(413, "payload_too_large", f"request body is larger than {MAX_BODY} bytes")
        path = "/" + request.path_params["path"]
        if request.url.query:
            path += "?" + request.url.query
        headers = {k: v for k, v in request.headers.items()}
        try:
            result: dict[str, Any] = await run_in_threadpool(self._invoke, request.method, path, headers, body or None)
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


class StaticSite:
    """The built SPA; unknown paths without a file extension get index.html (client-side routes)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    async def handle(self, request: Request) -> Response:
        rel = request.path_params.get("path", "")
        target = (self.root / rel).resolve()
        if not str(target).startswith(str(self.root)):
            return _error(404, "not_found", "not found")
        if target.is_file():
            cache = "public, max-age=31536000, immutable" if "/assets/" in str(target) else "no-cache"
            return FileResponse(target, headers={**SPA_HEADERS, "Cache-Control": cache})
        if "." in Path(rel).name:
            return _error(404, "not_found", f"no file {rel}")
        index = self.root / "index.html"
        if not index.is_file():
            return Response(
                "The SPA is not built yet: run 'make dev' (it builds frontend/dist).",
                status_code=503,
                media_type="text/plain",
                headers=SPA_HEADERS,
            )
        return FileResponse(index, headers={**SPA_HEADERS, "Cache-Control": "no-cache"})


class AnyPath(Convertor[str]):
    """Starlette's ``path`` convertor stops at a newline (its regex is ``.*``); API Gateway passes any
    decoded path to the function, so the local origin does too (``%0A`` in a token is the API's 404)."""

    regex = "[\\s\\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("anypath", AnyPath())


def create_app(api: Chalice, ws_handlers: ModuleType, static_root: Path) -> Starlette:
    proxy = ApiProxy(api)
    ws = WebSocketGateway(ws_handlers)
    site = StaticSite(static_root)
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
    routes = [
        Route("/api/{path:anypath}", proxy.handle, methods=methods),
        *ws.routes(),
        Route("/dev/mail", mailbox.page, methods=["GET"]),  # the dev mailbox (make dev only)
        Route("/{path:path}", site.handle, methods=["GET", "HEAD"]),
    ]
    app = Starlette(routes=routes)
    app.state.ws_gateway = ws
    return app


def to_json(data: Any) -> str:
    return json.dumps(data, default=str)
