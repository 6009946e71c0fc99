"""The OpenAPI document: generated from the route table, committed, valid 3.1, served with a CSP-safe docs page."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client
from openapi_spec_validator import validate

from devstack.lambdas import load_api
from tests.integration.authkit import clear_rate_limits, response_validator


def _doc() -> dict[str, Any]:
    load_api()
    from chalicelib import apidocs

    return dict(json.loads(apidocs.DOCUMENT.read_text()))


def test_committed_document_is_current() -> None:
    load_api()
    from chalicelib import apidocs

    fresh = apidocs.render(apidocs.generate(load_api()))
    assert apidocs.DOCUMENT.read_text() == fresh, "openapi.json is stale: run `make openapi`"


def test_document_is_valid_openapi_31_and_covers_every_route() -> None:
    doc = _doc()
    assert doc["openapi"] == "3.1.0"
    validate(doc)
    app = load_api()
    for path, entries in app.routes.items():
        if path == "/{proxy+}":
            continue
        for method in entries:
            if method == "OPTIONS":
                continue
            op = doc["paths"][path][method.lower()]
            assert op["summary"] and op["operationId"]
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    me = doc["paths"]["/me"]["get"]
    assert {"bearerAuth": []} in me["security"] and "401" in me["responses"]
    keys = doc["paths"]["/me/api-keys"]["post"]
    assert keys["x-roles"] == ["admin", "premium"] and "403" in keys["responses"]
    assert doc["paths"]["/auth/login"]["post"]["security"] == []
    assert "ErrorBody" in doc["components"]["schemas"]


def test_every_json_route_declares_its_response_model() -> None:
    doc = _doc()
    free_form = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for status, resp in op["responses"].items():
                schema = resp.get("content", {}).get("application/json", {}).get("schema")
                if status.startswith("2") and schema is not None and "$ref" not in schema:
                    free_form.append(f"{method.upper()} {path}")
    assert free_form == ["GET /openapi.json"]  # the document itself
    run = doc["paths"]["/screens/run"]["post"]["responses"]["200"]["content"]
    assert run == {
        "application/json": {"schema": {"$ref": "#/components/schemas/ScreenRunPublic"}},
        "text/csv": {"schema": {"type": "string"}},
    }
    fields = doc["paths"]["/screener/fields"]["get"]["responses"]["200"]["content"]
    assert fields["application/json"]["schema"] == {"$ref": "#/components/schemas/FieldsPublic"}


@pytest.fixture(scope="module")
def client(stack_env: dict[str, str]) -> Iterator[Client]:
    clear_rate_limits(stack_env["REDIS_URL"])
    with Client(load_api()) as c:
        yield c


def test_served_document_and_docs_page(client: Client) -> None:
    resp = client.http.get("/openapi.json")
    assert resp.status_code == 200 and json.loads(resp.body) == _doc()
    page = client.http.get("/docs")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    html = page.body if isinstance(page.body, str) else page.body.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all("src=" in attrs and not inline.strip() for attrs, inline in scripts)
    assert not re.search(r"<[^>]+\s(style|on\w+)\s*=", html) and "<style" not in html
    js = client.http.get("/docs/docs.js")
    assert js.status_code == 200 and js.headers["Content-Type"].startswith("text/javascript")
    assert b"/api/openapi.json" in (js.body if isinstance(js.body, bytes) else js.body.encode())
    assert client.http.get("/docs/docs.css").headers["Content-Type"].startswith("text/css")


def test_error_bodies_match_the_documented_schema(client: Client) -> None:
    doc = _doc()
    resp = client.http.get("/me")
    v = response_validator(doc, "GET", "/me", 401)
    assert v is not None
    v.validate(json.loads(resp.body))
    bad = {"error": {"code": "x", "message": "y"}}
    assert list(v.iter_errors(bad)), "the validator must reject a body without request_id"


def test_typescript_types_are_generated_from_the_committed_document(tmp_path: Any) -> None:
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    tool = root / "frontend" / "node_modules" / ".bin" / "openapi-typescript"
    assert tool.exists(), "run `make setup` (installs openapi-typescript)"
    out = tmp_path / "openapi.ts"
    subprocess.run(
        [str(tool), str(root / "functions/api/chalicelib/openapi.json"), "-o", str(out)],
        check=True,
        capture_output=True,
        cwd=root / "frontend",
    )
    committed = (root / "frontend/src/types/openapi.ts").read_text()
    assert committed == out.read_text(), "frontend/src/types/openapi.ts is stale: run `make openapi`"
