"""Portfolios through chalice.test.Client on real bars: transactions, FIFO holdings, P&L, performance vs the
equal-weighted universe index (checked against an independent read of the source file), quotas, ownership."""

from __future__ import annotations

import csv
import gzip
from collections import defaultdict
from collections.abc import Iterator

import pytest
import redis
from chalice.test import Client

from devstack.lambdas import load_api
from tests.conftest import FIXTURES
from tests.integration.authkit import assert_error, body, clear_rate_limits, load_sample, make_user, post, send


@pytest.fixture(scope="module")
def client(stack_env: dict[str, str]) -> Iterator[Client]:
    load_sample(stack_env)
    r = redis.Redis.from_url(stack_env["REDIS_URL"])
    keys = list(r.scan_iter("quote:*"))
    if keys:
        r.delete(*keys)
    with Client(load_api()) as c:
        yield c


@pytest.fixture(autouse=True)
def _fresh_limits(stack_env: dict[str, str]) -> None:
    clear_rate_limits(stack_env["REDIS_URL"])


def _closes() -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = defaultdict(dict)
    with gzip.open(FIXTURES / "bars-sample.csv.gz", "rt") as f:
        for row in csv.DictReader(f):
            if row["close"]:
                out[row["date"]][row["Name"]] = float(row["close"])
    return out


def test_holdings_and_pnl(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"])
    pf = body(post(client, "/portfolios", {"name": "Main"}, u.auth))
    base = f"/portfolios/{pf['id']}/transactions"
    for t in (
        {"kind": "buy", "symbol": "aapl", "date": "2018-01-02", "quantity": 10, "price": 100, "fees": 10},
        {"kind": "buy", "symbol": "AAPL", "date": "2018-01-03", "quantity": 10, "price": 120},
        {"kind": "sell", "symbol": "AAPL", "date": "2018-01-04", "quantity": 15, "price": 130, "fees": 5},
        {"kind": "dividend", "symbol": "AAPL", "date": "2018-01-05", "quantity": 5, "price": 0.63},
    ):
        resp = post(client, base, t, u.auth)
        assert resp.status_code == 201, resp.body
    err = assert_error(
        post(client, base, {"kind": "sell", "symbol": "AAPL", "date": "2018-01-06", "quantity": 6, "price": 1}, u.auth),
        400,
    )
    assert "exceeds" in err["message"]
    got = body(client.http.get(f"/portfolios/{pf['id']}", headers=u.auth))
    h = got["holdings"][0]
    close = _closes()["2018-02-07"]["AAPL"]
    assert h["symbol"] == "AAPL" and h["quantity"] == 5 and h["cost_basis"] == 600
    assert h["realised_pnl"] == 335 and h["dividends"] == pytest.approx(3.15)
    assert h["price"] == pytest.approx(close) and h["price_as_of"] == "2018-02-07"
    assert h["unrealised_pnl"] == pytest.approx(5 * close - 600, abs=1e-4)
    assert got["totals"]["realised_pnl"] == 335 and got["transaction_count"] == 4
    txns = body(client.http.get(f"{base}?limit=2", headers=u.auth))
    assert txns["count"] == 4 and [t["kind"] for t in txns["data"]] == ["buy", "buy"]
    # Deleting the first buy would leave the sell uncovered: refused, nothing changes.
    first = txns["data"][0]["id"]
    assert_error(send(client, "DELETE", f"{base}/{first}", None, u.auth), 400)
    last = body(client.http.get(f"{base}?offset=3", headers=u.auth))["data"][0]["id"]
    assert send(client, "DELETE", f"{base}/{last}", None, u.auth).status_code == 204
    assert body(client.http.get(base, headers=u.auth))["count"] == 3


def test_performance_against_the_equal_weighted_universe(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"])
    pf = body(post(client, "/portfolios", {"name": "Perf"}, u.auth))
    post(
        client,
        f"/portfolios/{pf['id']}/transactions",
        {"kind": "buy", "symbol": "MSFT", "date": "2018-01-02", "quantity": 10, "price": 85},
        u.auth,
    )
    perf = body(client.http.get(f"/portfolios/{pf['id']}/performance?to=2018-01-05", headers=u.auth))
    closes = _closes()
    days = ["2018-01-02", "2018-01-03", "2018-01-04", "2018-01-05"]
    assert [p["date"] for p in perf["data"]] == days
    assert perf["data"][0]["value"] == pytest.approx(10 * closes[days[0]]["MSFT"])
    assert perf["data"][0]["net_flow"] == 850
    p_idx = u_idx = 100.0
    for prev, day, point in zip(days[:-1], days[1:], perf["data"][1:], strict=True):
        p_idx *= closes[day]["MSFT"] / closes[prev]["MSFT"]
        rets = [closes[day][s] / closes[prev][s] - 1 for s in closes[day] if s in closes[prev]]
        u_idx *= 1 + sum(rets) / len(rets)
        assert point["portfolio_index"] == pytest.approx(p_idx, abs=1e-3)
        assert point["universe_index"] == pytest.approx(u_idx, abs=1e-3)
    assert perf["portfolio_return_pct"] == pytest.approx(p_idx - 100, abs=1e-3)


def test_validation_quota_and_ownership(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"])
    other = make_user(client, stack_env["DATABASE_URL"])
    pf = body(post(client, "/portfolios", {"name": "Only"}, u.auth))
    err = assert_error(post(client, "/portfolios", {"name": "Second"}, u.auth), 403, "forbidden")
    assert err["details"]["limit"] == 1
    base = f"/portfolios/{pf['id']}/transactions"
    for bad in (
        {"kind": "buy", "symbol": "AAPL", "date": "2018-01-02", "quantity": 0, "price": 1},
        {"kind": "buy", "symbol": "AAPL", "date": "2018-01-02", "quantity": 1},
        {"kind": "split", "symbol": "AAPL", "date": "2018-01-02", "quantity": 2, "price": 5},
        {"kind": "gift", "symbol": "AAPL", "date": "2018-01-02", "quantity": 1, "price": 1},
        {"kind": "buy", "symbol": "AAPL", "date": "2999-01-02", "quantity": 1, "price": 1},
        {"kind": "buy", "symbol": "AAPL", "date": "yesterday", "quantity": 1, "price": 1},
        {"kind": "buy", "symbol": "AAPL", "date": "2018-01-02", "quantity": "1e400", "price": 1},
    ):
        assert_error(post(client, base, bad, u.auth), 400, "validation_error")
    assert_error(
        post(client, base, {"kind": "buy", "symbol": "ZZZZ", "date": "2018-01-02", "quantity": 1, "price": 1}, u.auth),
        400,
    )
    for method, path, payload in (
        ("GET", f"/portfolios/{pf['id']}", None),
        ("PATCH", f"/portfolios/{pf['id']}", {"name": "x"}),
        ("GET", base, None),
        ("POST", base, {"kind": "buy", "symbol": "AAPL", "date": "2018-01-02", "quantity": 1, "price": 1}),
        ("GET", f"/portfolios/{pf['id']}/performance", None),
        ("DELETE", f"/portfolios/{pf['id']}", None),
    ):
        assert_error(send(client, method, path, payload, other.auth), 404)
    assert body(send(client, "PATCH", f"/portfolios/{pf['id']}", {"name": "Renamed"}, u.auth))["name"] == "Renamed"
    assert body(client.http.get("/portfolios", headers=u.auth))["data"][0]["name"] == "Renamed"
    assert send(client, "DELETE", f"/portfolios/{pf['id']}", None, u.auth).status_code == 204
    assert body(client.http.get("/portfolios", headers=u.auth))["count"] == 0
