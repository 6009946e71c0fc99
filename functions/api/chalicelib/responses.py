"""The uniform error body and what a request carries to its response (headers, cache and limit marks)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from chalice.app import Request, Response

if TYPE_CHECKING:
    from pydantic import ValidationError

# request.context keys the route steps set and the middleware reads
CTX_HEADERS = "stockscreen.headers"
CTX_CACHE = "stockscreen.core.cache"
CTX_LIMITED = "stockscreen.rate_limited"
CTX_VERSION = "stockscreen.snapshot_version"


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


#: an unknown key of an AST node (a dataclass: pydantic calls it an unexpected keyword argument) is reported as
#: every other unknown key of a body is
_UNKNOWN_KEY = {"unexpected_keyword_argument": ("extra_forbidden", "Extra inputs are not permitted")}


def _validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    out = []
    for e in exc.errors(include_url=False, include_context=False, include_input=False):
        kind, msg = _UNKNOWN_KEY.get(e["type"], (e["type"], e["msg"].removeprefix("Value error, ")))
        out.append({"loc": ".".join(str(p) for p in e["loc"]), "msg": msg, "type": kind})
    return out


def validation_error(request: Request | None, exc: ValidationError, where: str) -> Response:
    details = _validation_details(exc)
    first = details[0] if details else {"loc": "", "msg": "invalid"}
    loc = f" at {first['loc']}" if first["loc"] else ""
    return error_response(request, 400, "validation_error", f"invalid {where}{loc}: {first['msg']}", details)


def json_text(text: str, status: int = 200) -> Response:
    """A response whose JSON body is already encoded (a cached result: returned as stored)."""
    return Response(body=text, status_code=status, headers={"Content-Type": "application/json"})


def snapshot_version(request: Request | None) -> str | None:
    """The snapshot version read with this request's rate-limit check (None when it was not read)."""
    if request is None:
        return None
    version = request.context.get(CTX_VERSION)
    return str(version) if version is not None else None


def add_headers(request: Request | None, headers: dict[str, str]) -> None:
    """Headers the middleware adds to whatever response this request ends with."""
    if request is not None:
        request.context.setdefault(CTX_HEADERS, {}).update(headers)
