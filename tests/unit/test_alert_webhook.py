"""The webhook channel against a real local HTTP server: the signature a receiver verifies, retries
with backoff, final answers, and the refusal of private, loopback and link-local addresses outside
``make dev``."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from stockscreen.alerts import webhook
from stockscreen.alerts.webhook import Refused, WebhookSender

SECRET = "whsec_test-secret"


class Receiver(BaseHTTPRequestHandler):
    """Answers with the queued statuses (then 200), recording each request; verifies like a customer."""

    statuses: list[int] = []
    seen: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        sig = self.headers.get(webhook.SIGNATURE_HEADER) or ""
        ok = webhook.verify(SECRET, sig, raw, now=time.time())
        type(self).seen.append(
            {
                "path": self.path,
                "body": json.loads(raw),
                "verified": ok,
                "ts": self.headers.get(webhook.TIMESTAMP_HEADER),
            }
        )
        status = type(self).statuses.pop(0) if type(self).statuses else 200
        self.send_response(status if ok else 401)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    Receiver.statuses, Receiver.seen = [], []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/stockscreen?x=1"
    server.shutdown()


def sender(sleeps: list[float], allow_private: bool = True) -> WebhookSender:
    return WebhookSender(allow_private, sleep=sleeps.append)


def test_a_signed_post_the_receiver_verifies(receiver: str) -> None:
    sleeps: list[float] = []
    result = sender(sleeps).post(receiver, SECRET, {"type": "alert.fired", "symbol": "AAPL"})
    assert (result.ok, result.detail, result.attempts) == (True, "HTTP 200", 1)
    [req] = Receiver.seen
    assert req["verified"] and req["path"] == "/hooks/stockscreen?x=1" and req["body"]["symbol"] == "AAPL"
    assert sleeps == []


def test_a_wrong_secret_or_a_stale_timestamp_does_not_verify() -> None:
    body = b'{"a":1}'
    header = webhook.sign(SECRET, 1_700_000_000, body)
    assert header.startswith("t=1700000000,v1=") and len(header.split("v1=")[1]) == 64
    assert webhook.verify(SECRET, header, body, now=1_700_000_100)
    assert not webhook.verify("whsec_other", header, body, now=1_700_000_100)
    assert not webhook.verify(SECRET, header, b'{"a":2}', now=1_700_000_100)
    assert not webhook.verify(SECRET, header, body, now=1_700_000_000 + 301)  # replayed later
    assert not webhook.verify(SECRET, "v1=abc", body, now=1_700_000_000)


def test_server_errors_are_retried_with_backoff_then_succeed(receiver: str) -> None:
    Receiver.statuses = [503, 500]
    sleeps: list[float] = []
    result = sender(sleeps).post(receiver, SECRET, {"n": 1})
    assert (result.ok, result.attempts) == (True, 3)
    assert sleeps == [0.5, 1.0] and len(Receiver.seen) == 3 and all(r["verified"] for r in Receiver.seen)


def test_three_failures_fail_and_a_client_error_is_final(receiver: str) -> None:
    Receiver.statuses = [500, 502, 503]
    sleeps: list[float] = []
    result = sender(sleeps).post(receiver, SECRET, {})
    assert (result.ok, result.detail, result.attempts) == (False, "HTTP 503", 3)
    Receiver.statuses, Receiver.seen = [410], []
    result = sender(sleeps).post(receiver, SECRET, {})
    assert (result.ok, result.detail, result.attempts) == (False, "HTTP 410", 1) and len(Receiver.seen) == 1


def test_a_silent_endpoint_times_out() -> None:
    import socket

    quiet = socket.socket()
    quiet.bind(("127.0.0.1", 0))
    quiet.listen(1)  # accepts the connection, never answers
    try:
        s = WebhookSender(True, timeout_s=0.2, attempts=2, sleep=lambda _: None)
        result = s.post(f"http://127.0.0.1:{quiet.getsockname()[1]}/", SECRET, {})
    finally:
        quiet.close()
    assert not result.ok and "timed out" in result.detail.lower() and result.attempts == 2


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://192.168.0.10/",
        "https://[::1]/",
        "https://[::ffff:10.0.0.1]/",
        "https://localhost/hook",
        "http://example.com/hook",  # plain http outside make dev
    ],
)
def test_production_refuses_private_loopback_link_local_and_http(url: str) -> None:
    with pytest.raises(Refused):
        webhook.check_url(url, allow_private=False)
    result = WebhookSender(False, sleep=lambda _: None).post(url, SECRET, {})
    assert not result.ok and result.detail.startswith("refused") and result.attempts == 0


def test_names_are_resolved_and_every_address_checked(receiver: str) -> None:
    port = receiver.split(":")[2].split("/")[0]
    # "localhost" passes the URL check in dev but resolves to loopback: production refuses it at delivery
    with pytest.raises(Refused):
        webhook.resolve("localhost", int(port), allow_private=False)
    result = WebhookSender(False, sleep=lambda _: None).post(f"https://localhost:{port}/", SECRET, {})
    assert not result.ok and "refused" in result.detail
    assert Receiver.seen == []  # nothing reached the server
    assert webhook.resolve("localhost", int(port), allow_private=True) in ("127.0.0.1", "::1")
    assert webhook.check_url("https://hooks.example.com:8443/x", allow_private=False) == (
        "https",
        "hooks.example.com",
        8443,
    )
