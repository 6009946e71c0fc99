"""Each step of the route middleware (chalicelib/steps.py) alone, and their order in ``handle``; no network
(the rate limiter and the response cache are in-memory fakes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any

import pytest
from chalice.app import Request, Response

from devstack.lambdas import load_api
from stockscreen.core.errors import Forbidden, Invalid, NotFound, RateLimited, Unauthorized
from stockscreen.core.ratelimit import Decision

load_api()  # puts functions/api on sys.path, as the Lambda runtime does

from chalicelib import steps  # noqa: E402
from chalicelib.http import RouteSpec  # noqa: E402
from chalicelib.responses import CTX_HEADERS, CTX_LIMITED, CTX_VERSION  # noqa: E402


def request(
    method: str = "GET", *, headers: dict[str, str] | None = None, query: dict[str, list[str]] | None = None
) -> Request:
    return Request(
        {
            "multiValueQueryStringParameters": query,
            "headers": headers or {},
            "pathParameters": None,
            "requestContext": {
                "httpMethod": method,
                "resourcePath": "/things",
                "requestId": "req-1",
                "identity": {"sourceIp": "203.0.113.9"},
            },
            "body": None,
            "stageVariables": None,
        }
    )


SPEC = RouteSpec(
    path="/things",
    method="GET",
    auth="optional",
    feature=None,
    cache_ttl=None,
    summary="",
    tag="things",
    body=None,
    query=None,
    response=None,
    status=200,
    owned=False,
)


@dataclass
class FakeLimiter:
    allowed: bool = True
    subjects: list[str] | None = None
    fail: bool = False

    def hit(self, subject: str, limit: int, window_s: int = 60, *, peek: str | None = None) -> Decision:
        if self.fail:
            from stockscreen.core import resp

            raise resp.RedisConnectionError("down")
        (self.subjects if self.subjects is not None else []).append(subject)
        return Decision(
            self.allowed, limit, 0 if not self.allowed else limit - 1, 0 if self.allowed else 7, 60, window_s, "v9"
        )


@pytest.fixture
def limiter(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLimiter]:
    import stockscreen.accounts.settings as settings

    fake = FakeLimiter(subjects=[])
    monkeypatch.setattr(steps, "limiter", lambda: fake)
    monkeypatch.setattr(settings, "api_settings", lambda: SimpleNamespace(rate_limit_multiplier=1.0))
    yield fake


def principal(role: str = "premium", key: str | None = None, user: str = "u-1") -> Any:
    return SimpleNamespace(user_id=user, role=role, api_key_id=key)


def test_check_text_refuses_nul_in_path_and_query() -> None:
    steps.check_text(["AAPL"], request(query={"q": ["ok"]}))
    with pytest.raises(Invalid, match="NUL"):
        steps.check_text(["A\x00"], request())
    with pytest.raises(Invalid, match="NUL"):
        steps.check_text([], request(query={"q": ["a", "b\x00"]}))


def test_authenticate_caller_ignores_credentials_when_auth_is_none() -> None:
    assert steps.authenticate_caller(request(headers={"authorization": "Basic xyz"}), "none") is None
    with pytest.raises(Unauthorized, match="Bearer"):
        steps.authenticate_caller(request(headers={"authorization": "Basic xyz"}), "optional")
    assert steps.authenticate_caller(request(), "required") is None  # no credentials: authorise decides


def test_authorise_needs_a_caller_and_the_feature() -> None:
    steps.authorise(None, "optional", "market.read")
    with pytest.raises(Unauthorized):
        steps.authorise(None, "required", None)
    with pytest.raises(Forbidden, match="backtests"):
        steps.authorise(principal("free"), "required", "backtests")
    steps.authorise(principal("premium"), "required", "backtests")


def test_rate_limit_is_one_bucket_per_user_whatever_key_or_session(limiter: FakeLimiter) -> None:
    for who in (principal(key="k1"), principal(key="k2"), principal(key=None)):
        assert steps.rate_limit(request(), who) is None
    steps.rate_limit(request(), principal(user="u-2", key="k3"))
    steps.rate_limit(request(), None)
    assert limiter.subjects == ["user:u-1", "user:u-1", "user:u-1", "user:u-2", "ip:203.0.113.9"]


def test_rate_limit_headers_version_and_the_429(limiter: FakeLimiter) -> None:
    req = request()
    assert steps.rate_limit(req, principal()) is None
    assert req.context[CTX_VERSION] == "v9" and req.context[CTX_HEADERS]["RateLimit-Limit"] == "600"
    limiter.allowed = False
    req = request()
    denied = steps.rate_limit(req, principal("free"))
    assert denied is not None and denied.status_code == 429 and req.context[CTX_LIMITED] is True
    assert denied.body["error"]["details"] == {"limit": 60, "retry_after": 7}
    assert req.context[CTX_HEADERS]["Retry-After"] == "7"


def test_rate_limit_fails_open(limiter: FakeLimiter) -> None:
    limiter.fail = True
    req = request()
    assert steps.rate_limit(req, None) is None and CTX_VERSION not in req.context


def test_with_status_wraps_plain_results_only() -> None:
    assert steps.with_status({"a": 1}, 200) == {"a": 1}
    created = steps.with_status({"a": 1}, 201)
    assert isinstance(created, Response) and created.status_code == 201 and created.body == {"a": 1}
    as_is = Response(body="", status_code=204)
    assert steps.with_status(as_is, 201) is as_is


def test_map_error_covers_domain_and_validation_errors_only() -> None:
    from pydantic import BaseModel, ValidationError

    class Body(BaseModel):
        n: int

    req = request()
    resp = steps.map_error(req, Unauthorized("sign in"))
    assert resp is not None and resp.status_code == 401 and "WWW-Authenticate" in req.context[CTX_HEADERS]
    req = request()
    resp = steps.map_error(req, RateLimited("slow down", {"retry_after": 3}))
    assert resp is not None and resp.status_code == 429 and req.context[CTX_HEADERS] == {"Retry-After": "3"}
    resp = steps.map_error(request(), NotFound("no such thing", {"id": "x"}))
    assert resp is not None and resp.body["error"] == {
        "code": "not_found",
        "message": "no such thing",
        "details": {"id": "x"},
        "request_id": "req-1",
    }
    with pytest.raises(ValidationError) as exc:
        Body.model_validate({"n": "x"})
    resp = steps.map_error(request(), exc.value)
    assert resp is not None and resp.status_code == 400 and resp.body["error"]["code"] == "validation_error"
    assert steps.map_error(request(), ValueError("a bug")) is None
    assert steps.map_error(request(), KeyError("a bug")) is None


def test_handle_runs_the_steps_in_order(limiter: FakeLimiter) -> None:
    calls: list[str] = []

    def view() -> dict[str, str]:
        calls.append("view")
        return {"ok": "yes"}

    # a bad path is refused before anything else, even the rate limit
    resp = steps.handle(SPEC, request(), ["x\x00"], view)
    assert resp.status_code == 400 and limiter.subjects == [] and calls == []
    # the rate limit comes before sign-in: a limited anonymous caller gets 429, not 401
    limiter.allowed = False
    resp = steps.handle(replace(SPEC, auth="required"), request(), [], view)
    assert resp.status_code == 429 and calls == []
    limiter.allowed = True
    resp = steps.handle(replace(SPEC, auth="required"), request(), [], view)
    assert resp.status_code == 401 and calls == []
    resp = steps.handle(replace(SPEC, feature="backtests"), request(), [], view)
    assert resp.status_code == 403 and calls == []
    assert steps.handle(SPEC, request(), [], view) == {"ok": "yes"} and calls == ["view"]
    resp = steps.handle(replace(SPEC, status=201), request("POST"), [], view)
    assert resp.status_code == 201


def test_handle_maps_view_errors_and_lets_bugs_through(limiter: FakeLimiter) -> None:
    def invalid() -> None:
        raise Invalid("bad input", {"loc": "x"})

    def bug() -> None:
        raise ZeroDivisionError

    resp = steps.handle(SPEC, request(), [], invalid)
    assert resp.status_code == 400 and json.loads(json.dumps(resp.body))["error"]["details"] == {"loc": "x"}
    with pytest.raises(ZeroDivisionError):
        steps.handle(SPEC, request(), [], bug)
    from chalicelib.authn import current

    assert current() is None  # the principal is cleared whatever happened


def test_cached_serves_hits_and_304s(monkeypatch: pytest.MonkeyPatch) -> None:
    stored: dict[str, Any] = {}

    class FakeCache:
        def lookup(self, scope: str, method: str, path: str, params: Any, version: Any) -> tuple[str, Any]:
            key = f"{scope}|{method}|{path}|{sorted(params.items())}|{version}"
            return key, stored.get(key)

        def store(self, key: str, result: Any, ttl: int) -> Any:
            stored[key] = SimpleNamespace(body=json.dumps(result), etag='"e1"')
            return stored[key]

    monkeypatch.setattr(steps, "response_cache", lambda: FakeCache())
    calls: list[int] = []

    def view() -> dict[str, int]:
        calls.append(1)
        return {"n": 1}

    miss = steps.cached(request(), 30, view)
    assert miss.status_code == 200 and miss.headers["X-Cache"] == "MISS" and miss.body == '{"n": 1}'
    hit = steps.cached(request(), 30, view)
    assert hit.headers["X-Cache"] == "HIT" and calls == [1]
    assert hit.headers["Cache-Control"] == "public, max-age=30"
    not_modified = steps.cached(request(headers={"if-none-match": 'W/"e1"'}), 30, view)
    assert not_modified.status_code == 304 and not_modified.body == ""
