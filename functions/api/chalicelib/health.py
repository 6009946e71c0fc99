"""GET /health: database, Redis and the AWS endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint, Response

from chalicelib.http import route
from chalicelib.lazy import LazyModule

if TYPE_CHECKING:
    from chalicelib.schemas import health as schema
else:
    schema = LazyModule("chalicelib.schemas.health")

bp = Blueprint(__name__)


@route(bp, "/health", methods=["GET"], auth="none", errors=(503,), response=lambda: schema.HealthPublic)
def health() -> Response:
    """Database, Redis and AWS endpoint status: ok, degraded or down."""
    from stockscreen.core.health import check_all

    report = check_all()
    status = 503 if report["status"] == "down" else 200
    return Response(body=report, status_code=status, headers={"Cache-Control": "no-store"})
