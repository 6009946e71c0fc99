"""Watchlists through chalice.test.Client: CRUD, reorder, items with live quote fields, quotas, ownership."""

from __future__ import annotations

import datetime as dt

import pytest
import redis
from chalice.test import Client

from tests.integration.authkit import assert_error, body, make_user, post, send

pytestmark = [pytest.mark.sample_data, pytest.mark.usefixtures("fresh_limits")]


def test_watchlist_crud_and_items_with_quotes(client: Client, stack_env: dict[str, str]) -> None:
    from stockscreen.realtime.messages import Quote
    from stockscreen.realtime.quotes import put_quotes, quote_key

    u = make_user(client, stack_env["DATABASE_URL"])
    resp = post(client, "/watchlists", {"name": "Tech"}, u.auth)
    assert resp.status_code == 201, resp.body
    wl = body(resp)
    assert wl["name"] == "Tech" and wl["items"] == [] and wl["position"] == 0
    assert_error(post(client, "/watchlists", {"name": "Tech"}, u.auth), 409, "conflict")
    for sym in ("aapl", "MSFT", "XOM"):
        assert post(client, f"/watchlists/{wl['id']}/items", {"symbol": sym}, u.auth).status_code == 201
    assert_error(post(client, f"/watchlists/{wl['id']}/items", {"symbol": "AAPL"}, u.auth), 409)
    assert_error(post(client, f"/watchlists/{wl['id']}/items", {"symbol": "NOPE"}, u.auth), 400)
    r = redis.Redis.from_url(stack_env["REDIS_URL"], decode_responses=True)
    r.delete(quote_key("MSFT"), quote_key("XOM"))
    put_quotes(
        [Quote(symbol="AAPL", price=200.5, change_pct=-1.25, volume=42, ts=dt.datetime(2018, 2, 8, tzinfo=dt.UTC))]
    )
    try:
        got = body(client.http.get(f"/watchlists/{wl['id']}", headers=u.auth))
    finally:
        r.delete(quote_key("AAPL"))
    items = {i["symbol"]: i for i in got["items"]}
    assert [i["symbol"] for i in got["items"]] == ["AAPL", "MSFT", "XOM"]
    assert items["AAPL"]["price"] == 200.5 and items["AAPL"]["quote_source"] == "live" and items["AAPL"]["volume"] == 42
    assert items["MSFT"]["quote_source"] == "snapshot" and items["MSFT"]["quote_ts"] == "2018-02-07"
    assert items["MSFT"]["name"].startswith("Microsoft")
    # Reorder items, then remove one.
    resp = send(client, "PUT", f"/watchlists/{wl['id']}/items/order", {"symbols": ["xom", "AAPL", "MSFT"]}, u.auth)
    assert resp.status_code == 200, resp.body
    assert [i["symbol"] for i in body(resp)["items"]] == ["XOM", "AAPL", "MSFT"]
    assert_error(send(client, "PUT", f"/watchlists/{wl['id']}/items/order", {"symbols": ["XOM"]}, u.auth), 400)
    assert send(client, "DELETE", f"/watchlists/{wl['id']}/items/aapl", None, u.auth).status_code == 204
    assert_error(send(client, "DELETE", f"/watchlists/{wl['id']}/items/AAPL", None, u.auth), 404)
    # Rename and list.
    assert body(send(client, "PATCH", f"/watchlists/{wl['id']}", {"name": "Big tech"}, u.auth))["name"] == "Big tech"
    listed = body(client.http.get("/watchlists", headers=u.auth))
    assert listed["count"] == 1 and listed["data"][0]["item_count"] == 2
    assert send(client, "DELETE", f"/watchlists/{wl['id']}", None, u.auth).status_code == 204
    assert_error(client.http.get(f"/watchlists/{wl['id']}", headers=u.auth), 404)


def test_reorder_watchlists_and_pagination(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"], "premium")
    ids = [body(post(client, "/watchlists", {"name": f"L{i}"}, u.auth))["id"] for i in range(4)]
    resp = send(client, "PUT", "/watchlists/order", {"ids": list(reversed(ids))}, u.auth)
    assert resp.status_code == 200, resp.body
    assert [w["name"] for w in body(resp)["data"]] == ["L3", "L2", "L1", "L0"]
    page = body(client.http.get("/watchlists?limit=2&offset=1", headers=u.auth))
    assert page["count"] == 4 and [w["name"] for w in page["data"]] == ["L2", "L1"]
    assert_error(send(client, "PUT", "/watchlists/order", {"ids": ids[:2]}, u.auth), 400)
    assert_error(send(client, "PUT", "/watchlists/order", {"ids": [*ids, ids[0]]}, u.auth), 400)
    assert_error(client.http.get("/watchlists?limit=1000", headers=u.auth), 400, "validation_error")


def test_free_plan_quota_and_ownership(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"])
    other = make_user(client, stack_env["DATABASE_URL"])
    for i in range(5):
        assert post(client, "/watchlists", {"name": f"W{i}"}, u.auth).status_code == 201
    err = assert_error(post(client, "/watchlists", {"name": "one too many"}, u.auth), 403, "forbidden")
    assert err["details"]["quota"] == "watchlists" and err["details"]["limit"] == 5
    wl = body(client.http.get("/watchlists", headers=u.auth))["data"][0]["id"]
    assert_error(client.http.get(f"/watchlists/{wl}", headers=other.auth), 404)
    assert_error(send(client, "PATCH", f"/watchlists/{wl}", {"name": "mine"}, other.auth), 404)
    assert_error(post(client, f"/watchlists/{wl}/items", {"symbol": "AAPL"}, other.auth), 404)
    assert_error(send(client, "DELETE", f"/watchlists/{wl}", None, other.auth), 404)
    assert_error(client.http.get("/watchlists/not-a-uuid", headers=u.auth), 404)
    assert_error(post(client, "/watchlists", {"name": ""}, u.auth), 400)
    assert_error(post(client, "/watchlists", {"name": "x", "user_id": other.id}, u.auth), 400)
