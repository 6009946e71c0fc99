"""HTTP plumbing shared by the blueprints: the uniform error body, JSON parsing, headers."""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from chalice.app import Blueprint, Chalice, Request, Response

from chalicelib.authn import authenticate, header, role_of, set_principal, source_ip
from stockscreen.core import policy
from stockscreen.core.errors import (
    DomainError,
    Invalid,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    Unavailable,
    unavailable_from,
)

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from pydantic import BaseModel, ValidationError

    from stockscreen.accounts.service import Principal
    from stockscreen.core.cache import ResponseCache
    from stockscreen.core.ratelimit import RateLimiter

# Cold start: importing this module (and every route module) imports neither pydantic, Redis, SQLAlchemy
# nor Powertools; the helpers below import them on the first request that needs them.

__all__ = [
    "ROUTES",
    "ModelRef",
    "Response",
    "RouteSpec",
    "error_response",
    "install",
    "json_body",
    "json_text",
    "query",
    "resolve",
    "route",
    "snapshot_version",
]

MAX_BODY_BYTES = 64 * 1024
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


def request_id(request: Request | None) -> str:
    if request is None:
        return "unknown"
    context = request.context
    if not context.get("requestId"):
        context["requestId"] = str(uuid.uuid4())
    return str(context["requestId"])


def error_body(code: str, message: str, details: Any, req_id: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details, "request_id": req_id}}


def error_response(request: Request | None, status: int, code: str, message: str, details: Any = None) -> Response:
    return Response(
        body=error_body(code, message, details, request_id(request)),
        status_code=status,
        headers={"Content-Type": "application/json"},
    )


def _validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"].removeprefix("Value error, "), "type": e["type"]}
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def validation_error(request: Request | None, exc: ValidationError, where: str) -> Response:
    details = _validation_details(exc)
    first = details[0] if details else {"loc": "", "msg": "invalid"}
    loc = f" at {first['loc']}" if first["loc"] else ""
    return error_response(request, 400, "validation_error", f"invalid {where}{loc}: {first['msg']}", details)


def json_text(text: str, status: int = 200) -> Response:
    """A response whose JSON body is already encoded (a cached result: returned as stored)."""
    return Response(body=text, status_code=status, headers={"Content-Type": "application/json"})


