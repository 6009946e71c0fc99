"""The screener routes through chalice.test.Client on the 8-symbol sample loaded by the real pipeline."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from devstack.lambdas import load_api
from devstack.stepfunctions import IngestStateMachine
from stockscreen.screening.presets import PRESETS
from stockscreen.screening.universe import reset_cache
from tests.conftest import FIXTURES, truncate_all
from tests.integration.authkit import make_user

SAMPLE = [
    str(FIXTURES / n) for n in ("constituents-sample.csv", "fundamentals-sample-2018-02-08.csv", "bars-sample.csv.gz")
]


@pytest.fixture(scope="module")
def client(stack_env: dict[str, str]) -> Iterator[Client]:
    truncate_all(stack_env["DATABASE_URL"])
    reset_cache()
    result = IngestStateMachine(stack_env["AWS_ENDPOINT_URL"]).run({"source": {"paths": SAMPLE}})
    assert result["status"] == "SUCCEEDED", result
    with Client(load_api()) as c:
        yield c


def _raw_close(symbol: str, day: str) -> float:
    with gzip.open(FIXTURES / "bars-sample.csv.gz", "rt") as f:
        for row in csv.DictReader(f):
            if row["Name"] == symbol and row["date"] == day:
                return float(row["close"])
    raise AssertionError(f"{symbol} {day} not in the sample")


def post(client: Client, path: str, payload: Any, headers: dict[str, str] | None = None) -> Any:
    return client.http.post(
        path, body=json.dumps(payload).encode(), headers={"Content-Type": "application/json", **(headers or {})}
    )


@pytest.fixture(scope="module")
def premium(client: Client, stack_env: dict[str, str]) -> dict[str, str]:
    """Auth headers of a premium user: CSV export and backtests are premium features."""
    return make_user(client, stack_env["DATABASE_URL"], "premium").auth


def body(resp: Any) -> Any:
    return json.loads(resp.body)


def error(resp: Any, code: str = "invalid_query") -> dict[str, Any]:
    assert resp.status_code == 400, resp.body
    err = body(resp)["error"]
    assert err["code"] == code, err
    return err  # type: ignore[no-any-return]


def test_query_text_ast_and_filters_agree(client: Client) -> None:
    text = 'market_cap > 100B and sector in ("Information Technology", "Financials")'
    by_text = body(post(client, "/screens/run", {"query": text, "sort": "symbol", "order": "asc"}))
    assert set(by_text) >= {"data", "count", "as_of", "snapshot_version", "columns"}
    assert [r["symbol"] for r in by_text["data"]] == ["AAPL", "JPM", "MSFT"]
    ast = body(post(client, "/screens/parse", {"query": text}))["ast"]
    by_ast = body(post(client, "/screens/run", {"ast": ast, "sort": "symbol", "order": "asc"}))
    filters = [
        {"field": "market_cap", "op": ">", "value": 100e9},
        {"field": "sector", "op": "in", "value": ["Information Technology", "Financials"]},
    ]
    by_filters = body(post(client, "/screens/run", {"filters": filters, "sort": "symbol", "order": "asc"}))
    assert by_text["data"] == by_ast["data"] == by_filters["data"]
    back = body(post(client, "/screens/parse", {"ast": ast}))
    assert back["query"] == 'market_cap > 100000000000 and sector in ("Information Technology", "Financials")'


def test_history_constructs_and_as_of(client: Client) -> None:
    latest = body(post(client, "/screens/run", {"query": "close > close[-5]", "columns": ["close"]}))
    assert latest["as_of"] == "2018-02-07"
    past = body(post(client, "/screens/run", {"query": "symbol = 'AAPL'", "as_of": "2017-06-30", "columns": ["close"]}))
    assert past["as_of"] == "2017-06-30" and past["data"] == [
        {"symbol": "AAPL", "close": _raw_close("AAPL", "2017-06-30")}
    ]
    weekend = body(post(client, "/screens/run", {"query": "close > 0", "as_of": "2017-07-02"}))
    assert weekend["as_of"] == "2017-06-30"
    for q in (
        "volume > 2 * avg(volume, 50)",
        "close > max(high, 252)[-1]",
        "sma50 crosses_above sma200 within 60 days",
        "rsi14 < 30 within 10 days",
        "close > sma200 for 20 days",
        "weekly.rsi14 > 50",
        "monthly.close > monthly.close[-12]",
    ):
        resp = post(client, "/screens/run", {"query": q})
        assert resp.status_code == 200, (q, resp.body)
        assert body(resp)["query"] == q


def test_sorting_nulls_last_paging_and_columns(client: Client) -> None:
    page1 = body(post(client, "/screens/run", {"sort": "pe", "order": "asc", "limit": 5, "columns": ["pe"]}))
    page2 = body(
        post(client, "/screens/run", {"sort": "pe", "order": "asc", "limit": 5, "offset": 5, "columns": ["pe"]})
    )
    values = [r["pe"] for r in page1["data"] + page2["data"]]
    known = [v for v in values if v is not None]
    assert known == sorted(known) and values[: len(known)] == known  # missing P/E sorts last
    assert page1["columns"] == ["symbol", "pe"] and page1["count"] == page2["count"] == 8


def test_csv_export(client: Client, premium: dict[str, str]) -> None:
    resp = post(
        client,
        "/screens/run?format=csv",
        {"query": "close > 0", "columns": ["close", "sector"], "sort": "symbol", "order": "asc"},
        premium,
    )
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.body.decode() if isinstance(resp.body, bytes) else resp.body)))
    assert [r["symbol"] for r in rows][:2] == ["AAPL", "AOS"] and set(rows[0]) == {"symbol", "close", "sector"}


def test_explain_each_clause(client: Client) -> None:
    resp = client.http.get(
        "/screens/explain?symbol=aapl&query=market_cap%20%3E%20100B%20and%20sector%20%3D%20%22Energy%22"
    )
    assert resp.status_code == 200, resp.body
    out = body(resp)
    assert out["symbol"] == "AAPL" and out["pass"] is False
    cap, sector = out["clauses"]
    assert cap["pass"] is True and cap["value"] > 100e9 and cap["threshold"] == "100000000000"
    assert sector == {
        "clause": 'sector = "Energy"',
        "value": "Information Technology",
        "threshold": '"Energy"',
        "threshold_value": None,
        "pass": False,
    }
    assert client.http.get("/screens/explain?symbol=NOPE&query=close%20%3E%201").status_code == 404


def test_explain_per_result_row(client: Client) -> None:
    out = body(
        post(
            client,
            "/screens/run",
            {"query": 'close > 100 or sector = "Energy"', "explain": True, "sort": "symbol", "order": "asc"},
        )
    )
    assert out["clauses"] == ["close > 100", 'sector = "Energy"']
    by_symbol = {r["symbol"]: r["_explain"] for r in out["data"]}
    assert by_symbol["XOM"][1] is True and all(any(v) for v in by_symbol.values())
    assert by_symbol["AAPL"] == [True, False]


def test_presets_all_run(client: Client, premium: dict[str, str]) -> None:
    listed = body(client.http.get("/screens/presets"))
    assert listed["count"] == len(PRESETS) >= 20
    assert any(p["premium"] for p in listed["data"]) and not all(p["premium"] for p in listed["data"])
    for p in listed["data"]:
        payload = {"ast": p["ast"], "sort": p["sort"], "order": p["order"]}
        resp = post(client, "/screens/run", payload, premium)
        assert resp.status_code == 200, (p["id"], resp.body)
        anonymous = post(client, "/screens/run", payload)
        assert anonymous.status_code == (403 if p["premium"] else 200), (p["id"], anonymous.body)


def test_backtest_route(client: Client, premium: dict[str, str]) -> None:
    payload = {
        "query": "close > sma50 and rsi14 < 70",
        "from": "2016-01-01",
        "to": "2017-12-31",
        "rebalance": "monthly",
    }
    resp = post(client, "/screens/backtest", payload, premium)
    assert resp.status_code == 200, resp.body
    out = body(resp)
    # signals on each month end; the one on 2017-12-29 (the test's last day) only closes the last period
    assert len(out["periods"]) == 23 and out["periods"][0]["signal_date"] == "2016-01-29"
    assert out["periods"][0]["entry_date"] == "2016-02-01" and out["periods"][-1]["exit_date"] == "2018-01-02"
    assert out["summary"]["periods"] == 23 and out["entry"] == "next_open" and not out["optimistic"]
    assert out["summary"]["invested_periods"] > 0 and 0 <= out["summary"]["hit_rate"] <= 1
    assert {"cagr", "volatility", "sharpe", "max_drawdown"} <= out["summary"]["strategy"].keys()
    assert len(out["equity"]) == 24 and out["equity"][0]["strategy"] == 1.0
    for p in out["periods"]:
        assert p["count"] == len(p["symbols"]) == len(p["holdings"])
        assert [h["symbol"] for h in p["holdings"]] == p["symbols"]
        assert all(h["entry_date"] == p["entry_date"] and h["entry_price"] > 0 for h in p["holdings"])
    resp = post(client, "/screens/backtest?format=csv", payload, premium)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/csv"), resp.body
    lines = resp.body.decode().splitlines()
    assert lines[0].startswith("signal_date,count,symbol,entry_date,entry_price,exit_date,exit_price")
    assert len(lines) == 1 + sum(max(p["count"], 1) for p in out["periods"])
    optimistic = body(post(client, "/screens/backtest", {**payload, "entry": "same_close"}, premium))
    assert optimistic["optimistic"] and "optimistic" in optimistic["warnings"][0]
    error(post(client, "/screens/backtest", {"query": "close >"}, premium))
    error(post(client, "/screens/backtest", {"query": "close > 1", "benchmark": "ZZZZ"}, premium), "invalid_request")
    error(
        post(client, "/screens/backtest", {"query": "close > 1", "from": "2018-01-01", "to": "2017-01-01"}, premium),
        "validation_error",
    )
    error(post(client, "/screens/backtest", {"query": "close > 1", "max_symbols": 20}, premium), "validation_error")


def test_backtest_reads_delisting_dates_from_the_security_master(
    client: Client, premium: dict[str, str], stack_env: dict[str, str]
) -> None:
    """securities.delisted_on (migration 0008) reaches the backtest: held to the last close, then gone."""
    from sqlalchemy import create_engine, text

    engine = create_engine(stack_env["DATABASE_URL"])
    payload = {"query": "close > 0", "from": "2016-01-01", "to": "2016-12-31"}
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE securities SET delisted_on = DATE '2016-05-10' WHERE symbol = 'AOS'"))
        reset_cache()
        out = body(post(client, "/screens/backtest", payload, premium))
        april = next(p for p in out["periods"] if p["signal_date"] == "2016-04-29")
        held = next(h for h in april["holdings"] if h["symbol"] == "AOS")
        assert held["delisted"] and held["exit_date"] == "2016-05-10"
        assert held["exit_price"] == pytest.approx(_raw_close("AOS", "2016-05-10"))
        assert all("AOS" not in p["symbols"] for p in out["periods"] if p["signal_date"] > "2016-05-10")
        assert out["delistings"] == 1 and not any("survivorship" in w for w in out["warnings"])
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE securities SET delisted_on = NULL WHERE symbol = 'AOS'"))
        reset_cache()
        engine.dispose()
    out = body(post(client, "/screens/backtest", payload, premium))
    assert out["delistings"] == 0 and any("survivorship" in w for w in out["warnings"])


def test_boolean_flags_in_filters_and_text_match_the_point_in_time_snapshot(
    client: Client, stack_env: dict[str, str]
) -> None:
    """``new_high_52w = true`` (the SPA's JSON filter) and ``not new_low_52w`` (the text
    language) select exactly the securities the pipeline's as-of snapshot flags."""
    from sqlalchemy import create_engine

    from stockscreen.pipeline.snapshot import snapshot_as_of

    engine = create_engine(stack_env["DATABASE_URL"])
    flagged = 0
    for day in ("2014-06-30", "2016-03-15", "2017-06-01", "2017-12-29", "2018-02-07"):
        with engine.connect() as conn:
            snap = {r["symbol"]: r for r in snapshot_as_of(conn, dt.date.fromisoformat(day))}
        for field, value in (("new_high_52w", True), ("new_high_52w", False), ("new_low_52w", True)):
            req = {"filters": [{"field": field, "op": "=", "value": value}], "as_of": day, "columns": [field]}
            resp = post(client, "/screens/run", {**req, "sort": "symbol", "order": "asc"})
            assert resp.status_code == 200, resp.body
            got = body(resp)["data"]
            want = sorted(s for s, r in snap.items() if r[field] is value)
            assert [r["symbol"] for r in got] == want, (day, field, value)
            assert all(r[field] is value for r in got)  # flags come back as JSON booleans
            flagged += len(want) if value else 0
        text = body(post(client, "/screens/run", {"query": "not new_low_52w", "as_of": day, "limit": 500}))
        # ``not`` also passes securities without a bar yet (missing never matches; not negates)
        listed = sorted(r["symbol"] for r in text["data"] if r["symbol"] in snap)
        assert listed == sorted(s for s, r in snap.items() if not r["new_low_52w"])
        same = body(post(client, "/screens/run", {"query": "new_high_52w = true", "as_of": day, "limit": 500}))
        assert sorted(r["symbol"] for r in same["data"]) == sorted(s for s, r in snap.items() if r["new_high_52w"])
    engine.dispose()
    assert flagged > 0
    err = error(
        post(client, "/screens/run", {"filters": [{"field": "new_high_52w", "op": ">", "value": True}]}),
        "validation_error",
    )
    assert "yes/no flag" in err["message"] + json.dumps(err["details"])
    err = error(
        post(client, "/screens/run", {"filters": [{"field": "close", "op": ">", "value": True}]}), "validation_error"
    )
    assert "not a yes/no flag" in err["message"] + json.dumps(err["details"])


