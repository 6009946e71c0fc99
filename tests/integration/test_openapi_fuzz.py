"""schemathesis against the OpenAPI document, on the local HTTP server (the gateway that `make dev` runs):
generated requests, anonymous and signed in as a premium user; no 5xx, only documented status codes,
content types and response bodies that match the document."""

from __future__ import annotations

import contextlib
import io
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
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
# Saved screens embed the screener's recursive AST, which makes schemathesis' schema resolution
# explode; those routes have their own tests (tests/integration/test_saved_screens.py) and the AST
# its property-based tests (tests/unit/test_query_language.py).
schema = schemathesis.openapi.from_path(DOCUMENT).exclude(path_regex=r"^/screens/(saved|shared)")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def server(stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    import uvicorn

    from devstack.gateway import create_app
    from devstack.lambdas import load_module
    from devstack.services import free_port
    from stockscreen.auth.settings import api_settings

    load_sample(stack_env)
    os.environ["RATE_LIMIT_MULTIPLIER"] = "1000"  # thousands of requests from one address
    api_settings.cache_clear()
    with Client(load_api()) as c:
        user = make_user(c, stack_env["DATABASE_URL"], "premium")
    ws = load_module("functions/ws/handlers.py", "stockscreen_ws_handlers")
    asgi = create_app(load_api(), ws, tmp_path_factory.mktemp("site"))
    port = free_port()
    srv = uvicorn.Server(
        uvicorn.Config(asgi, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off")
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.02)
    yield {"base_url": f"http://127.0.0.1:{port}/api", "auth": user.auth}
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
        case.call_and_validate(base_url=server["base_url"], headers=identity, checks=CHECKS)