def json_body(request: Request, model: type[M]) -> M:
    """Parse and validate the JSON body; malformed JSON, wrong types and unknown fields are 400s."""
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body is larger than {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        raise Invalid("request body is empty; expected a JSON object")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(f"malformed JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Invalid("expected a JSON object")
    if any(_bad_text(v) for v in _walk_strings(data)):
        raise Invalid("strings must be valid UTF-8 without NUL characters")
    return model.model_validate(data)


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
_CTX_HEADERS = "stockscreen.headers"
_CTX_CACHE = "stockscreen.core.cache"
_CTX_LIMITED = "stockscreen.rate_limited"
_CTX_VERSION = "stockscreen.snapshot_version"


def snapshot_version(request: Request | None) -> str | None:
    """The snapshot version read with this request's rate-limit check (None when it was not read)."""
    if request is None:
        return None
    version = request.context.get(_CTX_VERSION)
    return str(version) if version is not None else None


def add_headers(request: Request | None, headers: dict[str, str]) -> None:
    """Headers the middleware adds to whatever response this request ends with."""
    if request is not None:
        request.context.setdefault(_CTX_HEADERS, {}).update(headers)


@functools.cache
def _logger() -> Logger:
    from stockscreen.core.observability import logger

    return logger


@functools.cache
def _limiter() -> RateLimiter:
    from stockscreen.core.ratelimit import RateLimiter

    return RateLimiter()


@functools.cache
def _cache() -> ResponseCache:
    from stockscreen.core.cache import ResponseCache

    return ResponseCache()


def _bad_text(value: str) -> bool:
    """NUL characters and lone surrogates cannot be stored (PostgreSQL text is UTF-8 without NUL)."""
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _walk_strings(data: Any) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for k, v in data.items():
            yield str(k)
            yield from _walk_strings(v)
    elif isinstance(data, list):
        for v in data:
            yield from _walk_strings(v)


def _check_text(path_params: Any, request: Request | None) -> None:
    values = [str(v) for v in path_params]
    if request is not None and request.query_params:
        qp = request.query_params
        values += [*qp.keys(), *(v for k in qp for v in qp.getlist(k))]
    if any(_bad_text(v) for v in values):
        raise Invalid("the path or query contains characters that are not allowed (NUL or invalid UTF-8)")


def _rate_limit(request: Request, who: Principal | None) -> Response | None:
    import redis

    from stockscreen.accounts.settings import api_settings
    from stockscreen.core.cache import SNAPSHOT_VERSION_KEY

    if who is None:
        subject = f"ip:{source_ip(request) or 'unknown'}"
    elif who.api_key_id is not None:
        subject = f"key:{who.api_key_id}"
    else:
        subject = f"user:{who.user_id}"
    try:
        limit = max(1, int(policy.quota(role_of(who)).requests_per_minute * api_settings().rate_limit_multiplier))
        # the snapshot version the caches key on is read in the same round trip
        decision = _limiter().hit(subject, limit, peek=SNAPSHOT_VERSION_KEY)
    except redis.RedisError as exc:  # fail open: Redis being down must not take the API down
        _logger().warning("rate limiter unavailable", extra={"error": type(exc).__name__})
        return None
    request.context[_CTX_VERSION] = decision.peeked or "0"
    add_headers(request, decision.headers())
    if decision.allowed:
        return None
    request.context[_CTX_LIMITED] = True
    return error_response(
        request,
        429,
        "rate_limited",
        f"rate limit of {decision.limit} requests per minute exceeded",
        {"limit": decision.limit, "retry_after": decision.retry_after_s},
    )


def _cached(request: Request, ttl: int, call: Callable[[], Any]) -> Any:
    """Serve a public GET from the response cache (ETag/304), or call the view and store its body."""
    qp = request.query_params
    params = {k: ",".join(qp.getlist(k)) for k in qp} if qp else {}
    # request.path is the route template: the concrete path parameters are part of the key too.
    path = request.path + "|" + "&".join(f"{k}={v}" for k, v in sorted((request.uri_params or {}).items()))
    key, entry = _cache().lookup("public", request.method, path, params, snapshot_version(request))
    request.context[_CTX_CACHE] = "hit" if entry is not None else "miss"
    if entry is None:
        result = call()
        if isinstance(result, Response):
            return result
        entry = _cache().store(key, result, ttl)
    headers: dict[str, str | list[str]] = {
        "Content-Type": "application/json",
        "ETag": entry.etag,
        "Cache-Control": f"public, max-age={ttl}",
        "X-Cache": "HIT" if request.context[_CTX_CACHE] == "hit" else "MISS",
    }
    inm = header(request, "if-none-match")
    if inm is not None and entry.etag in [t.strip().removeprefix("W/") for t in inm.split(",")]:
        return Response(body="", status_code=304, headers=headers)
    return Response(body=entry.body, status_code=200, headers=headers)


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

        @functools.wraps(fn)
        def view(*args: Any, **kw: Any) -> Any:
            request = bp.current_request
            set_principal(None)
            try:
                _check_text(kw.values(), request)
                who = None
                if auth != "none" and request is not None:
                    who = authenticate(request, read_only=request.method in ("GET", "HEAD"))
                    set_principal(who)
                    if who is not None:
                        _logger().append_keys(user_id=who.user_id)
                if request is not None:
                    limited = _rate_limit(request, who)
                    if limited is not None:
                        return limited
                if auth == "required" and who is None:
                    raise Unauthorized("sign in to use this route")
                if feature is not None:
                    policy.require(role_of(who), feature)
                if cache_ttl is not None and request is not None and request.method == "GET":
                    return _cached(request, cache_ttl, lambda: fn(*args, **kw))
                result = fn(*args, **kw)
                if status != 200 and not isinstance(result, Response):
                    return Response(body=result, status_code=status, headers={"Content-Type": "application/json"})
                return result
            except Unauthorized as exc:
                add_headers(request, {"WWW-Authenticate": 'Bearer realm="stockscreen"'})
                return error_response(request, exc.status, exc.code, exc.message, exc.details)
            except (RateLimited, Unavailable) as exc:
                retry = (exc.details or {}).get("retry_after") if isinstance(exc.details, dict) else None
                if retry:
                    add_headers(request, {"Retry-After": str(retry)})
                return error_response(request, exc.status, exc.code, exc.message, exc.details)
            except DomainError as exc:
                return error_response(request, exc.status, exc.code, exc.message, exc.details)
            except ValueError as exc:
                from pydantic import ValidationError  # imported already by whatever raised one

                if not isinstance(exc, ValidationError):
                    raise
                return validation_error(request, exc, "request")
            except Exception as exc:  # the database, Redis or AWS down: 503 + Retry-After, by exception type
                down = unavailable_from(exc)
                if down is None:
                    raise
                _logger().warning(
                    "dependency unavailable", extra={"dependency": down.dependency, "error": type(exc).__name__}
                )
                add_headers(request, {"Retry-After": str(down.details["retry_after"])})
                return error_response(request, down.status, down.code, down.message, down.details)
            finally:
                set_principal(None)

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
        "ETag, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, RateLimit-Policy"
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
            "Access-Control-Allow-Headers": "Authorization, Content-Type, X-API-Key, If-None-Match",
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
    cache = event.context.get(_CTX_CACHE)
    if cache:
        m.add_metric(name="CacheHit" if cache == "hit" else "CacheMiss", unit=MetricUnit.Count, value=1)
    if event.context.get(_CTX_LIMITED):
        m.add_metric(name="RateLimited", unit=MetricUnit.Count, value=1)
    m.flush_metrics()


def install(app: Chalice) -> None:
    """Middleware: uniform body for Chalice's own errors, CORS, security headers, logs and metrics."""

    @app.middleware("http")
    def _middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
        started = time.perf_counter()
        logger = _logger()
        # A warm container keeps the logger: start each request from this function's own keys (in
        # ``make dev`` one process hosts every function, and the others' keys must not leak in).
        logger.clear_state()
        context = event.lambda_context
        logger.append_keys(
            request_id=request_id(event),
            user_id=None,
            function_name=getattr(context, "function_name", None),
            function_request_id=getattr(context, "aws_request_id", None),
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
        for key, value in event.context.get(_CTX_HEADERS, {}).items():
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
