"""The API's documentation routes: /openapi.json (the OpenAPI document, generated from the route table by
:func:`generate` and committed as openapi.json) and the /docs reference page that renders it."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from chalice.app import Blueprint, Chalice, Response

from chalicelib.http import ROUTES, resolve, route
from stockscreen.core import policy

bp = Blueprint(__name__)

HERE = Path(__file__).parent
DOCUMENT = HERE / "openapi.json"
STATIC = HERE / "static"
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def generate(app: Chalice) -> dict[str, Any]:
    from stockscreen.core.apispec import Operation, build

    ops = []
    for path, entries in app.routes.items():
        for method, entry in entries.items():
            spec = ROUTES.get((method, path))
            if spec is None:
                continue  # the catch-all 404
            ops.append(
                Operation(
                    path=path,
                    method=method.lower(),
                    operation_id=entry.view_name,
                    summary=spec.summary,
                    tag=spec.tag,
                    auth=spec.auth,
                    feature=spec.feature,
                    cache_ttl=spec.cache_ttl,
                    status=spec.status,
                    errors=spec.errors,
                    content_type=spec.content_type,
                    body=resolve(spec.body),
                    query=resolve(spec.query),
                    response=resolve(spec.response),
                    roles=sorted(policy.FEATURES[spec.feature]) if spec.feature else None,
                    produces=spec.produces,
                )
            )
    return build(ops, title="Stockscreen API", version="1.0.0", server_url="/api")


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


@cache
def _committed() -> str:
    return DOCUMENT.read_text()


def _static(name: str, content_type: str) -> Response:
    return Response(
        body=(STATIC / name).read_text(),
        status_code=200,
        headers={
            "Content-Type": content_type,
            "Content-Security-Policy": DOCS_CSP,
            "Cache-Control": "public, max-age=300",
        },
    )


@route(bp, "/openapi.json", methods=["GET"], auth="none", tag="docs")
def openapi_document() -> Response:
    """The OpenAPI 3.1 document of this API."""
    return Response(
        body=_committed(),
        status_code=200,
        headers={"Content-Type": "application/json", "Cache-Control": "public, max-age=300"},
    )


@route(bp, "/docs", methods=["GET"], auth="none", tag="docs", content_type="text/html")
def docs_page() -> Response:
    """Human-readable API reference (static page, no inline scripts)."""
    return _static("docs.html", "text/html; charset=utf-8")


@route(bp, "/docs/docs.js", methods=["GET"], auth="none", tag="docs", content_type="text/javascript")
def docs_script() -> Response:
    """Script of the reference page."""
    return _static("docs.js", "text/javascript; charset=utf-8")


@route(bp, "/docs/docs.css", methods=["GET"], auth="none", tag="docs", content_type="text/css")
def docs_style() -> Response:
    """Stylesheet of the reference page."""
    return _static("docs.css", "text/css; charset=utf-8")
