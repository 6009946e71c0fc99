"""GET /health: database, Redis and the AWS endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint, Response

from chalicelib.http import error_response, route
from chalicelib.lazy import LazyModule

if TYPE_CHECKING:
    from chalicelib.schemas import health as schema
else:
    schema = LazyModule("chalicelib.schemas.health")

bp = Blueprint(__name__)


@route(bp, "/health", methods=["GET"], auth="none", errors=(503,), response=lambda: schema.HealthPublic)
def health() -> Response:
    """Database, Redis and AWS endpoint status: ok, degraded or down.

    200 when all are up; otherwise the uniform 503 (``Retry-After``) naming the failing ones, the full
    report in its ``details``."""
    from stockscreen.core.errors import DEPENDENCY_NAMES, Unavailable
    from stockscreen.core.health import check_all

    report = check_all()
    headers: dict[str, str | list[str]] = {"Cache-Control": "no-store"}
    if not report["failing"]:
        return Response(body=report, status_code=200, headers=headers)
    names = " and ".join(DEPENDENCY_NAMES[name] for name in report["failing"])
    retry_after = Unavailable.retry_after
    response = error_response(
        bp.current_request,
        503,
        Unavailable.code,
        f"{names} {'is' if len(report['failing']) == 1 else 'are'} unavailable",
        {**report, "retry_after": retry_after},
    )
    response.headers.update({**headers, "Retry-After": str(retry_after)})
    return response
