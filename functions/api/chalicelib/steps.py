"""What every declared route does around its view, one step a function, composed by :func:`handle`.

In order: :func:`check_text` (path and query), :func:`authenticate_caller`, :func:`rate_limit`,
:func:`authorise` (sign-in and the policy table), then the view, through :func:`cached` for public GETs
with a ``cache_ttl`` and :func:`with_status` otherwise; :func:`map_error` turns a typed domain error or a
pydantic ValidationError raised by any of them into the uniform error response. Each step takes the
request (and what it needs of the route declaration) so a test can call it alone.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from chalice.app import Request, Response

from chalicelib.authn import authenticate, header, role_of, set_principal, source_ip
from chalicelib.responses import (
    CTX_CACHE,
    CTX_LIMITED,
    CTX_VERSION,
    add_headers,
    error_response,
    snapshot_version,
    validation_error,
)
from stockscreen.core import policy
from stockscreen.core.errors import DomainError, Invalid, RateLimited, Unauthorized, Unavailable, unavailable_from

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

    from chalicelib.http import RouteSpec
    from stockscreen.accounts.service import Principal
    from stockscreen.core.cache import ResponseCache
    from stockscreen.core.ratelimit import RateLimiter


@functools.cache
def logger() -> Logger:
    from stockscreen.core.observability import logger

    return logger


@functools.cache
def limiter() -> RateLimiter:
    from stockscreen.core.ratelimit import RateLimiter

    return RateLimiter()


@functools.cache
def response_cache() -> ResponseCache:
    from stockscreen.core.cache import ResponseCache

    return ResponseCache()


def check_text(path_params: Iterable[Any], request: Request | None) -> None:
    """Path parameters and the query string hold no NUL and no invalid UTF-8 (400 otherwise)."""
    from stockscreen.core.jsonread import bad_text

    values = [str(v) for v in path_params]
    if request is not None and request.query_params:
        qp = request.query_params
        values += [*qp.keys(), *(v for k in qp for v in qp.getlist(k))]
    if any(bad_text(v) for v in values):
        raise Invalid("the path or query contains characters that are not allowed (NUL or invalid UTF-8)")


def authenticate_caller(request: Request | None, auth: str) -> Principal | None:
    """The caller from the request's credentials (``auth="none"`` ignores them); held for the request."""
    if auth == "none" or request is None:
        return None
    who = authenticate(request, read_only=request.method in ("GET", "HEAD"))
    set_principal(who)
    if who is not None:
        logger().thread_safe_append_keys(user_id=who.user_id)
    return who


def rate_limit(request: Request | None, who: Principal | None) -> Response | None:
    """Take a token from the caller's bucket (one per user, whichever key or session it uses; one per
    IP for anonymous callers): None to go on, or the 429. Redis being down lets the request through."""
    if request is None:
        return None
    from stockscreen.accounts.settings import api_settings
    from stockscreen.core import resp
    from stockscreen.core.cache import SNAPSHOT_VERSION_KEY

    subject = policy.rate_subject(who.user_id if who is not None else None, source_ip(request))
    try:
        limit = max(1, int(policy.quota(role_of(who)).requests_per_minute * api_settings().rate_limit_multiplier))
        # the snapshot version the caches key on is read in the same round trip
        decision = limiter().hit(subject, limit, policy.RATE_WINDOW_S, peek=SNAPSHOT_VERSION_KEY)
    except resp.RedisError as exc:  # fail open: Redis being down must not take the API down
        logger().warning("rate limiter unavailable", extra={"error": type(exc).__name__})
        return None
    request.context[CTX_VERSION] = decision.peeked or "0"
    add_headers(request, decision.headers())
    if decision.allowed:
        return None
    request.context[CTX_LIMITED] = True
    return error_response(
        request,
        429,
        "rate_limited",
        f"rate limit of {decision.limit} requests per minute exceeded",
        {"limit": decision.limit, "retry_after": decision.retry_after_s},
    )


