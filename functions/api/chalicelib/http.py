"""HTTP plumbing shared by the blueprints: the route declaration (:func:`route`, :data:`ROUTES`), JSON
parsing, and the app middleware (uniform errors, CORS, security headers, logs, metrics).

What runs around each declared route's view is :mod:`chalicelib.steps`; the error body and the
request-to-response marks are :mod:`chalicelib.responses` (re-exported here)."""

from __future__ import annotations

import functools
import gc
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from chalice.app import Blueprint, Chalice, Request, Response

from chalicelib import steps
from chalicelib.authn import header
from chalicelib.responses import (
    CTX_CACHE,
    CTX_HEADERS,
    CTX_LIMITED,
    add_headers,
    error_body,
    error_response,
    json_text,
    request_id,
    snapshot_version,
    validation_error,
)
from stockscreen.core import policy
from stockscreen.core.errors import Invalid

if TYPE_CHECKING:
    from pydantic import BaseModel

# Cold start: importing this module (and every route module) imports neither pydantic, Redis, SQLAlchemy
# nor Powertools; the helpers below import them on the first request that needs them.

__all__ = [
    "ROUTES",
    "ApiApp",
    "ModelRef",
    "Response",
    "RouteSpec",
    "add_headers",
    "error_body",
    "error_response",
    "install",
    "json_body",
    "json_object",
    "json_text",
    "query",
    "request_id",
    "resolve",
    "route",
    "snapshot_version",
    "validation_error",
]

MAX_BODY_BYTES = 64 * 1024


class _PerThread(threading.local):
    current_request: Request | None = None
    lambda_context: Any = None


class ApiApp(Chalice):
    """Chalice with the request and the Lambda context kept per thread.

    Chalice stores both as attributes of the app, which is right for a Lambda container (one request at a
    time) but lets concurrent requests in one process read each other's. Per thread, the local origin
    (``make dev``) serves requests concurrently, each isolated, and a Lambda behaves exactly as before."""

    def __init__(self, app_name: str, *args: Any, **kwargs: Any) -> None:
        self._per_thread = _PerThread()
        super().__init__(app_name, *args, **kwargs)

    @property
    def current_request(self) -> Request | None:
        return self._per_thread.current_request

    @current_request.setter
    def current_request(self, value: Request | None) -> None:
        self._per_thread.current_request = value

    @property
    def lambda_context(self) -> Any:
        return self._per_thread.lambda_context

    @lambda_context.setter
    def lambda_context(self, value: Any) -> None:
        self._per_thread.lambda_context = value


M = TypeVar("M", bound="BaseModel")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}

_CHALICE_CODES = {
    "BadRequestError": "bad_request",
    "NotFoundError": "not_found",
    "MethodNotAllowedError": "method_not_allowed",
    "UnsupportedMediaType": "unsupported_media_type",
    "UnauthorizedError": "unauthorized",
    "ForbiddenError": "forbidden",
    "RequestTimeoutError": "timeout",
    "TooManyRequestsError": "rate_limited",
    "InternalServerError": "internal_error",
}


def json_object(request: Request) -> dict[str, Any]:
    """The JSON body, read with the one JSON reader (size, depth, number and text limits): malformed JSON
    and anything but an object are 400s, a body over MAX_BODY_BYTES a 413."""
    from stockscreen.core.jsonread import read_json

    data = read_json(request.raw_body or b"", max_bytes=MAX_BODY_BYTES)
    if not isinstance(data, dict):
        raise Invalid("expected a JSON object")
    return data


def json_body(request: Request, model: type[M]) -> M:
    """:func:`json_object` validated by ``model``: wrong types and unknown fields are 400s too."""
    return model.model_validate(json_object(request))


def query(request: Request, model: type[M]) -> M:
    return model.model_validate(request.query_params or {})


F = TypeVar("F", bound=Callable[..., Any])
AuthMode = Literal["none", "optional", "required"]
ModelRef = Callable[[], "type[BaseModel]"]
"""A model named without importing it (``lambda: schema.LoginBody``), resolved when the OpenAPI document is built."""


def resolve(ref: ModelRef | None) -> type[BaseModel] | None:
    return ref() if ref is not None else None


@dataclass(frozen=True)
class RouteSpec:
    """What the route table knows about a route besides its path: who may call it, how it is cached,
    and the models that describe it (for the OpenAPI document)."""

    path: str
    method: str
    auth: AuthMode
    feature: str | None
    cache_ttl: int | None
    summary: str
    tag: str
    body: ModelRef | None
    query: ModelRef | None
    response: ModelRef | None
    status: int
    owned: bool
    errors: tuple[int, ...] = ()
    content_type: str = "application/json"
    produces: tuple[str, ...] = ()


