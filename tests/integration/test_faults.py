"""The API and the WebSocket handlers with a dependency down, on REAL servers stopped and started again.

The module starts a PostgreSQL and a Redis of its own (``devstack.services``, as ``tests/conftest.py``
does for the session) and points the app at them; moto plays AWS, and a closed local port plays an
unreachable AWS endpoint. With a dependency down every route answers: a uniform 503 with
``Retry-After`` (or its normal answer, where it does not need that dependency or has the data cached),
never a 500; ``GET /health`` is a 503 naming the dependency; a write that fails leaves nothing behind;
and when the dependency is back the same process serves again without a restart (pooled connections
are replaced). Waits are bounded by deadlines; nothing asserts how long a request took.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from chalice.test import Client

from devstack.lambdas import load_api, load_module
from devstack.services import Postgres, Redis, free_port, port_open
from tests.integration.authkit import PASSWORD, User, body, clear_rate_limits, make_user, post, send

#: How long a dependency may take to come back (start) or to be seen gone (stop) before the test fails.
DEADLINE_S = 30.0


@dataclass
class Stack:
    pg: Postgres
    redis: Redis
    client: Client
    user: User

    @property
    def database_url(self) -> str:
        return self.pg.url


def _rewire() -> None:
    """Forget every client, engine and service built for the previous settings (as a cold start would)."""
    from stockscreen.accounts import tokens
    from stockscreen.core.clients import reset_clients
    from stockscreen.screening import universe

    reset_clients()
    universe.reset_cache()
    tokens.keyring.clear()
    for name, module in list(sys.modules.items()):
        if name.startswith("chalicelib.") and module is not None:
            for value in list(vars(module).values()):
                if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", None) == name:
                    value.cache_clear()


def _wait(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {DEADLINE_S:.0f}s"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def stack(stack_env: dict[str, str]) -> Iterator[Stack]:
    from stockscreen.db.migrate import upgrade

    base = Path(tempfile.mkdtemp(prefix="stockscreen-faults-"))
    os.chmod(base, 0o755)  # PostgreSQL runs as 'postgres' when the tests run as root
    pg = Postgres(base / "pg", free_port())
    rd = Redis(base / "redis", free_port())
    pg.start()
    rd.start()
    old = {k: os.environ.get(k) for k in ("DATABASE_URL", "REDIS_URL")}
    try:
        upgrade(pg.url)
        os.environ.update(DATABASE_URL=pg.url, REDIS_URL=rd.url)
        _rewire()
        with Client(load_api()) as client:
            user = make_user(client, pg.url, "premium")
            yield Stack(pg, rd, client, user)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        _rewire()
        pg.stop()
        rd.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(autouse=True)
def _fresh_limits(stack: Stack) -> None:
    clear_rate_limits(stack.redis.url)


def _stop_redis(stack: Stack) -> None:
    stack.redis.stop()
    _wait("Redis stopped", lambda: not port_open("127.0.0.1", stack.redis.port))


def _routes() -> list[tuple[str, str, Any]]:
    """Every route of the API as (method, concrete path, spec)."""
    from chalicelib.http import ROUTES

    def concrete(path: str) -> str:
        values = {"symbol": "AAPL", "notification_id": "1", "token": "abc"}
        return re.sub(r"{(\w+)}", lambda m: values.get(m[1], str(uuid.uuid4())), path)

    return [(method, concrete(path), spec) for (method, path), spec in sorted(ROUTES.items())]


def _sweep(stack: Stack) -> dict[tuple[str, str], Any]:
    """Call every route as the signed-in user (a JSON body ``{}`` on writes)."""
    out = {}
    for method, path, spec in _routes():
        payload = {} if method in ("POST", "PUT", "PATCH") else None
        out[(method, spec.path)] = send(stack.client, method, path, payload, stack.user.auth)
    return out


def _unavailable(resp: Any, dependency: str | None) -> dict[str, Any]:
    """The uniform 503: the error body, its code, the dependency named (unless None), and Retry-After."""
    assert resp.status_code == 503, (resp.status_code, resp.body)
    b = body(resp)
    assert set(b) == {"error"} and set(b["error"]) == {"code", "message", "details", "request_id"}, b
    error: dict[str, Any] = b["error"]
    assert error["code"] == "unavailable", error
    assert int(resp.headers["Retry-After"]) == error["details"]["retry_after"] > 0
    if dependency is not None:
        named = error["details"].get("dependency") or error["details"].get("failing")
        assert named == dependency or named == [dependency], error
    return error


def _problems(answers: dict[tuple[str, str], Any], dependency: str, must_503: Callable[[Any], bool]) -> list[str]:
    from chalicelib.http import ROUTES

    problems = []
    for key, resp in answers.items():
        try:
            if must_503(ROUTES[key]):
                _unavailable(resp, dependency)
            elif resp.status_code >= 500:  # only the uniform 503 (the empty database has no snapshot yet)
                _unavailable(resp, body(resp)["error"]["details"].get("dependency"))
        except (AssertionError, KeyError, ValueError) as exc:
            problems.append(f"{key[0]} {key[1]}: {resp.status_code} {resp.body[:200]!r} ({exc})")
    return problems


def test_database_stopped_every_route_is_a_503_or_cached_then_service_resumes(stack: Stack) -> None:
    client = stack.client
    public = "/securities?q=A"
    warm = client.http.get(public)
    assert warm.status_code == 200 and warm.headers["X-Cache"] == "MISS"
    assert client.http.get("/health").status_code == 200

    stack.pg.stop()
    try:
        health = client.http.get("/health")
        error = _unavailable(health, "database")
        assert "the database" in error["message"] and error["details"]["status"] == "down"
        assert error["details"]["checks"]["redis"]["status"] == "ok"

        # Every route: a signed-in caller's token is checked against the account row, so every route
        # that authenticates is a 503; the others answer without the database or are a 503 too.
        answers = _sweep(stack)
        assert _problems(answers, "database", lambda spec: spec.auth != "none" or spec.path == "/health") == []
        # Public data the response cache holds is still served.
        cached = client.http.get(public)
        assert cached.status_code == 200 and cached.headers["X-Cache"] == "HIT" and cached.body == warm.body
        # A valid write is refused with a 503 too.
        fresh = f"db-down-{uuid.uuid4().hex[:8]}@example.com"
        _unavailable(post(client, "/auth/register", {"email": fresh, "password": PASSWORD}), "database")
    finally:
        stack.pg.start()

    # Back: the pooled connections the stop broke are replaced; no restart of the app.
    _wait("health 200 after PostgreSQL restarted", lambda: client.http.get("/health").status_code == 200)
    me = client.http.get("/me", headers=stack.user.auth)
    assert me.status_code == 200 and body(me)["email"] == stack.user.email
    created = post(client, "/auth/register", {"email": fresh, "password": PASSWORD})
    assert created.status_code == 201, created.body  # the refused attempt left nothing behind


def test_redis_stopped_the_api_serves_uncached_health_names_it_then_service_resumes(stack: Stack) -> None:
    client = stack.client
    path = "/screens/presets"
    assert client.http.get(path).status_code == 200
    assert client.http.get(path).headers["X-Cache"] == "HIT"

    _stop_redis(stack)
    try:
        health = client.http.get("/health")
        error = _unavailable(health, "redis")
        assert "Redis" in error["message"] and error["details"]["status"] == "degraded"
        assert error["details"]["checks"]["database"]["status"] == "ok"

        # Redis only speeds the API up (caches, rate limits fail open): every route answers as usual,
        # nothing is a 500.
        answers = _sweep(stack)
        assert _problems(answers, "redis", lambda spec: spec.path == "/health") == []
        assert answers[("GET", "/me")].status_code == 200
        uncached = client.http.get(path)
        assert uncached.status_code == 200 and uncached.headers["X-Cache"] == "MISS"
    finally:
        stack.redis.start()

    _wait("health 200 after Redis restarted", lambda: client.http.get("/health").status_code == 200)
    assert client.http.get(path).status_code == 200
    again = client.http.get(path)
    assert again.headers["X-Cache"] == "HIT"  # the cache (the same client's pool) works again
    assert again.headers["RateLimit-Remaining"]  # and so does the rate limiter


def test_websocket_handlers_answer_503_while_redis_is_down(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the Redis connection registry (no ``CONNECTIONS_TABLE``: a stack without DynamoDB) the handlers
    need Redis and say so; with the DynamoDB registry they keep working (the next test)."""
    from stockscreen.core.clients import reset_clients
    from stockscreen.core.config import ws_settings

    handlers = load_module("functions/ws/handlers.py", "stockscreen_ws_handlers")
    monkeypatch.setenv("WS_MANAGEMENT_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.delenv("CONNECTIONS_TABLE", raising=False)
    reset_clients()
    ws_settings.cache_clear()

    def event(route_key: str, connection_id: str, payload: Any = None) -> dict[str, Any]:
        ctx = {"routeKey": route_key, "connectionId": connection_id, "identity": {"sourceIp": "127.0.0.9"}}
        return {"requestContext": ctx, "body": None if payload is None else json.dumps(payload)}

    conn = f"faults-{uuid.uuid4().hex[:8]}"
    subscribe = {"action": "subscribe", "symbols": ["AAPL"]}
    _stop_redis(stack)
    try:
        for resp in (
            handlers.connect(event("$connect", conn), None),
            handlers.message(event("subscribe", conn, subscribe), None),
            handlers.disconnect(event("$disconnect", conn), None),
        ):
            assert resp["statusCode"] == 503
            error = json.loads(resp["body"])["error"]
            assert error["code"] == "unavailable" and "Redis" in error["message"]
        pushed = handlers.broadcast({"detail": {"symbols": ["AAPL"]}}, None)
        assert pushed["delivered"] == 0 and pushed["error"]["code"] == "unavailable"
    finally:
        stack.redis.start()
        _wait("Redis back", lambda: port_open("127.0.0.1", stack.redis.port))

    assert handlers.connect(event("$connect", conn), None)["statusCode"] == 200
    assert handlers.disconnect(event("$disconnect", conn), None)["statusCode"] == 200
    monkeypatch.undo()
    reset_clients()


def test_websocket_sessions_outlive_a_redis_outage_with_the_dynamodb_registry(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stockscreen.core.clients import reset_clients
    from stockscreen.core.config import core_settings, ws_settings

    handlers = load_module("functions/ws/handlers.py", "stockscreen_ws_handlers")
    monkeypatch.setenv("WS_MANAGEMENT_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    reset_clients()
    ws_settings.cache_clear()
    assert core_settings().connections_table  # the session's stack has the DynamoDB registry

    def event(route_key: str, connection_id: str) -> dict[str, Any]:
        ctx = {"routeKey": route_key, "connectionId": connection_id, "identity": {"sourceIp": "127.0.0.9"}}
        return {"requestContext": ctx, "body": None}

    conn = f"faults-{uuid.uuid4().hex[:8]}"
    _stop_redis(stack)
    try:
        assert handlers.connect(event("$connect", conn), None)["statusCode"] == 200
        assert handlers.disconnect(event("$disconnect", conn), None)["statusCode"] == 200
    finally:
        stack.redis.start()
        _wait("Redis back", lambda: port_open("127.0.0.1", stack.redis.port))
        monkeypatch.undo()
        reset_clients()


def test_aws_unreachable_is_a_503_and_a_failed_sign_in_writes_nothing(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = stack.client
    plain = stack.database_url.replace("postgresql+psycopg://", "postgresql://")

    def account_rows() -> tuple[Any, ...]:
        with psycopg.connect(plain) as conn:
            row = conn.execute(
                "SELECT u.last_login_at, (SELECT count(*) FROM refresh_tokens r WHERE r.user_id = u.id), "
                "(SELECT count(*) FROM audit_log a WHERE a.actor_id = u.id) FROM users u WHERE u.email = %s",
                (stack.user.email,),
            ).fetchone()
        assert row is not None
        return tuple(row)

    before = account_rows()
    fresh = f"aws-down-{uuid.uuid4().hex[:8]}@example.com"
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # a closed port
    _rewire()  # a cold start: the signing keys must be read from Secrets Manager
    try:
        health = client.http.get("/health")
        error = _unavailable(health, "aws")
        assert "the AWS endpoint" in error["message"] and error["details"]["status"] == "degraded"
        # Signing in writes the refresh token, the audit row and last_login_at in the transaction that
        # then needs the signing key: all of it is rolled back.
        _unavailable(post(client, "/auth/login", {"email": stack.user.email, "password": PASSWORD}), "aws")
        _unavailable(post(client, "/auth/register", {"email": fresh, "password": PASSWORD}), "aws")
        assert account_rows() == before
        with psycopg.connect(plain) as conn:
            assert conn.execute("SELECT count(*) FROM users WHERE email = %s", (fresh,)).fetchone() == (0,)
    finally:
        monkeypatch.undo()
        _rewire()

    _wait("health 200 with AWS back", lambda: client.http.get("/health").status_code == 200)
    assert post(client, "/auth/login", {"email": stack.user.email, "password": PASSWORD}).status_code == 200
    assert post(client, "/auth/register", {"email": fresh, "password": PASSWORD}).status_code == 201
