"""The Redis response cache: hits, ETag/304, snapshot-version invalidation, per-path keys, user isolation,
and the API answering uncached (health degraded) when Redis is down."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import redis
from chalice.test import Client

from devstack.lambdas import load_api
from devstack.stepfunctions import IngestStateMachine
from tests.conftest import truncate_all
from tests.integration.authkit import body, clear_rate_limits, make_user
from tests.integration.test_api import SAMPLE


@pytest.fixture(scope="module")
def client(stack_env: dict[str, str]) -> Iterator[Client]:
    truncate_all(stack_env["DATABASE_URL"])
    result = IngestStateMachine(stack_env["AWS_ENDPOINT_URL"]).run({"source": {"paths": SAMPLE}})
    assert result["status"] == "SUCCEEDED", result
    with Client(load_api()) as c:
        yield c


@pytest.fixture(autouse=True)
def _fresh(stack_env: dict[str, str]) -> None:
    clear_rate_limits(stack_env["REDIS_URL"])
    r = redis.Redis.from_url(stack_env["REDIS_URL"])
    keys = list(r.scan_iter("resp:*"))
    if keys:
        r.delete(*keys)


BARS = "/securities/AAPL/bars?from=2018-01-02&to=2018-02-07"


def test_market_reads_are_cached_with_etag_and_304(client: Client) -> None:
    first = client.http.get(BARS)
    assert first.status_code == 200 and first.headers["X-Cache"] == "MISS"
    assert first.headers["Cache-Control"] == "public, max-age=300"
    etag = first.headers["ETag"]
    second = client.http.get(BARS)
    assert second.headers["X-Cache"] == "HIT" and second.headers["ETag"] == etag
    assert json.loads(second.body) == json.loads(first.body)
    assert json.loads(first.body)["data"][-1]["date"] == "2018-02-07"
    not_modified = client.http.get(BARS, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not not_modified.body
    assert client.http.get(BARS, headers={"If-None-Match": '"stale"'}).status_code == 200
    # Security headers are on cached responses too.
    assert second.headers["X-Content-Type-Options"] == "nosniff"


def test_each_path_and_query_has_its_own_entry(client: Client) -> None:
    aapl = body(client.http.get("/securities/AAPL"))
    msft = client.http.get("/securities/MSFT")
    assert msft.headers["X-Cache"] == "MISS" and body(msft)["symbol"] == "MSFT" and aapl["symbol"] == "AAPL"
    short = body(client.http.get("/securities/AAPL/bars?limit=3"))
    longer = body(client.http.get("/securities/AAPL/bars?limit=5"))
    assert len(short["data"]) == 3 and len(longer["data"]) == 5


def test_a_new_snapshot_version_invalidates(client: Client, stack_env: dict[str, str]) -> None:
    r = redis.Redis.from_url(stack_env["REDIS_URL"], decode_responses=True)
    client.http.get("/securities/AAPL")
    assert client.http.get("/securities/AAPL").headers["X-Cache"] == "HIT"
    old = r.get("snapshot:version")
    r.set("snapshot:version", str(int(old or 0) + 1000))
    try:
        assert client.http.get("/securities/AAPL").headers["X-Cache"] == "MISS"
    finally:
        if old is None:
            r.delete("snapshot:version")
        else:
            r.set("snapshot:version", old)


def test_errors_are_not_cached(client: Client) -> None:
    assert client.http.get("/securities/NOPE").status_code == 404
    resp = client.http.get("/securities/NOPE")
    assert resp.status_code == 404 and "X-Cache" not in resp.headers


def test_user_data_is_never_served_from_another_users_entry(client: Client, stack_env: dict[str, str]) -> None:
    a = make_user(client, stack_env["DATABASE_URL"])
    b = make_user(client, stack_env["DATABASE_URL"], "premium")
    ra = client.http.get("/me", headers=a.auth)
    rb = client.http.get("/me", headers=b.auth)
    assert body(ra)["email"] == a.email and body(rb)["email"] == b.email
    assert ra.headers["Cache-Control"] == "no-store" and "ETag" not in ra.headers
    # Signed-in callers share the public market entry (identical for everyone)...
    client.http.get("/securities/AAPL", headers=a.auth)
    assert client.http.get("/securities/AAPL", headers=b.auth).headers["X-Cache"] == "HIT"
    # ...and no cache entry holds anything personal.
    r = redis.Redis.from_url(stack_env["REDIS_URL"], decode_responses=True)
    for key in r.scan_iter("resp:*"):
        value = r.get(key) or ""
        assert a.email not in value and b.email not in value and a.id not in value


def test_redis_down_serves_uncached_and_health_degrades(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from stockscreen.core import clients, config

    expected = body(client.http.get(BARS))
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    clients.get_redis.cache_clear()
    config.core_settings.cache_clear()
    try:
        resp = client.http.get(BARS)
        assert resp.status_code == 200 and resp.headers["X-Cache"] == "MISS"
        assert body(resp) == expected
        down = client.http.get("/health")
        assert down.status_code == 503 and "Retry-After" in down.headers
        health = body(down)["error"]["details"]
        assert health["status"] == "degraded" and health["checks"]["redis"]["status"] == "down"
    finally:
        monkeypatch.undo()
        clients.reset_clients()


def test_quotes_for_many_symbols_live_then_snapshot(client: Client, stack_env: dict[str, str]) -> None:
    import datetime as dt

    from stockscreen.realtime.messages import Quote
    from stockscreen.realtime.quotes import put_quotes, quote_key

    r = redis.Redis.from_url(stack_env["REDIS_URL"], decode_responses=True)
    r.delete(quote_key("MSFT"))  # other tests may have streamed one
    put_quotes(
        [Quote(symbol="AAPL", price=123.45, change_pct=1.5, volume=10, ts=dt.datetime(2018, 2, 8, 15, tzinfo=dt.UTC))]
    )
    try:
        resp = client.http.get("/quotes?symbols=aapl,MSFT,NOPE,aapl")
        assert resp.status_code == 200
        b = body(resp)
        by = {q["symbol"]: q for q in b["data"]}
        assert by["AAPL"]["price"] == 123.45 and by["AAPL"]["source"] == "live"
        assert by["MSFT"]["source"] == "snapshot" and by["MSFT"]["ts"] == "2018-02-07"
        assert b["missing"] == ["NOPE"] and b["count"] == 2
    finally:
        r.delete(quote_key("AAPL"))
    from tests.integration.authkit import assert_error

    assert_error(client.http.get("/quotes"), 400, "validation_error")
    assert_error(client.http.get("/quotes?symbols=" + ",".join(["A"] * 201)), 400, "validation_error")
    assert_error(client.http.get("/quotes?symbols=bad$"), 400, "validation_error")
