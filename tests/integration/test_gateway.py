"""The local origin: /api routed to the Chalice app like API Gateway, the SPA with its headers."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from devstack.gateway import create_app
from devstack.lambdas import load_api, load_module


@pytest.fixture(scope="module")
def client(stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    chalice_app = load_api()
    site = tmp_path_factory.mktemp("dist")
    (site / "index.html").write_text('<!doctype html><div id="root"></div>')
    (site / "assets").mkdir()
    (site / "assets" / "app-1234.js").write_text("console.log(1)")
    ws = load_module("functions/ws/handlers.py", "stockscreen_ws_handlers")
    return TestClient(create_app(chalice_app, ws, Path(site)))


def test_unknown_api_route_is_a_uniform_404(client: TestClient) -> None:
    resp = client.get("/api/does/not/exist")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "not_found"
    assert set(resp.json()["error"]) == {"code", "message", "details", "request_id"}


def test_api_routes_through_the_chalice_app(client: TestClient) -> None:
    resp = client.get("/api/screener/fields")
    assert resp.status_code == 200 and resp.json()["count"] > 40
    assert resp.headers["x-content-type-options"] == "nosniff"


def test_oversized_body_is_refused_before_the_app(client: TestClient) -> None:
    resp = client.post(
        "/api/screens/run", content=b"x" * (2 * 1024 * 1024), headers={"content-type": "application/json"}
    )
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "payload_too_large"


def test_spa_routes_get_index_with_security_headers(client: TestClient) -> None:
    resp = client.get("/stocks/AAPL")
    assert resp.status_code == 200 and '<div id="root">' in resp.text
    csp = resp.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    asset = client.get("/assets/app-1234.js")
    assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
    assert client.get("/assets/missing.js").status_code == 404
    assert client.get("/../../etc/passwd").status_code in (200, 404)
    assert "root:" not in client.get("/..%2f..%2fetc/passwd").text


def test_concurrent_requests_never_see_each_others_bodies(stack_env: dict[str, str], tmp_path: Path) -> None:
    """Chalice keeps one ``current_request``; the local origin must serve the app one request at a time."""
    import threading
    import time

    import httpx
    import uvicorn

    from devstack.services import free_port
    from tests.integration.authkit import clear_rate_limits, load_sample

    load_sample(stack_env)
    clear_rate_limits(stack_env["REDIS_URL"])
    ws = load_module("functions/ws/handlers.py", "stockscreen_ws_handlers")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(load_api(), ws, tmp_path), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    statuses: list[int] = []

    def client(i: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
            for _ in range(10):
                if i % 2:
                    c.get("/api/screener/fields")
                else:
                    r = c.post("/api/screens/run", json={"filters": [], "sort": "market_cap", "limit": 5})
                    statuses.append(r.status_code)

    try:
        workers = [threading.Thread(target=client, args=(i,)) for i in range(8)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert statuses == [200] * 40


def test_any_decoded_api_path_reaches_the_api(client: TestClient) -> None:
    # Starlette's ``path`` convertor stops at a newline; API Gateway does not, so neither does the origin:
    # the API answers with its uniform JSON error body, not the router's plain-text 404.
    resp = client.get("/api/screens/shared/a%0Ab")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.json()["error"]["code"] == "not_found"


def test_dev_mailbox_page_lists_what_the_local_ses_sent(client: TestClient, stack_env: dict[str, str]) -> None:
    import boto3

    ses = boto3.client("ses", endpoint_url=stack_env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    raw = (
        f"From: {stack_env['SES_SENDER']}\r\nTo: mailbox-test@example.com\r\nSubject: <hello>\r\n"
        "List-Unsubscribe: <http://x/u>\r\n\r\nplain body"
    )
    ses.send_raw_email(Source=stack_env["SES_SENDER"], RawMessage={"Data": raw.encode()})
    page = client.get("/dev/mail")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "&lt;hello&gt;" in page.text and "List-Unsubscribe" in page.text and "<hello>" not in page.text
    mails = client.get("/dev/mail?format=json").json()
    mine = [m for m in mails if m["to"] == "mailbox-test@example.com"]
    assert mine and mine[0]["subject"] == "<hello>" and mine[0]["text"].strip() == "plain body"


def test_stockscreen_mail_prints_the_running_dev_mailbox(
    stack_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import threading
    import time

    import boto3
    import uvicorn

    from devstack import cli
    from devstack.services import free_port

    ses = boto3.client("ses", endpoint_url=stack_env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    raw = f"From: {stack_env['SES_SENDER']}\r\nTo: cli-mail@example.com\r\nSubject: via cli\r\n\r\nhello cli"
    ses.send_raw_email(Source=stack_env["SES_SENDER"], RawMessage={"Data": raw.encode()})
    ws = load_module("functions/ws/handlers.py", "stockscreen_ws_handlers")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(load_api(), ws, tmp_path), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        capsys.readouterr()
        assert cli.main(["mail", "--url", f"http://127.0.0.1:{port}/dev/mail"]) == 0
        out = capsys.readouterr().out
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert "To: cli-mail@example.com" in out and "Subject: via cli" in out and "hello cli" in out