ROUTES: dict[tuple[str, str], RouteSpec] = {}


def route(
    bp: Blueprint | Chalice,
    path: str,
    *,
    auth: AuthMode = "optional",
    feature: str | None = None,
    cache_ttl: int | None = None,
    body: ModelRef | None = None,
    params: ModelRef | None = None,
    response: ModelRef | None = None,
    status: int = 200,
    owned: bool = False,
    tag: str | None = None,
    errors: tuple[int, ...] = (),
    content_type: str = "application/json",
    produces: tuple[str, ...] = (),
    **kwargs: Any,
) -> Callable[[F], F]:
    """``bp.route`` plus authentication, the policy check, rate limiting, caching and the uniform errors.

    ``auth``: "required" (401 without a valid token or key), "optional" (anonymous allowed, bad
    credentials still 401) or "none" (credentials ignored: the auth routes themselves).
    ``feature``: a key of :data:`stockscreen.core.policy.FEATURES`; callers whose role lacks it get 403.
    ``cache_ttl``: seconds to cache a public GET in Redis, with ETag/304 and Cache-Control.
    ``owned``: the route addresses one resource of the caller (another user's is 404).
    ``body``, ``params``, ``response``: the models that describe the route in the OpenAPI document, named
    lazily (``lambda: schema.LoginBody``) so that registering the route imports no pydantic.
    ``produces``: content types the successful response may have besides ``content_type`` (e.g. a CSV
    export of a JSON result), each documented as a text body.
    """
    if feature is not None:
        policy.allowed("admin", feature)  # fail at import time on an unknown feature
    if cache_ttl is not None and auth == "required":
        raise ValueError("only public routes may use the shared response cache")
    methods = [m.upper() for m in kwargs.get("methods", ["GET"])]

    def decorator(fn: F) -> F:
        doc = (fn.__doc__ or fn.__name__.replace("_", " ")).strip().splitlines()[0]
        for method in methods:
            ROUTES[(method, path)] = RouteSpec(
                path=path,
                method=method,
                auth=auth,
                feature=feature,
                cache_ttl=cache_ttl,
                summary=doc,
                tag=tag or path.strip("/").split("/")[0],
                body=body,
                query=params,
                response=response,
                status=status,
                owned=owned,
                errors=errors,
                content_type=content_type,
                produces=produces,
            )

        spec = ROUTES[(methods[0], path)]

        @functools.wraps(fn)
        def view(*args: Any, **kw: Any) -> Any:
            return steps.handle(spec, bp.current_request, kw.values(), lambda: fn(*args, **kw))

        bp.route(path, **kwargs)(view)
        return fn

    return decorator


def _cors(event: Request, response: Response) -> None:
    from stockscreen.accounts.settings import api_settings

    origin = header(event, "origin")
    if origin is None or origin.rstrip("/") not in api_settings().cors_allow_origins:
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Credentials"] = "true"
    response.headers["Access-Control-Expose-Headers"] = (
        "ETag, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, RateLimit-Policy, X-Correlation-Id"
    )
    response.headers["Vary"] = "Origin"


def _preflight(event: Request) -> Response | None:
    from stockscreen.accounts.settings import api_settings

    origin = header(event, "origin")
    if event.method != "OPTIONS" or origin is None or header(event, "access-control-request-method") is None:
        return None
    if origin.rstrip("/") not in api_settings().cors_allow_origins:
        return error_response(event, 403, "cors_forbidden", f"origin {origin} is not allowed")
    return Response(
        body="",
        status_code=204,
        headers={
            "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE",
            "Access-Control-Allow-Headers": "Authorization, Content-Type, X-API-Key, If-None-Match, X-Correlation-Id",
            "Access-Control-Max-Age": "600",
        },
    )


def add_preflight_routes(app: Chalice) -> None:
    """An OPTIONS view on every path (API Gateway answers OPTIONS itself on paths without one); the
    middleware turns allowed CORS preflights into 204s with the Access-Control-* headers."""
    for path, entries in list(app.routes.items()):
        if "OPTIONS" in entries:
            continue

        def options_view(**_: Any) -> Response:
            allowed = sorted(m for m in app.routes.get(app.current_request.path if app.current_request else "", {}))
            return Response(body="", status_code=204, headers={"Allow": ", ".join(allowed)})

        options_view.__name__ = "options_" + (
            path.strip("/").replace("/", "_").replace("{", "").replace("}", "") or "root"
        )
        app.route(path, methods=["OPTIONS"])(options_view)