def authorise(who: Principal | None, auth: str, feature: str | None) -> None:
    """401 on an ``auth="required"`` route without a caller; 403 when the caller's role lacks ``feature``."""
    if auth == "required" and who is None:
        raise Unauthorized("sign in to use this route")
    if feature is not None:
        policy.require(role_of(who), feature)


def cached(request: Request, ttl: int, call: Callable[[], Any]) -> Any:
    """Serve a public GET from the response cache (ETag/304), or call the view and store its body."""
    qp = request.query_params
    params = {k: ",".join(qp.getlist(k)) for k in qp} if qp else {}
    # request.path is the route template: the concrete path parameters are part of the key too.
    path = request.path + "|" + "&".join(f"{k}={v}" for k, v in sorted((request.uri_params or {}).items()))
    key, entry = response_cache().lookup("public", request.method, path, params, snapshot_version(request))
    request.context[CTX_CACHE] = "hit" if entry is not None else "miss"
    if entry is None:
        result = call()
        if isinstance(result, Response):
            return result
        entry = response_cache().store(key, result, ttl)
    headers: dict[str, str | list[str]] = {
        "Content-Type": "application/json",
        "ETag": entry.etag,
        "Cache-Control": f"public, max-age={ttl}",
        "X-Cache": "HIT" if request.context[CTX_CACHE] == "hit" else "MISS",
    }
    inm = header(request, "if-none-match")
    if inm is not None and entry.etag in [t.strip().removeprefix("W/") for t in inm.split(",")]:
        return Response(body="", status_code=304, headers=headers)
    return Response(body=entry.body, status_code=200, headers=headers)


def with_status(result: Any, status: int) -> Any:
    """The view's result, as a response with the route's declared status when that is not 200."""
    if status != 200 and not isinstance(result, Response):
        return Response(body=result, status_code=status, headers={"Content-Type": "application/json"})
    return result


def map_error(request: Request | None, exc: Exception) -> Response | None:
    """The uniform error response for a typed domain error, a pydantic ValidationError, or a dependency
    that is down (the database, Redis or AWS: 503 with ``Retry-After``, by exception type); None for
    anything else (a bug: the middleware logs it and answers a bare 500)."""
    if not isinstance(exc, DomainError | ValueError):
        down = unavailable_from(exc)
        if down is None:
            return None
        logger().warning("dependency unavailable", extra={"dependency": down.dependency, "error": type(exc).__name__})
        exc = down
    if isinstance(exc, Unauthorized):
        add_headers(request, {"WWW-Authenticate": 'Bearer realm="stockscreen"'})
    elif isinstance(exc, RateLimited | Unavailable):
        retry = exc.details.get("retry_after") if isinstance(exc.details, dict) else None
        if retry:
            add_headers(request, {"Retry-After": str(retry)})
    if isinstance(exc, DomainError):
        return error_response(request, exc.status, exc.code, exc.message, exc.details)
    if isinstance(exc, ValueError) and "pydantic_core" in sys.modules:  # (else it is no ValidationError)
        from pydantic import ValidationError

        if isinstance(exc, ValidationError):
            return validation_error(request, exc, "request")
    return None


def handle(spec: RouteSpec, request: Request | None, path_params: Iterable[Any], call: Callable[[], Any]) -> Any:
    """Run the steps for one request to the route declared by ``spec``; ``call`` runs its view."""
    set_principal(None)
    try:
        check_text(path_params, request)
        who = authenticate_caller(request, spec.auth)
        limited = rate_limit(request, who)
        if limited is not None:
            return limited
        authorise(who, spec.auth, spec.feature)
        if spec.cache_ttl is not None and request is not None and request.method == "GET":
            return cached(request, spec.cache_ttl, call)
        return with_status(call(), spec.status)
    except Exception as exc:
        response = map_error(request, exc)
        if response is None:
            raise
        return response
    finally:
        set_principal(None)
