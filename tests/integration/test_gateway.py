"""The local origin: /api routed to the Chalice app like API Gateway, the SPA with its headers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from devstack.gateway import MAX_BODY, StaticSite, create_app
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


def test_concurrent_requests_are_served_concurrently_and_never_see_each_others_bodies(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    """Chalice keeps ``current_request`` on the app; the local origin serves requests concurrently, each on
    its own thread with its own request (``chalicelib.http.ApiApp``): every answer is its own request's."""
    import threading
    import time

    import httpx
    import uvicorn

    from devstack.services import free_port
    from tests.integration.authkit import clear_rate_limits, load_sample

    load_sample(stack_env)
    clear_rate_limits(stack_env["REDIS_URL"])
    ws = load_module("functions/ws/handlers.py", "stockscreen_ws_handlers")
    app = load_api()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(app, ws, tmp_path), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    mismatches: list[str] = []
    statuses: list[int] = []
    inside = 0
    most_inside = 0
    lock = threading.Lock()
    app_class = type(app)
    original = app_class.__call__

    def counting(self: object, event: dict, context: object) -> dict:
        nonlocal inside, most_inside
        with lock:
            inside += 1
            most_inside = max(most_inside, inside)
        try:
            time.sleep(0.005)  # a database round trip: long enough for the others to come in
            return original(self, event, context)  # type: ignore[arg-type]
        finally:
            with lock:
                inside -= 1

    def page(c: httpx.Client, offset: int, limit: int) -> list[str]:
        r = c.post(
            "/api/screens/run",
            json={"filters": [], "sort": "symbol", "order": "asc", "offset": offset, "limit": limit},
        )
        statuses.append(r.status_code)
        return [row["symbol"] for row in r.json().get("data", [])]

    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
        everything = page(c, 0, 60)  # the sample's securities with bars

    def client(i: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
            for j in range(10):
                offset = (i * 7 + j * 3) % (len(everything) - 1)
                limit = 1 + (i + j) % (len(everything) - offset)
                got = page(c, offset, limit)
                if got != everything[offset : offset + limit]:
                    mismatches.append(f"offset {offset} limit {limit}: {got}")

    app_class.__call__ = counting  # type: ignore[method-assign,assignment]
    try:
        workers = [threading.Thread(target=client, args=(i,)) for i in range(8)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    finally:
        app_class.__call__ = original  # type: ignore[method-assign]
        server.should_exit = True
        thread.join(timeout=10)
    assert len(everything) >= 5
    assert statuses == [200] * 81
    assert mismatches == []
    assert most_inside > 1  # requests overlapped inside the app


def test_any_decoded_api_path_reaches_the_api(client: TestClient) -> None:
    # Starlette's ``path`` convertor stops at a newline; API Gateway does not, so neither does the origin:
    # the API answers with its uniform JSON error body, not the router's plain-text 404.
    resp = client.get("/api/screens/shared/a%0Ab")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.json()["error"]["code"] == "not_found"


SECURITY = ("content-security-policy", "strict-transport-security", "x-content-type-options", "x-frame-options")


def _assert_security_headers(resp: httpx.Response) -> None:
    for name in SECURITY:
        assert resp.headers.get(name), f"{resp.request.method} {resp.request.url} ({resp.status_code}) lacks {name}"
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]


def test_nul_and_control_characters_in_the_path_are_a_400(client: TestClient) -> None:
    # was: GET /%00 -> a plain-text 500 from Path.resolve() ("embedded null byte"), without security headers
    for path in ("/%00", "/a%00b.js", "/assets/%0Ax.js", "/%1b[31m"):
        resp = client.get(path)
        assert resp.status_code == 400, path
        assert resp.json()["error"]["code"] == "invalid_path"
        _assert_security_headers(resp)


def test_every_answer_of_the_origin_carries_the_security_headers(
    client: TestClient, stack_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = {
        "spa": client.get("/stocks/AAPL"),
        "asset": client.get("/assets/app-1234.js"),
        "404": client.get("/assets/missing.js"),
        "400": client.get("/%00"),
        "405": client.post("/", content=b"{}"),
        "413": client.post("/api/screens/run", content=b"x" * (MAX_BODY + 1)),
        "api 404": client.get("/api/does/not/exist"),
    }
    assert [r.status_code for r in answers.values()] == [200, 200, 404, 400, 405, 413, 404]
    for resp in answers.values():
        _assert_security_headers(resp)
    assert answers["405"].json()["error"]["code"] == "method_not_allowed"
    # The API's own (stricter) CSP is left as the API set it.
    assert client.get("/api/screener/fields").headers["content-security-policy"].startswith("default-src 'none'")

    # An unexpected failure: the uniform JSON 500, never a traceback, and the same headers.
    def broken(self: StaticSite, rel: str) -> Path | None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(StaticSite, "_target", broken)
    ws = load_module("functions/ws/handlers.py", "stockscreen_ws_handlers")
    with TestClient(create_app(load_api(), ws, tmp_path), raise_server_exceptions=False) as failing:
        resp = failing.get("/index.html")
    assert resp.status_code == 500
    assert resp.json()["error"]["code"] == "internal_error" and "disk on fire" not in resp.text
    _assert_security_headers(resp)


def test_the_spa_folder_is_a_resolved_path_not_a_string_prefix(tmp_path: Path, stack_env: dict[str, str]) -> None:
    site = tmp_path / "dist"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html>index")
    sibling = tmp_path / "dist-x"  # its path starts with the SPA folder's path as a string
    sibling.mkdir()
    (sibling / "a").write_text("SECRET-SIBLING")
    outside = tmp_path / "outside.txt"
    outside.write_text("SECRET-LINKED")
    (site / "linked.txt").symlink_to(outside)
    ws = load_module("functions/ws/handlers.py", "stockscreen_ws_handlers")
    with TestClient(create_app(load_api(), ws, site)) as c:
        escaped = c.get("/..%2fdist-x/a")
        assert escaped.status_code == 404 and "SECRET" not in escaped.text
        _assert_security_headers(escaped)
        linked = c.get("/linked.txt")
        assert linked.status_code == 404 and "SECRET" not in linked.text
        assert c.get("/index.html").text == "<!doctype html>index"


def test_connect_src_is_this_origins_websocket_only(client: TestClient) -> None:
    csp = client.get("/", headers={"host": "127.0.0.1:8123"}).headers["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in (x.strip() for x in csp.split(";")) if d}
    assert directives["connect-src"] == ["'self'", "ws://127.0.0.1:8123/ws"]
    # A Host header that is not a host[:port] never reaches the policy (no injected sources).
    forged = client.get("/", headers={"host": "x; connect-src *"}).headers["content-security-policy"]
    assert "connect-src 'self';" in forged and "*" not in forged


def test_connect_src_allows_the_upload_origin_make_dev_names(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """make dev sets UPLOAD_ORIGIN to the local AWS endpoint (the admins' presigned POSTs go there), as
    CDK names the raw bucket's origin; a value that is not an origin never reaches the policy."""
    monkeypatch.setenv("UPLOAD_ORIGIN", "http://127.0.0.1:4566")
    csp = client.get("/", headers={"host": "127.0.0.1:8123"}).headers["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in (x.strip() for x in csp.split(";")) if d}
    assert directives["connect-src"] == ["'self'", "ws://127.0.0.1:8123/ws", "http://127.0.0.1:4566"]
    monkeypatch.setenv("UPLOAD_ORIGIN", "http://x; script-src *")
    csp = client.get("/", headers={"host": "127.0.0.1:8123"}).headers["content-security-policy"]
    assert "script-src *" not in csp and "connect-src 'self' ws://127.0.0.1:8123/ws;" in csp


def test_each_peer_address_is_its_own_client(
    stack_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """API Gateway's ``requestContext.identity.sourceIp`` is the caller's address, so two loopback
    addresses (a test and ``make dev``'s browser, say) have rate-limit buckets of their own."""
    import threading
    import time

    import redis
    import uvicorn

    from devstack.services import free_port
    from stockscreen.accounts.settings import api_settings
    from tests.integration.authkit import clear_rate_limits

    clear_rate_limits(stack_env["REDIS_URL"])
    monkeypatch.setenv("RATE_LIMIT_MULTIPLIER", "0.02")  # 300 a minute -> 6
    api_settings.cache_clear()
    ws = load_module("functions/ws/handlers.py", "stockscreen_ws_handlers")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(load_api(), ws, tmp_path), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the gateway did not start"
        time.sleep(0.02)

    def remaining(local_address: str) -> int:
        transport = httpx.HTTPTransport(local_address=local_address)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", transport=transport) as c:
            resp = c.get("/api/screener/fields")
        assert resp.status_code == 200
        return int(resp.headers["ratelimit-remaining"])

    try:
        # A small limit (6 a minute: one token back every 10 s), so a slow machine's refill cannot hide a hit.
        first = remaining("127.0.0.2")
        for _ in range(3):
            last = remaining("127.0.0.2")
        assert last <= first - 2
        assert remaining("127.0.0.3") >= first  # a bucket of its own, not 127.0.0.2's
        buckets = {k.decode() for k in redis.Redis.from_url(stack_env["REDIS_URL"]).scan_iter("rl:ip:*")}
        assert {"rl:ip:127.0.0.2", "rl:ip:127.0.0.3"} <= buckets
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        monkeypatch.delenv("RATE_LIMIT_MULTIPLIER")
        api_settings.cache_clear()
        clear_rate_limits(stack_env["REDIS_URL"])


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


def test_metrics_page_shows_the_api_requests_queue_depths_and_connections(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    """``make dev``'s /metrics: the API's EMF metrics (route and service labels), the local SQS queues'
    depths and the open WebSocket connections, in Prometheus' text format."""
    import boto3
    from prometheus_client.parser import text_string_to_metric_families

    from devstack import metrics

    bridge = metrics.install()
    ws = load_module("functions/ws/handlers.py", "stockscreen_ws_handlers")
    asgi = create_app(load_api(), ws, tmp_path, metrics=bridge)
    gateway = asgi.state.ws_gateway
    sqs = boto3.client("sqs", endpoint_url=stack_env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    url = sqs.create_queue(QueueName="metrics-depth-test")["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    bridge.gauges[:] = [
        metrics.sqs_depths(stack_env["AWS_ENDPOINT_URL"], "us-east-1"),
        metrics.gauge("Stockscreen", "WsConnections", lambda: len(gateway.connections)),
    ]
    with TestClient(asgi) as client:
        for _ in range(2):
            assert client.get("/api/screener/fields").status_code == 200
        assert client.get("/api/nope").status_code == 404
        resp = client.get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(resp.text)
        for s in fam.samples
    }
    fields = (("route", "GET /screener/fields"), ("service", "stockscreen-api"))
    assert samples[("stockscreen_latency_milliseconds_count", fields)] >= 2
    assert samples[("stockscreen_status2xx_total", fields)] >= 2
    assert any(name == "stockscreen_status4xx_total" for name, _ in samples)
    assert samples[("aws_sqs_approximate_number_of_messages_visible", (("queue_name", "metrics-depth-test"),))] == 3
    assert samples[("stockscreen_ws_connections", ())] == len(gateway.connections)
    sqs.delete_queue(QueueUrl=url)


def test_the_dev_origin_under_uvicorn_writes_websocket_frames_straight_to_the_socket(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    """``make dev``'s origin (its middleware included) served as ``make dev`` serves it: the gateway gets the
    protocol's frame writer, so the poller's fan-out takes the direct path, and the frame arrives."""
    import asyncio
    import json

    import websockets

    from devstack.wsgateway import LocalManagementClient
    from tests.integration.wskit import Server, wait_for

    asgi = create_app(load_api(), load_module("functions/ws/handlers.py", "stockscreen_ws_handlers"), tmp_path)
    gateway = asgi.state.ws_gateway
    srv = Server(asgi, gateway)
    srv.start()
    try:

        async def scenario() -> None:
            async with websockets.connect(srv.ws_url) as sock:
                await wait_for(lambda: len(gateway.connections) == 1)
                conn = next(iter(gateway.connections.values()))
                assert conn.direct is not None and conn.writer is None
                posts = [(conn.connection_id, b'{"type":"pong"}')]
                assert await asyncio.to_thread(LocalManagementClient(gateway).post_many, posts) == [True]
                assert json.loads(await asyncio.wait_for(sock.recv(), 5)) == {"type": "pong"}

        asyncio.run(scenario())
    finally:
        srv.stop()
