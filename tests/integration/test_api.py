"""Every HTTP route through chalice.test.Client, on the sample of real data loaded by the pipeline."""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from devstack.lambdas import load_api
from devstack.stepfunctions import IngestStateMachine
from tests.conftest import FIXTURES, truncate_all

SAMPLE = [
    str(FIXTURES / n) for n in ("constituents-sample.csv", "fundamentals-sample-2018-02-08.csv", "bars-sample.csv.gz")
]


@pytest.fixture(scope="module")
def loaded(stack_env: dict[str, str]) -> dict[str, str]:
    truncate_all(stack_env["DATABASE_URL"])
    result = IngestStateMachine(stack_env["AWS_ENDPOINT_URL"]).run({"source": {"paths": SAMPLE}})
    assert result["status"] == "SUCCEEDED", result
    return stack_env


@pytest.fixture(scope="module")
def client(loaded: dict[str, str]) -> Iterator[Client]:
    with Client(load_api()) as c:
        yield c


def _raw_close(symbol: str, day: str) -> float:
    """The close as written in the source file (an independent read of the data)."""
    with gzip.open(FIXTURES / "bars-sample.csv.gz", "rt") as f:
        for row in csv.DictReader(f):
            if row["Name"] == symbol and row["date"] == day:
                return float(row["close"])
    raise AssertionError(f"{symbol} {day} not in the sample")


def _json(resp: Any) -> Any:
    return json.loads(resp.body)


