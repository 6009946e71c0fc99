"""The Redis cache for screen results: hit/miss, one entry per canonical request, invalidation by a new
snapshot version, isolation by field-access level (and nothing personal in an entry), saved and shared
runs, and an uncached answer when Redis is down."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from chalice.test import Client

from stockscreen.core import resp
from stockscreen.screening.result_cache import ScreenResultCache, access_level
from tests.integration.authkit import assert_error, body, clear_rate_limits, make_user, post, send

pytestmark = pytest.mark.sample_data

Q: dict[str, Any] = {"query": "close > 0 and rsi14 < 100", "sort": "symbol", "order": "asc", "limit": 5}


@pytest.fixture
def r(stack_env: dict[str, str]) -> redis.Redis:
    clear_rate_limits(stack_env["REDIS_URL"])
    client = redis.Redis.from_url(stack_env["REDIS_URL"], decode_responses=True)
    keys = list(client.scan_iter("screen:*"))
    if keys:
        client.delete(*keys)
    return client


def _run(client: Client, payload: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return send(client, "POST", "/screens/run", payload, headers or {})


def test_miss_then_hit_with_the_same_body(client: Client, r: redis.Redis) -> None:
    first = _run(client, Q)
    assert first.status_code == 200 and first.headers["X-Cache"] == "MISS"
    second = _run(client, Q)
    assert second.headers["X-Cache"] == "HIT" and body(second) == body(first)
    assert len(list(r.scan_iter("screen:*"))) == 1
    # the same screen spelled differently (extra spaces, as an AST) is the same entry
    spaced = _run(client, {**Q, "query": "close  >  0   and rsi14<100"})
    assert spaced.headers["X-Cache"] == "HIT"
    ast = body(send(client, "POST", "/screens/parse", {"query": Q["query"]}))["ast"]
    as_ast = _run(client, {**{k: v for k, v in Q.items() if k != "query"}, "ast": ast})
    assert as_ast.headers["X-Cache"] == "HIT" and body(as_ast) == body(first)
    # anything that changes the answer is a different entry
    for change in ({"limit": 4}, {"offset": 1}, {"order": "desc"}, {"columns": ["symbol"]}, {"query": "close > 1"}):
        resp = _run(client, {**Q, **change})
        assert resp.headers["X-Cache"] == "MISS", change
    assert body(_run(client, {**Q, "limit": 4}))["data"] == body(first)["data"][:4]
    ttl = max(int(r.ttl(k)) for k in r.scan_iter("screen:*"))
    assert 60 <= ttl <= 300


def test_errors_are_never_cached(client: Client, r: redis.Redis) -> None:
    assert_error(_run(client, {"query": "close >"}), 400)
    assert_error(_run(client, {"query": "beta < 1"}), 403)
    assert list(r.scan_iter("screen:*")) == []


def test_a_new_snapshot_version_invalidates(client: Client, r: redis.Redis) -> None:
    _run(client, Q)
    assert _run(client, Q).headers["X-Cache"] == "HIT"
    old = r.get("snapshot:version")
    r.set("snapshot:version", str(int(old or 0) + 1000))
    try:
        assert _run(client, Q).headers["X-Cache"] == "MISS"
        assert _run(client, Q).headers["X-Cache"] == "HIT"
    finally:
        if old is None:
            r.delete("snapshot:version")
        else:
            r.set("snapshot:version", old)
    assert _run(client, Q).headers["X-Cache"] == "HIT"  # the old version's entry is still its own


def test_isolation_by_field_access_and_no_personal_data(
    client: Client, r: redis.Redis, stack_env: dict[str, str]
) -> None:
    free = make_user(client, stack_env["DATABASE_URL"], "free")
    free2 = make_user(client, stack_env["DATABASE_URL"], "free")
    premium = make_user(client, stack_env["DATABASE_URL"], "premium")
    assert access_level("anonymous") == access_level("free") == "basic" and access_level("premium") == "all"
    assert _run(client, Q).headers["X-Cache"] == "MISS"
    # same access level: anonymous and free callers share the (impersonal) entry
    assert _run(client, Q, free.auth).headers["X-Cache"] == "HIT"
    assert _run(client, Q, free2.auth).headers["X-Cache"] == "HIT"
    # premium access is a separate entry, even for a screen on basic fields
    assert _run(client, Q, premium.auth).headers["X-Cache"] == "MISS"
    assert _run(client, Q, premium.auth).headers["X-Cache"] == "HIT"
    levels = sorted(k.split(":")[2] for k in r.scan_iter("screen:*"))
    assert levels == ["all", "basic"]
    # a premium-only screen cached for premium is never served to a free caller
    premium_q = {**Q, "query": "beta < 5", "columns": ["symbol", "beta"]}
    assert _run(client, premium_q, premium.auth).status_code == 200
    refused = assert_error(_run(client, premium_q, free.auth), 403, "forbidden")
    assert refused["details"]["fields"] == ["beta"]
    for key in r.scan_iter("screen:*"):
        value = r.get(key) or ""
        for u in (free, free2, premium):
            assert u.id not in value and u.email not in value


def test_saved_and_shared_runs_are_cached(client: Client, r: redis.Redis, stack_env: dict[str, str]) -> None:
    owner = make_user(client, stack_env["DATABASE_URL"], "free")
    saved = body(post(client, "/screens/saved", {"name": "c", "query": Q["query"], "sort": "symbol"}, owner.auth))
    page = {"limit": 3}
    first = post(client, f"/screens/saved/{saved['id']}/run", page, owner.auth)
    assert first.headers["X-Cache"] == "MISS"
    assert post(client, f"/screens/saved/{saved['id']}/run", page, owner.auth).headers["X-Cache"] == "HIT"
    token = body(post(client, f"/screens/saved/{saved['id']}/share", None, owner.auth))["share_token"]
    shared = post(client, f"/screens/shared/{token}/run", page)
    # the same screen and page at the same access level: the anonymous viewer reuses the entry
    assert shared.headers["X-Cache"] == "HIT" and body(shared) == body(first)
    # ...and the ad-hoc run of the same screen too
    plain = _run(client, {"query": Q["query"], "sort": "symbol", "order": "desc", "limit": 3})
    assert plain.headers["X-Cache"] == "HIT" and body(plain) == body(first)
    assert json.dumps(body(first)).count(owner.id) == 0


def test_redis_down_answers_uncached(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from stockscreen.core import clients, config

    expected = body(_run(client, Q))
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    clients.get_redis.cache_clear()
    config.core_settings.cache_clear()
    try:
        for _ in range(2):
            resp = _run(client, Q)
            assert resp.status_code == 200 and resp.headers["X-Cache"] == "MISS"
            assert body(resp) == expected
    finally:
        monkeypatch.undo()
        clients.reset_clients()


def test_cache_object_bypasses_a_dead_redis() -> None:
    dead = ScreenResultCache(resp.Redis.from_url("redis://127.0.0.1:1", connect_timeout_s=0.2))
    calls: list[int] = []

    def compute() -> dict[str, Any]:
        calls.append(1)
        return {"data": [], "count": 0}

    text, status = dead.get_or_compute("basic", "{}", compute)
    assert status == "BYPASS" and json.loads(text) == {"data": [], "count": 0}
    assert dead.get_or_compute("basic", "{}", compute)[1] == "BYPASS" and len(calls) == 2


def test_ttl_zero_turns_the_cache_off(client: Client, r: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCREEN_CACHE_TTL_S", "0")
    assert _run(client, Q).headers["X-Cache"] == "MISS" and _run(client, Q).headers["X-Cache"] == "MISS"
    assert list(r.scan_iter("screen:*")) == []
    monkeypatch.setenv("SCREEN_CACHE_TTL_S", "60")
    _run(client, Q)
    assert _run(client, Q).headers["X-Cache"] == "HIT"
    assert 0 < max(int(r.ttl(k)) for k in r.scan_iter("screen:*")) <= 60