def _emit_metrics(event: Request, response: Response, elapsed_ms: float) -> None:
    from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

    m = EphemeralMetrics(namespace="Stockscreen", service="stockscreen-api")
    m.add_dimension(name="route", value=f"{event.method} {event.context.get('resourcePath', event.path)}")
    m.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=round(elapsed_ms, 3))
    m.add_metric(name=f"Status{response.status_code // 100}xx", unit=MetricUnit.Count, value=1)
    cache = event.context.get(CTX_CACHE)
    if cache:
        m.add_metric(name="CacheHit" if cache == "hit" else "CacheMiss", unit=MetricUnit.Count, value=1)
    if event.context.get(CTX_LIMITED):
        m.add_metric(name="RateLimited", unit=MetricUnit.Count, value=1)
    m.flush_metrics()


_gc_paused = False


def _resume_gc() -> None:
    global _gc_paused
    if _gc_paused:
        _gc_paused = False
        gc.freeze()
        gc.enable()


def install(app: Chalice, *, resume_gc: bool = False) -> None:
    """Middleware: uniform body for Chalice's own errors, CORS, security headers, logs and metrics.

    ``resume_gc``: the handler module turned the cyclic garbage collector off for the cold start; the first
    response turns it back on, after ``gc.freeze()`` (what the cold start built stays for the container's
    life: no later collection scans it; the few hundred objects of garbage among it are not reclaimed)."""
    global _gc_paused
    _gc_paused = _gc_paused or resume_gc  # module-wide: any app instance of the process may answer first

    @app.middleware("http")
    def _correlated(event: Request, get_response: Callable[[Request], Response]) -> Response:
        """The request is an edge: its valid ``X-Correlation-Id``, else a new id, bound for the request (every
        log line, what it starts) and returned; an X-Ray subsegment per route (a no-op outside Lambda)."""
        from stockscreen.core import correlation
        from stockscreen.core.observability import subsegment

        route = f"{event.method} {event.context.get('resourcePath', event.path)}"
        try:
            with (
                correlation.bound(correlation.from_headers(event.headers)) as cid,
                subsegment(route, route=route, correlation_id=cid),
            ):
                response = _middleware(event, get_response)
        finally:
            _resume_gc()
        response.headers[correlation.HEADER] = cid
        return response

    def _middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
        from stockscreen.core.correlation import current

        started = time.perf_counter()
        logger = steps.logger()
        # A warm container keeps the logger: start each request from this function's own keys (in
        # ``make dev`` one process hosts every function, and the others' keys must not leak in).
        logger.clear_state()  # keys other functions of this process appended (make dev hosts them all)
        logger.thread_safe_clear_keys()  # this request's own keys are per thread: requests run concurrently
        context = event.lambda_context
        logger.thread_safe_append_keys(
            request_id=request_id(event),
            user_id=None,
            function_name=getattr(context, "function_name", None),
            function_request_id=getattr(context, "aws_request_id", None),
            correlation_id=current(),  # (bound by _correlated; the clear above removed its key)
        )
        try:
            response = _preflight(event) or get_response(event)
        except Exception:
            logger.exception("unhandled error")
            response = error_response(event, 500, "internal_error", "an internal error occurred")
        body = response.body
        if response.status_code >= 400 and not (isinstance(body, dict) and "error" in body):
            code = "error"
            message = "request failed"
            if isinstance(body, dict):
                code = _CHALICE_CODES.get(str(body.get("Code")), "error")
                message = str(body.get("Message") or message)
            if response.status_code >= 500:
                message = "an internal error occurred"
            if message.startswith("BadRequestError: "):
                message = message.removeprefix("BadRequestError: ")
            response = error_response(event, response.status_code, code, message)
        if "Content-Type" not in response.headers and response.body not in (None, "", b""):
            response.headers["Content-Type"] = "application/json"
        for key, value in event.context.get(CTX_HEADERS, {}).items():
            response.headers.setdefault(key, value)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        response.headers.setdefault("Cache-Control", "no-store")
        _cors(event, response)
        elapsed = (time.perf_counter() - started) * 1000
        logger.info(
            "request",
            extra={"method": event.method, "path": event.path, "status": response.status_code, "ms": round(elapsed, 2)},
        )
        try:
            _emit_metrics(event, response, elapsed)
        except Exception:  # metrics must never break a response
            logger.exception("metrics failed")
        return response
