"""Rate limiting: the Lua token bucket under a concurrent burst, per-user/per-key/per-IP buckets, 429 shape."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from chalice.test import Client

from devstack.lambdas import load_api
from stockscreen.ratelimit import RateLimiter
from tests.integration.authkit import assert_error, body, clear_rate_limits, make_user, post


@pytest.fixture(scope="module")
def client(stack_env: dict[str, str]) -> Iterator[Client]:
    with Client(load_api()) as c:
        yield c


@pytest.fixture(autouse=True)
def _fresh_limits(stack_env: dict[str, str]) -> None:
    clear_rate_limits(stack_env["REDIS_URL"])


def test_bucket_is_atomic_under_a_concurrent_burst(stack_env: dict[str, str]) -> None:
    limiter = RateLimiter(redis.Redis.from_url(stack_env["REDIS_URL"], decode_responses=True))
    subject = f"test:{uuid.uuid4().hex}"
    with ThreadPoolExecutor(max_workers=16) as pool:
        decisions = list(pool.map(lambda _: limiter.hit(subject, 50), range(200)))
    allowed = [d for d in decisions if d.allowed]
    # 50 tokens, plus at most a couple refilled during the burst (50 per 60 s).
    assert 50 <= len(allowed) <= 52
    denied = [d for d in decisions if not d.allowed]
    assert all(d.retry_after_s >= 1 and d.remaining == 0 for d in denied)
    assert min(d.remaining for d in allowed) == 0


def test_bucket_refills(stack_env: dict[str, str]) -> None:
    limiter = RateLimiter(redis.Redis.from_url(stack_env["REDIS_URL"], decode_responses=True))
    subject = f"test:{uuid.uuid4().hex}"
    assert [limiter.hit(subject, 2, window_s=1).allowed for _ in range(3)] == [True, True, False]
    time.sleep(0.6)  # 2 tokens per second: at least one is back
    assert limiter.hit(subject, 2, window_s=1).allowed


def test_free_user_gets_429_after_60_requests_a_minute(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"])
    other = make_user(client, stack_env["DATABASE_URL"])
    clear_rate_limits(stack_env["REDIS_URL"])
    statuses = []
    last = None
    for _ in range(61):
        last = client.http.get("/me", headers=u.auth)
        statuses.append(last.status_code)
    assert statuses[:60] == [200] * 60
    assert last is not None
    err = assert_error(last, 429, "rate_limited")
    assert err["details"]["limit"] == 60
    assert int(last.headers["Retry-After"]) >= 1
    assert last.headers["RateLimit-Limit"] == "60" and last.headers["RateLimit-Remaining"] == "0"
    # Other callers have their own buckets.
    ok = client.http.get("/me", headers=other.auth)
    assert ok.status_code == 200 and ok.headers["RateLimit-Remaining"] == "59"
    assert client.http.get("/screener/fields").status_code == 200


def test_premium_limit_is_higher_and_keys_have_their_own_bucket(client: Client, stack_env: dict[str, str]) -> None:
    p = make_user(client, stack_env["DATABASE_URL"], "premium")
    resp = client.http.get("/me", headers=p.auth)
    assert resp.headers["RateLimit-Limit"] == "600"
    key = body(post(client, "/me/api-keys", {"name": "bot"}, p.auth))["key"]
    r = client.http.get("/me", headers={"X-API-Key": key})
    assert r.status_code == 200 and r.headers["RateLimit-Remaining"] == "599"


def test_anonymous_callers_are_limited_per_ip(client: Client, stack_env: dict[str, str]) -> None:
    r = redis.Redis.from_url(stack_env["REDIS_URL"])
    resp = client.http.get("/screener/fields")
    limit = int(resp.headers["RateLimit-Limit"])
    assert limit == 300
    # Drain the caller's IP bucket directly, then the next anonymous request is refused.
    ip_keys = [k for k in r.scan_iter("rl:ip:*")]
    assert len(ip_keys) == 1
    r.hset(ip_keys[0], mapping={"tokens": "0"})
    denied = client.http.get("/screener/fields")
    assert_error(denied, 429, "rate_limited")
    assert int(denied.headers["Retry-After"]) >= 1


def test_rate_limiter_fails_open_when_redis_is_down(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from stockscreen import clients, config

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    clients.get_redis.cache_clear()
    config.core_settings.cache_clear()
    try:
        resp = client.http.get("/screener/fields")
        assert resp.status_code == 200
        assert "RateLimit-Limit" not in resp.headers
    finally:
        monkeypatch.undo()
        clients.reset_clients()