def _assert_error(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.body
    body = _json(resp)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details", "request_id"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["error"]["request_id"]
    return body["error"]


def post_screen(client: Client, payload: Any) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.http.post("/screens/run", body=body, headers={"Content-Type": "application/json"})


def test_health_reports_each_dependency(client: Client) -> None:
    resp = client.http.get("/health")
    assert resp.status_code == 200
    body = _json(resp)
    assert body["status"] == "ok"
    assert {k: v["status"] for k, v in body["checks"].items()} == {"database": "ok", "redis": "ok", "aws": "ok"}
    assert isinstance(body["snapshot_version"], int)
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_health_degrades_when_redis_is_down(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from stockscreen.core import clients

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    clients.get_redis.cache_clear()
    from stockscreen.core import config

    config.core_settings.cache_clear()
    try:
        resp = client.http.get("/health")
        error = _assert_error(resp, 503, "unavailable")  # a failing dependency is a 503 naming it
        assert resp.headers["Retry-After"] == str(error["details"]["retry_after"])
        body = error["details"]
        assert body["status"] == "degraded" and body["failing"] == ["redis"]
        assert body["checks"]["redis"]["status"] == "down"
        assert body["checks"]["database"]["status"] == "ok"
    finally:
        monkeypatch.undo()
        clients.reset_clients()


def test_request_log_carries_only_this_functions_keys(client: Client) -> None:
    """One process hosts every function in ``make dev``: keys another handler appended to the shared
    Powertools logger (an ingest task's run id and function name) must not reach the API's log lines."""
    from stockscreen.core.observability import logger

    logger.append_keys(function_name="stockscreen-ingest-report", run_id="run-123")
    out = io.StringIO()
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(out)
    try:
        assert client.http.get("/health").status_code == 200
    finally:
        handler.setStream(previous)
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    request = [x for x in lines if x.get("message") == "request"]
    assert request and request[-1]["path"] == "/health"
    assert "run_id" not in request[-1]
    assert request[-1].get("function_name") != "stockscreen-ingest-report"
    assert request[-1]["request_id"]


def test_search_by_symbol_and_name_prefix(client: Client) -> None:
    body = _json(client.http.get("/securities?q=aapl"))
    assert body["data"][0]["symbol"] == "AAPL"
    body = _json(client.http.get("/securities?q=exxon"))
    assert [d["symbol"] for d in body["data"]] == ["XOM"]
    body = _json(client.http.get("/securities?q=zzzz"))
    assert body == {"data": [], "count": 0}


def test_search_rejects_bad_queries(client: Client) -> None:
    _assert_error(client.http.get("/securities"), 400, "validation_error")
    _assert_error(client.http.get("/securities?q=a&limit=500"), 400, "validation_error")
    _assert_error(client.http.get("/securities?q=a&bogus=1"), 400, "validation_error")


def test_security_profile_and_snapshot(client: Client) -> None:
    body = _json(client.http.get("/securities/msft"))
    assert body["symbol"] == "MSFT" and body["sector"] == "Information Technology"
    assert body["snapshot"]["as_of"] == "2018-02-07"
    assert body["snapshot"]["close"] == pytest.approx(_raw_close("MSFT", "2018-02-07"))
    err = _assert_error(client.http.get("/securities/NOPE"), 404, "not_found")
    assert "NOPE" in err["message"]
    _assert_error(client.http.get("/securities/bad$sym"), 400, "validation_error")


def test_daily_bars_are_real_and_ascending(client: Client) -> None:
    body = _json(client.http.get("/securities/AAPL/bars?from=2018-02-01&to=2018-02-07"))
    dates = [b["date"] for b in body["data"]]
    assert dates == ["2018-02-01", "2018-02-02", "2018-02-05", "2018-02-06", "2018-02-07"]
    last = body["data"][-1]
    assert (last["open"], last["high"], last["low"], last["close"], last["volume"]) == (
        163.085,
        163.4,
        159.0685,
        159.54,
        51608580,
    )
    assert last["adj_close"] is None  # (the demo file has no adjusted close)


def test_weekly_and_monthly_rollups(client: Client) -> None:
    daily = _json(client.http.get("/securities/AAPL/bars?from=2018-01-01&to=2018-01-31"))["data"]
    monthly = _json(client.http.get("/securities/AAPL/bars?interval=1mo&from=2018-01-01&to=2018-01-31"))["data"]
    assert len(monthly) == 1
    m = monthly[0]
    assert m["open"] == daily[0]["open"] and m["close"] == daily[-1]["close"]
    assert m["high"] == max(d["high"] for d in daily) and m["low"] == min(d["low"] for d in daily)
    assert m["volume"] == sum(d["volume"] for d in daily)
    assert m["adj_close"] is None  # (the rollups are of the raw prices)
    weekly = _json(client.http.get("/securities/AAPL/bars?interval=1w&limit=3"))["data"]
    assert len(weekly) == 3 and weekly[-1]["close"] == 159.54


def test_bars_bad_input(client: Client) -> None:
    _assert_error(client.http.get("/securities/AAPL/bars?interval=5m"), 400, "validation_error")
    _assert_error(client.http.get("/securities/AAPL/bars?from=2018-13-01"), 400, "validation_error")
    _assert_error(client.http.get("/securities/AAPL/bars?from=2018-02-01&to=2018-01-01"), 400, "validation_error")
    _assert_error(client.http.get("/securities/NOPE/bars"), 404, "not_found")


def test_field_catalogue(client: Client) -> None:
    body = _json(client.http.get("/screener/fields"))
    ids = {f["id"] for f in body["data"]}
    assert {"market_cap", "pe", "rsi14", "sma200", "sector"} <= ids
    assert {f["group"] for f in body["data"]} == {"descriptive", "fundamental", "technical"}


def test_screen_filters_sorts_and_pages(client: Client) -> None:
    body = _json(
        post_screen(
            client,
            {"filters": [{"field": "market_cap", "op": ">", "value": 200e9}], "sort": "market_cap", "order": "desc"},
        )
    )
    symbols = [r["symbol"] for r in body["data"]]
    assert symbols == ["AAPL", "MSFT", "JPM", "XOM"]
    assert body["count"] == 4 and body["as_of"] == "2018-02-07"
    caps = [r["market_cap"] for r in body["data"]]
    assert caps == sorted(caps, reverse=True)
    page = _json(post_screen(client, {"sort": "symbol", "order": "asc", "limit": 3, "offset": 3}))
    assert [r["symbol"] for r in page["data"]] == ["DHR", "JPM", "LNT"] and page["count"] == 8


def test_screen_text_between_and_in(client: Client) -> None:
    body = _json(
        post_screen(
            client,
            {
                "filters": [
                    {"field": "sector", "op": "in", "value": ["Energy", "Financials"]},
                    {"field": "close", "op": "between", "value": [50, 200]},
                ]
            },
        )
    )
    assert sorted(r["symbol"] for r in body["data"]) == ["JPM", "XOM"]


@pytest.mark.parametrize(
    ("payload", "status", "code", "fragment"),
    [
        (b"{not json", 400, "invalid_request", "malformed JSON"),
        (b"[1, 2]", 400, "invalid_request", "JSON object"),
        (b"", 400, "invalid_request", "empty"),
        ({"filters": [{"field": "nope", "op": ">", "value": 1}]}, 400, "validation_error", "unknown field"),
        ({"filters": [{"field": "sector", "op": ">", "value": 5}]}, 400, "validation_error", "text"),
        ({"filters": [{"field": "pe", "op": ">", "value": "x"}]}, 400, "validation_error", "number"),
        ({"filters": [{"field": "pe", "op": "like", "value": 1}]}, 400, "validation_error", "op"),
        ({"filters": [], "unknown": 1}, 400, "validation_error", "unknown"),
        ({"sort": "pe; DROP TABLE securities"}, 400, "validation_error", "sort"),
        ({"filters": [{"field": "sector", "op": "=", "value": "x' OR '1'='1"}]}, 200, None, None),
        ({"limit": 100000}, 400, "validation_error", "limit"),
        (b"{" + b'"a":' * 1 + b'"' + b"x" * 70000 + b'"}', 413, "payload_too_large", "larger"),
    ],
)
def test_screen_bad_input_is_a_4xx_never_a_500(
    client: Client, payload: Any, status: int, code: str | None, fragment: str | None
) -> None:
    resp = post_screen(client, payload)
    if code is None:
        assert resp.status_code == status and _json(resp)["count"] == 0
        return
    err = _assert_error(resp, status, code)
    assert fragment.lower() in (err["message"] + json.dumps(err["details"])).lower()


def test_method_not_allowed_is_uniform(client: Client) -> None:
    _assert_error(client.http.delete("/screener/fields"), 405, "method_not_allowed")
