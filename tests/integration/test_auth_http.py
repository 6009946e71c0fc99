"""Cross-cutting HTTP behaviour around accounts: CORS allow-list, security headers on every response,
structured logs with request and user ids (never secrets), EMF metrics per route."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from tests.integration.authkit import PASSWORD, assert_error, body, make_user, post

pytestmark = pytest.mark.usefixtures("fresh_limits")


@pytest.fixture
def cors(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from stockscreen.accounts.settings import api_settings

    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "https://app.example.com, https://admin.example.com/")
    api_settings.cache_clear()
    yield
    monkeypatch.undo()
    api_settings.cache_clear()


def test_cors_allows_only_listed_origins(client: Client, cors: None) -> None:
    ok = client.http.get("/screener/fields", headers={"Origin": "https://app.example.com"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert ok.headers["Access-Control-Allow-Credentials"] == "true" and ok.headers["Vary"] == "Origin"
    assert "RateLimit-Remaining" in ok.headers["Access-Control-Expose-Headers"]
    evil = client.http.get("/screener/fields", headers={"Origin": "https://evil.example.com"})
    assert evil.status_code == 200 and "Access-Control-Allow-Origin" not in evil.headers
    pre = client.http.request(
        "OPTIONS",
        "/me",
        headers={"Origin": "https://admin.example.com", "Access-Control-Request-Method": "PATCH"},
    )
    assert pre.status_code == 204
    assert "PATCH" in pre.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in pre.headers["Access-Control-Allow-Headers"]
    bad = client.http.request(
        "OPTIONS", "/me", headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET"}
    )
    assert_error(bad, 403, "cors_forbidden")
    assert "Access-Control-Allow-Origin" not in bad.headers


def test_no_cors_headers_without_configuration(client: Client) -> None:
    resp = client.http.get("/screener/fields", headers={"Origin": "https://app.example.com"})
    assert "Access-Control-Allow-Origin" not in resp.headers


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/me"),
        ("GET", "/securities/NOPE"),
        ("DELETE", "/alerts/x"),
        ("POST", "/auth/login"),
        ("GET", "/openapi.json"),
        ("GET", "/health"),
    ],
)
def test_security_headers_on_every_response(client: Client, method: str, path: str) -> None:
    resp = client.http.request(method, path, body=b"{}", headers={"Content-Type": "application/json"})
    h = resp.headers
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Strict-Transport-Security"].startswith("max-age=")
    assert h["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
    assert "unsafe-inline" not in h["Content-Security-Policy"]


def _json_lines(text: str) -> list[dict[str, Any]]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def test_logs_carry_request_and_user_ids_and_no_secrets(
    client: Client, stack_env: dict[str, str], capfd: pytest.CaptureFixture[str]
) -> None:
    u = make_user(client, stack_env["DATABASE_URL"], "premium")
    key = body(post(client, "/me/api-keys", {"name": "k"}, u.auth))["key"]
    import io

    from stockscreen.core.observability import logger

    buf = io.StringIO()
    old = logger.registered_handler.setStream(buf)  # type: ignore[attr-defined]
    capfd.readouterr()
    login = post(client, "/auth/login", {"email": u.email, "password": PASSWORD})
    token = body(login)["access_token"]
    client.http.get("/me", headers={"Authorization": f"Bearer {token}"})
    client.http.get("/me", headers={"X-API-Key": key})
    post(client, "/auth/login", {"email": u.email, "password": "wrong-password-123"})
    logger.registered_handler.setStream(old)  # type: ignore[attr-defined]
    out = buf.getvalue() + capfd.readouterr().out
    for secret in (PASSWORD, "wrong-password-123", token, key, u.cookie.split("=", 1)[1]):
        assert secret not in out
    requests = [r for r in _json_lines(out) if r.get("message") == "request"]
    assert len(requests) == 4
    assert all(r["request_id"] for r in requests)
    me = [r for r in requests if r["path"] == "/me"]
    assert [r["user_id"] for r in me] == [u.id, u.id] and all(r["status"] == 200 for r in me)
    assert [r.get("user_id") for r in requests if r["path"] == "/auth/login"] == [None, None]


def test_emf_metrics_per_route(client: Client, stack_env: dict[str, str], capfd: pytest.CaptureFixture[str]) -> None:
    import redis

    r = redis.Redis.from_url(stack_env["REDIS_URL"])
    for k in r.scan_iter("resp:*"):
        r.delete(k)
    capfd.readouterr()
    client.http.get("/securities?q=zzzz")
    client.http.get("/securities?q=zzzz")
    client.http.get("/me")
    emf = [r for r in _json_lines(capfd.readouterr().out) if "_aws" in r]
    assert [r["route"] for r in emf] == ["GET /securities", "GET /securities", "GET /me"]
    assert all(r["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Stockscreen" for r in emf)
    assert all(isinstance(r["Latency"], list | float | int) for r in emf)
    assert "CacheMiss" in emf[0] and "CacheHit" not in emf[0]
    assert "CacheHit" in emf[1] and "Status2xx" in emf[1]
    assert "Status4xx" in emf[2] and "Status2xx" not in emf[2] and "CacheHit" not in emf[2]
