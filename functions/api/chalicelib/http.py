"""HTTP plumbing shared by the blueprints: the uniform error body, JSON parsing, headers."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from chalice.app import Blueprint, Chalice, Request, Response

__all__ = ["Response", "error_response", "install", "json_body", "query", "route"]
from pydantic import BaseModel, ValidationError

from stockscreen.errors import DomainError, Invalid, PayloadTooLarge
from stockscreen.observability import logger

MAX_BODY_BYTES = 64 * 1024
M = TypeVar("M", bound=BaseModel)

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
    return model.model_validate(data)


def query(request: Request, model: type[M]) -> M:
    return model.model_validate(request.query_params or {})


F = TypeVar("F", bound=Callable[..., Any])


def route(bp: Blueprint | Chalice, path: str, **kwargs: Any) -> Callable[[F], F]:
    """``bp.route`` with domain and validation errors mapped to the uniform error body."""

    def decorator(fn: F) -> F:
        @functools.wraps(fn)
        def view(*args: Any, **kw: Any) -> Any:
            request = bp.current_request
            try:
                return fn(*args, **kw)
            except ValidationError as exc:
                return validation_error(request, exc, "request")
            except DomainError as exc:
                return error_response(request, exc.status, exc.code, exc.message, exc.details)

        bp.route(path, **kwargs)(view)
        return fn

    return decorator


def install(app: Chalice) -> None:
    """Middleware: uniform body for Chalice's own errors, security headers, request logging."""

    @app.middleware("http")
    def _middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
        logger.append_keys(request_id=request_id(event))
        try:
            response = get_response(event)
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
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        response.headers.setdefault("Cache-Control", "no-store")
        logger.info("request", extra={"method": event.method, "path": event.path, "status": response.status_code})
        return response