@pytest.mark.parametrize(
    ("payload", "code", "fragment"),
    [
        ({"query": "market_cap >"}, "invalid_query", "line 1, column 13"),
        ({"query": "clse > 5"}, "invalid_query", "did you mean close"),
        ({"query": "sector > 5"}, "invalid_query", "cannot compare text with a number"),
        ({"query": "close > 1e30"}, "invalid_query", "out of range"),
        ({"query": "not " * 50 + "close > 1"}, "invalid_query", "nested"),
        ({"query": "sector in (" + ",".join(['"x"'] * 101) + ")"}, "invalid_query", "1 to 100"),
        ({"query": "close > 1", "filters": [{"field": "pe", "op": ">", "value": 1}]}, "validation_error", "one of"),
        (
            {
                "ast": {
                    "kind": "compare",
                    "left": {"kind": "field", "name": "nope"},
                    "op": ">",
                    "right": {"kind": "num", "value": 1},
                }
            },
            "invalid_query",
            "unknown field",
        ),
        ({"ast": {"kind": "drop_table"}}, "validation_error", "kind"),
        (  # an unknown key in a node: reported as every unknown key of a body is
            {"ast": {"kind": "flag", "expr": {"kind": "field", "name": "close", "sql": "1=1"}}},
            "validation_error",
            "at ast.flag.expr.field.sql: Extra inputs are not permitted",
        ),
        ({"query": "close > 1", "as_of": "1999-01-01"}, "invalid_request", "before the stored history"),
        ({"query": "close > 1", "limit": 501}, "validation_error", "limit"),
    ],
)
def test_bad_screens_are_precise_400s(client: Client, payload: Any, code: str, fragment: str) -> None:
    err = error(post(client, "/screens/run", payload), code)
    assert fragment in err["message"] + json.dumps(err["details"])


