"""schemathesis against the OpenAPI document, on the local HTTP server (the gateway that `make dev` runs):
generated requests, anonymous and signed in as a premium user; no 5xx, only documented status codes,
content types and response bodies that match the document."""

from __future__ import annotations

import contextlib
import io
import json
import os
import threading
import time
from collections.abc import Iterator
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from chalice.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from devstack.lambdas import load_api
from tests.integration.authkit import load_sample, make_user

DOCUMENT = Path(__file__).resolve().parents[2] / "functions" / "api" / "chalicelib" / "openapi.json"


def bounded(doc: dict[str, Any], depth: int = 1) -> dict[str, Any]:
    """The document with its recursive schemas (the screener's AST) unrolled ``depth`` levels deep.

    schemathesis' schema resolution does not terminate on the AST's mutual recursion, so each reference
    to a recursive component is inlined up to ``depth`` levels, below which any object is allowed: requests
    are generated from the finite unrolling (deeper nodes are random objects, which the API must refuse with
    a 400), and responses are checked against it (deeper nodes are not checked).
    """
    comps: dict[str, Any] = doc["components"]["schemas"]

    def refs(node: Any) -> set[str]:
        if isinstance(node, dict):
            out = {node["$ref"].rsplit("/", 1)[-1]} if "$ref" in node else set()
            return out.union(*(refs(v) for v in node.values()))
        if isinstance(node, list):
            return set().union(*(refs(v) for v in node))
        return set()

    graph = {name: refs(schema) for name, schema in comps.items()}

    def reachable(start: str) -> set[str]:
        seen: set[str] = set()
        todo = list(graph[start])
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(graph.get(name, ()))
        return seen

    recursive = {name for name in comps if name in reachable(name)}

    def expand(node: Any, level: int) -> Any:
        if isinstance(node, list):
            return [expand(v, level) for v in node]
        if not isinstance(node, dict):
            return node
        name = node.get("$ref", "").rsplit("/", 1)[-1]
        if name in recursive:
            return {"type": "object"} if level >= depth else expand(comps[name], level + 1)
        return {k: expand(v, level) for k, v in node.items() if k != "discriminator"}

    schemas = {name: expand(schema, 0) for name, schema in comps.items() if name not in recursive}
    out = {**doc, "components": {**doc["components"], "schemas": schemas}}
    out["paths"] = expand(doc["paths"], 0)
    return out


schema = schemathesis.openapi.from_dict(bounded(json.loads(DOCUMENT.read_text())))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def server(stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    import uvicorn

    from devstack.gateway import create_app
    from devstack.lambdas import load_module
    from devstack.services import free_port
    from stockscreen.accounts.settings import api_settings

    load_sample(stack_env)
    os.environ["RATE_LIMIT_MULTIPLIER"] = "1000"  # thousands of requests from one address
    api_settings.cache_clear()
    with Client(load_api()) as c:
        user = make_user(c, stack_env["DATABASE_URL"], "premium")
    ws = load_module("functions/ws/handlers.py", "stockscreen_ws_handlers")
    asgi = create_app(load_api(), ws, tmp_path_factory.mktemp("site"))
    port = free_port()
    srv = uvicorn.Server(
        uvicorn.Config(
            asgi,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=600,  # the session's connection stays open between cases (see below)
        )
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.02)
    # One keep-alive connection for every case (a session per call would connect and scan the proxy variables
    # each time); no cookie is kept, so each call is as a fresh client's, and no proxy stands in between.
    session = requests.Session()
    session.trust_env = False
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    yield {"base_url": f"http://127.0.0.1:{port}/api", "auth": user.auth, "session": session}
    session.close()
    srv.should_exit = True
    thread.join(timeout=10)
    os.environ.pop("RATE_LIMIT_MULTIPLIER", None)
    api_settings.cache_clear()


@pytest.fixture(params=["anonymous", "premium"])
def identity(request: pytest.FixtureRequest, server: dict[str, Any]) -> dict[str, str]:
    return {} if request.param == "anonymous" else dict(server["auth"])


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
def test_api_conforms_to_its_document(case: Any, server: dict[str, Any], identity: dict[str, str]) -> None:
    with contextlib.redirect_stdout(io.StringIO()):  # EMF metric lines from the in-process app
        case.call_and_validate(base_url=server["base_url"], session=server["session"], headers=identity, checks=CHECKS)


def test_the_bounded_document_keeps_every_operation_and_drops_only_the_recursion() -> None:
    doc = json.loads(DOCUMENT.read_text())
    small = bounded(doc)
    assert small["paths"].keys() == doc["paths"].keys()
    assert {"And", "Or", "Not"} <= doc["components"]["schemas"].keys()
    assert not {"And", "Or", "Not"} & small["components"]["schemas"].keys()
    assert "#/components/schemas/And" not in json.dumps(small)
    saved = json.dumps(small["components"]["schemas"]["SavedScreenIn"])
    assert '"const": "and"' in saved and '"const": "window"' in saved
