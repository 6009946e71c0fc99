"""The screener under the policy table: free callers get the basic fields, CSV export and backtests are premium."""

from __future__ import annotations

import json

import pytest
from chalice.test import Client

from tests.integration.authkit import body, clear_rate_limits, make_user, send

pytestmark = pytest.mark.sample_data


def _run(client: Client, headers: dict[str, str], payload: dict, fmt: str = "") -> object:
    return send(client, "POST", "/screens/run" + (f"?format={fmt}" if fmt else ""), payload, headers)


@pytest.mark.parametrize("role", ["anonymous", "free"])
def test_basic_fields_are_open_premium_fields_are_refused_by_name(
    client: Client, stack_env: dict[str, str], role: str
) -> None:
    clear_rate_limits(stack_env["REDIS_URL"])
    headers = {} if role == "anonymous" else make_user(client, stack_env["DATABASE_URL"], role).auth
    ok = _run(client, headers, {"query": "market_cap > 100B and rsi14 < 70", "sort": "market_cap"})
    assert ok.status_code == 200 and body(ok)["count"] >= 1
    refused = _run(client, headers, {"query": "macd_hist > 0 and beta < 1.5"})
    assert refused.status_code == 403
    err = body(refused)["error"]
    assert err["code"] == "forbidden" and err["details"]["fields"] == ["beta", "macd_hist"]
    assert "premium" in err["message"]
    by_sort = _run(client, headers, {"sort": "atr14"})
    assert by_sort.status_code == 403 and body(by_sort)["error"]["details"]["fields"] == ["atr14"]
    csv = _run(client, headers, {"query": "close > 0"}, fmt="csv")
    assert csv.status_code == 403 and body(csv)["error"]["details"]["feature"] == "export.csv"


def test_premium_gets_every_field_and_csv(client: Client, stack_env: dict[str, str]) -> None:
    clear_rate_limits(stack_env["REDIS_URL"])
    user = make_user(client, stack_env["DATABASE_URL"], "premium")
    resp = _run(client, user.auth, {"query": "macd_hist > -100 and beta < 5", "columns": ["symbol", "beta"]})
    assert resp.status_code == 200
    csv = _run(client, user.auth, {"query": "close > 0", "columns": ["symbol", "close"]}, fmt="csv")
    assert csv.status_code == 200
    text = csv.body.decode() if isinstance(csv.body, bytes) else str(csv.body)
    assert text.splitlines()[0].startswith("symbol") and len(text.splitlines()) > 1
    assert json.dumps(body(resp)["columns"]) == json.dumps(["symbol", "beta"])