def test_pathologically_nested_json_is_a_400(client: Client) -> None:
    leaf = '{"kind":"compare","left":{"kind":"field","name":"close"},"op":">","right":{"kind":"num","value":1}}'
    for depth in (50, 900, 2500):
        raw = '{"ast":' + '{"kind":"not","item":' * depth + leaf + "}" * depth + "}"
        resp = client.http.post("/screens/run", body=raw.encode(), headers={"Content-Type": "application/json"})
        assert resp.status_code == 400, (depth, resp.body[:200])
        assert "nested" in body(resp)["error"]["message"] or depth == 900


def test_bad_explain_and_format(client: Client) -> None:
    error(client.http.get("/screens/explain?symbol=AAPL&query=close%20%3E"), "invalid_query")
    error(client.http.get("/screens/explain?symbol=AAPL"), "validation_error")
    resp = client.http.post(
        "/screens/run?format=xml", body=b'{"query": "close > 1"}', headers={"Content-Type": "application/json"}
    )
    error(resp, "validation_error")


def test_cli_screen_explain_and_backtest(client: Client, capsys: pytest.CaptureFixture[str]) -> None:
    from devstack.cli import main

    q = "market_cap > 100B"
    assert main(["screen", q, "--sort", "market_cap", "--desc", "--format", "json", "--columns", "market_cap"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["symbol"] for r in out["data"]] == ["AAPL", "MSFT", "JPM", "XOM", "DHR"][: out["count"]]
    assert (
        main(["screen", "close > 0", "--as-of", "2017-06-30", "--sort", "symbol", "--limit", "2", "--format", "csv"])
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("symbol,") and len(lines) == 3
    assert main(["screen", "--explain", "AAPL", 'sector = "Energy" or close > 100']) == 0
    text_out = capsys.readouterr().out
    assert "AAPL PASSES" in text_out and "[FAIL] sector" in text_out and "[pass] close > 100" in text_out
    assert main(["backtest", "close > sma50", "--from", "2017-01-01", "--to", "2017-06-30"]) == 0
    text_out = capsys.readouterr().out
    assert "2017-01-31 2017-02-01" in text_out and "entry next_open" in text_out and "Sharpe" in text_out
    assert "hit rate: share of the invested periods whose net return beat" in text_out
    assert main(["backtest", "close > 0", "--from", "2017-01-01", "--to", "2017-06-30", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    months = {"2017-01-31", "2017-02-28", "2017-03-31", "2017-04-28", "2017-05-31"}
    assert {r["signal_date"] for r in rows} == months and all(r["symbol"] and r["exit_price"] for r in rows)
    assert all(
        sum(r["signal_date"] == m for r in rows) == int(r0["count"])
        for m in months
        for r0 in rows
        if r0["signal_date"] == m
    )
    assert len(rows) > 5 * 5  # every holding of every period, not a first few
    assert main(["backtest", "close > sma50", "--entry", "same_close", "--hold", "5", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["optimistic"] and out["hold_sessions"] == 5
    assert main(["screen", "sector > 5"]) == 2
    assert "cannot compare text with a number" in capsys.readouterr().err
    assert main(["backtest", "close >"]) == 2
    assert "line 1, column 8" in capsys.readouterr().err
