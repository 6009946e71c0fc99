"""Fixtures for the API tests: one signed-out ``chalice.test.Client`` per module; and for the WebSocket
tests, the real ``functions/ws`` handlers behind the local gateway (``ws_handlers``, ``server``, ``ws_env``).

A module marked ``pytest.mark.sample_data`` gets the 8-symbol real-data sample loaded through the
ingest state machine first; ``fresh_limits`` clears the rate-limit buckets before each test.

Passwords are hashed at argon2id's lowest cost in this tier (hundreds of sign-ups and sign-ins, each ~0.1 s at
the production cost); the production parameters are asserted by ``tests/unit/test_auth_units.py::test_passwords``
and used by the e2e tier's ``make dev``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from types import ModuleType

import pytest
import redis
from chalice.test import Client
from starlette.applications import Starlette

from devstack.lambdas import load_api
from devstack.wsgateway import WebSocketGateway
from tests.integration.authkit import clear_rate_limits, load_sample
from tests.integration.wskit import Server, load_handlers, reset_ws_clients


@pytest.fixture(scope="module", autouse=True)
def _cheap_password_hashes() -> Iterator[None]:
    """The cheap hasher for each integration module, the production one restored when the module ends.

    Module scope, not session: a session fixture is only torn down when the whole session ends, so unit tests
    collected after an integration module in the same run would hash at the cheap cost. Module scope still
    covers the modules' own module-scoped fixtures (autouse fixtures of a scope are set up first)."""
    from argon2 import PasswordHasher

    from stockscreen.accounts import passwords

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(passwords, "_hasher", lambda: cheap)
        passwords._dummy_hash.cache_clear()
        try:
            yield
        finally:
            passwords._dummy_hash.cache_clear()


@pytest.fixture(scope="module")
def client(request: pytest.FixtureRequest, stack_env: dict[str, str]) -> Iterator[Client]:
    if request.node.get_closest_marker("sample_data") is not None:
        load_sample(stack_env)
    with Client(load_api()) as c:
        yield c


@pytest.fixture
def fresh_limits(stack_env: dict[str, str]) -> None:
    clear_rate_limits(stack_env["REDIS_URL"])


@pytest.fixture
def no_other_alerts(stack_env: dict[str, str]) -> None:
    """Alert evaluation tests see only the alerts they create: earlier tests' alerts are paused, their firings
    that never reached the queue (a test of the queue being down) marked queued so the evaluator's outbox
    does not re-send them, and the live evaluator's remembered prices forgotten."""
    import psycopg

    with psycopg.connect(stack_env["DATABASE_URL"].replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("UPDATE alert_rules SET active = false")
        conn.execute(
            "UPDATE alert_events SET delivery = delivery || jsonb_build_object('queued_at', now()::text) "
            "WHERE NOT delivery ? 'queued_at'"
        )
        conn.execute("DELETE FROM alert_prices")


# -- the WebSocket gateway ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ws_handlers() -> ModuleType:
    """``functions/ws/handlers.py``, loaded as the Lambda runtime loads it."""
    return load_handlers()


@pytest.fixture(scope="module")
def server(ws_handlers: ModuleType) -> Iterator[Server]:
    """The local gateway over the real handlers (with their REQUEST authorizer), on its own port."""
    gateway = WebSocketGateway(ws_handlers)
    srv = Server(Starlette(routes=gateway.routes()), gateway)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def ws_env(monkeypatch: pytest.MonkeyPatch, server: Server) -> Iterator[str]:
    """The WebSocket functions' environment: a flushed Redis database (the Redis registry: no
    ``CONNECTIONS_TABLE``) and the gateway's @connections URL. Yields the Redis URL."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
    r = redis.Redis.from_url(url)
    r.flushdb()
    monkeypatch.setenv("REDIS_URL", url)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://unused/unused")
    monkeypatch.setenv("WS_MANAGEMENT_URL", server.url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("CONNECTIONS_TABLE", raising=False)
    reset_ws_clients()
    yield url
    reset_ws_clients()
    r.flushdb()
    r.close()


@pytest.fixture(scope="module")
def small_segments() -> Iterator[None]:
    """Snapshot artifact segments of 128 sessions for a few securities (the size 10,000 securities get),
    so the artifact of two years has several."""
    from stockscreen.screening import artifact

    saved = artifact.SEGMENT_BYTES
    artifact.SEGMENT_BYTES = 100_000
    yield
    artifact.SEGMENT_BYTES = saved
