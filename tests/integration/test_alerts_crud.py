"""Alert definitions and notifications through chalice.test.Client: every type, validation, quotas, ownership."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from chalice.test import Client

from devstack.lambdas import load_api
from tests.integration.authkit import assert_error, body, load_sample, make_user, notify, post, send

pytestmark = [pytest.mark.sample_data, pytest.mark.usefixtures("fresh_limits")]


RULES: list[dict[str, Any]] = [
    {"type": "price_above", "symbol": "aapl", "price": 180},
    {"type": "price_below", "symbol": "AAPL", "price": 150.5},
    {"type": "change_pct", "symbol": "MSFT", "threshold_pct": 5, "direction": "down"},
    {"type": "crosses_sma", "symbol": "MSFT", "period": 200, "direction": "below"},
    {"type": "rsi", "symbol": "XOM", "threshold": 30, "direction": "below"},
    {"type": "volume_spike", "symbol": "XOM", "multiple": 3},
    {"type": "high_52w", "symbol": "AAPL"},
    {"type": "low_52w", "symbol": "AAPL"},
    {"type": "screen_enter", "screen_id": str(uuid.uuid4())},
    {"type": "screen_leave", "screen_id": str(uuid.uuid4())},
]


def test_every_alert_type_round_trips(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"], "premium")
    created = []
    for rule in RULES:
        if "screen_id" in rule:  # screen alerts name one of the caller's own saved screens
            saved = post(client, "/screens/saved", {"name": rule["type"], "query": "close > 0"}, u.auth)
            rule = {**rule, "screen_id": body(saved)["id"]}
        resp = post(client, "/alerts", {"name": rule["type"], "rule": rule}, u.auth)
        assert resp.status_code == 201, (rule, resp.body)
        got = body(resp)
        expected = {**rule, **({"symbol": rule["symbol"].upper()} if "symbol" in rule else {})}
        assert {k: got["rule"][k] for k in expected} == expected
        created.append(got)
    listed = body(client.http.get("/alerts?limit=100", headers=u.auth))
    assert listed["count"] == len(RULES) and [a["id"] for a in listed["data"]] == [a["id"] for a in created]
    one = created[0]["id"]
    assert body(client.http.get(f"/alerts/{one}", headers=u.auth))["rule"]["price"] == 180
    patched = body(send(client, "PATCH", f"/alerts/{one}", {"active": False, "name": "paused"}, u.auth))
    assert patched["active"] is False and patched["name"] == "paused" and patched["rule"]["price"] == 180
    new_rule = {"type": "price_below", "symbol": "MSFT", "price": 10}
    assert body(send(client, "PATCH", f"/alerts/{one}", {"rule": new_rule}, u.auth))["rule"] == new_rule
    assert body(client.http.get("/alerts?active=false", headers=u.auth))["count"] == 1
    assert send(client, "DELETE", f"/alerts/{one}", None, u.auth).status_code == 204
    assert_error(client.http.get(f"/alerts/{one}", headers=u.auth), 404)


@pytest.mark.parametrize(
    "rule",
    [
        {"type": "price_above", "symbol": "AAPL"},
        {"type": "price_above", "symbol": "AAPL", "price": -1},
        {"type": "crosses_sma", "symbol": "AAPL", "period": 7, "direction": "below"},
        {"type": "rsi", "symbol": "AAPL", "threshold": 130, "direction": "above"},
        {"type": "volume_spike", "symbol": "AAPL", "multiple": 0.5},
        {"type": "screen_enter", "screen_id": "nope"},
        {"type": "teleport", "symbol": "AAPL"},
        {"type": "high_52w", "symbol": "AAPL", "extra": 1},
    ],
)
def test_bad_rules_are_400(client: Client, stack_env: dict[str, str], rule: dict[str, Any]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"])
    assert_error(post(client, "/alerts", {"rule": rule}, u.auth), 400, "validation_error")


def test_unknown_symbol_is_400(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"])
    err = assert_error(post(client, "/alerts", {"rule": {"type": "high_52w", "symbol": "ZZZZ"}}, u.auth), 400)
    assert "ZZZZ" in err["message"]


def test_free_plan_has_five_active_alerts(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"])
    rule = {"type": "high_52w", "symbol": "AAPL"}
    ids = [body(post(client, "/alerts", {"rule": rule}, u.auth))["id"] for _ in range(5)]
    err = assert_error(post(client, "/alerts", {"rule": rule}, u.auth), 403, "forbidden")
    assert err["details"] == {"quota": "active_alerts", "limit": 5, "used": 5, "role": "free"}
    # Inactive alerts do not count; re-activating one over the quota is refused.
    paused = body(post(client, "/alerts", {"rule": rule, "active": False}, u.auth))
    assert_error(send(client, "PATCH", f"/alerts/{paused['id']}", {"active": True}, u.auth), 403)
    send(client, "PATCH", f"/alerts/{ids[0]}", {"active": False}, u.auth)
    assert body(send(client, "PATCH", f"/alerts/{paused['id']}", {"active": True}, u.auth))["active"] is True


def test_alerts_are_private(client: Client, stack_env: dict[str, str]) -> None:
    a = make_user(client, stack_env["DATABASE_URL"])
    b = make_user(client, stack_env["DATABASE_URL"])
    alert = body(post(client, "/alerts", {"rule": {"type": "low_52w", "symbol": "XOM"}}, a.auth))
    assert_error(client.http.get(f"/alerts/{alert['id']}", headers=b.auth), 404)
    assert_error(send(client, "PATCH", f"/alerts/{alert['id']}", {"active": False}, b.auth), 404)
    assert_error(send(client, "DELETE", f"/alerts/{alert['id']}", None, b.auth), 404)
    assert body(client.http.get("/alerts", headers=b.auth))["count"] == 0
    assert_error(client.http.get("/alerts"), 401)


def test_notifications_list_and_mark_read(client: Client, stack_env: dict[str, str]) -> None:
    a = make_user(client, stack_env["DATABASE_URL"])
    b = make_user(client, stack_env["DATABASE_URL"])
    ids = [notify(stack_env["DATABASE_URL"], a.id, "alert", f"AAPL above {p}", {"price": p}) for p in (1, 2, 3)]
    got = body(client.http.get("/notifications", headers=a.auth))
    assert got["count"] == 3 and got["unread"] == 3 and [n["id"] for n in got["data"]] == list(reversed(ids))
    assert body(client.http.get("/notifications?limit=1&offset=1", headers=a.auth))["data"][0]["id"] == ids[1]
    read = body(post(client, f"/notifications/{ids[0]}/read", b"", a.auth))
    assert read["read_at"] is not None
    assert body(client.http.get("/notifications?unread=true", headers=a.auth))["count"] == 2
    assert_error(post(client, f"/notifications/{ids[1]}/read", b"", b.auth), 404)
    assert_error(post(client, "/notifications/abc/read", b"", a.auth), 404)
    assert body(post(client, "/notifications/read", b"", a.auth)) == {"marked": 2}
    assert body(client.http.get("/notifications", headers=a.auth))["unread"] == 0


def test_screen_alerts_need_the_callers_own_saved_screen(client: Client, stack_env: dict[str, str]) -> None:
    owner = make_user(client, stack_env["DATABASE_URL"], "free")
    other = make_user(client, stack_env["DATABASE_URL"], "free")
    screen = body(post(client, "/screens/saved", {"name": "mine", "query": "close > 10"}, owner.auth))["id"]
    for kind in ("screen_enter", "screen_leave"):
        rule = {"type": kind, "screen_id": screen}
        assert post(client, "/alerts", {"rule": rule}, owner.auth).status_code == 201
        err = assert_error(post(client, "/alerts", {"rule": rule}, other.auth), 404, "not_found")
        assert screen in err["message"]
        missing = {"type": kind, "screen_id": str(uuid.uuid4())}
        assert_error(post(client, "/alerts", {"rule": missing}, owner.auth), 404, "not_found")
    # changing an existing alert to watch somebody else's screen is refused the same way
    mine = body(post(client, "/alerts", {"rule": {"type": "high_52w", "symbol": "AAPL"}}, other.auth))["id"]
    patched = send(
        client, "PATCH", f"/alerts/{mine}", {"rule": {"type": "screen_enter", "screen_id": screen}}, other.auth
    )
    assert_error(patched, 404, "not_found")
    # a deleted screen cannot be watched any more
    assert send(client, "DELETE", f"/screens/saved/{screen}", None, owner.auth).status_code == 204
    assert_error(post(client, "/alerts", {"rule": {"type": "screen_leave", "screen_id": screen}}, owner.auth), 404)


def test_screen_alert_with_a_malformed_screen_id_is_a_404(stack_env: dict[str, str]) -> None:
    """Found by schemathesis: a screen id that is no UUID was a 500."""
    from chalice.test import Client

    from tests.integration.authkit import body, make_user, send

    load_sample(stack_env)
    with Client(load_api()) as c:
        user = make_user(c, stack_env["DATABASE_URL"], "premium")
        resp = send(c, "POST", "/alerts", {"rule": {"type": "screen_enter", "screen_id": "0" * 36}}, user.auth)
    assert resp.status_code == 404 and body(resp)["error"]["code"] == "not_found"


def test_watchlist_and_screen_alerts_have_their_own_quota(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"], "free")
    wl = body(post(client, "/watchlists", {"name": "quota"}, u.auth))["id"]
    rule = {"type": "crossing_up", "watchlist_id": wl, "other": "sma50"}
    for _ in range(2):
        assert post(client, "/alerts", {"rule": rule}, u.auth).status_code == 201
    err = assert_error(post(client, "/alerts", {"rule": rule}, u.auth), 403)
    assert err["details"] == {"quota": "watchlist_alerts", "limit": 2, "used": 2, "role": "free"}
    # a paused one can be created; resuming it is then refused; a single-symbol alert is still fine
    paused = body(post(client, "/alerts", {"rule": rule, "active": False}, u.auth))["id"]
    assert_error(send(client, "PATCH", f"/alerts/{paused}", {"active": True}, u.auth), 403)
    sym = post(client, "/alerts", {"rule": {"type": "crossing_up", "symbol": "AAPL", "level": 100}}, u.auth)
    assert sym.status_code == 201
    # turning the single-symbol alert into a watchlist alert counts too
    patched = send(client, "PATCH", f"/alerts/{body(sym)['id']}", {"rule": rule}, u.auth)
    assert assert_error(patched, 403)["details"]["quota"] == "watchlist_alerts"


@pytest.mark.usefixtures("no_other_alerts")
def test_the_live_poller_fetches_the_symbols_of_armed_alerts(
    client: Client, stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only alerts that can fire now create demand: paused and snoozed ones do not."""
    from sqlalchemy import create_engine

    from stockscreen.alerts.rules import AlertRuleService
    from stockscreen.core.config import quote_settings
    from stockscreen.db.engine import normalise_url
    from stockscreen.realtime.connections import connection_registry
    from stockscreen.realtime.poller import demand_sources

    monkeypatch.setenv("WS_MANAGEMENT_URL", "http://127.0.0.1:9")
    quote_settings.cache_clear()
    u = make_user(client, stack_env["DATABASE_URL"], "premium")
    armed = body(post(client, "/alerts", {"rule": {"type": "price_above", "symbol": "JPM", "price": 1e6}}, u.auth))
    paused = body(post(client, "/alerts", {"rule": {"type": "price_below", "symbol": "XOM", "price": 1}}, u.auth))
    send(client, "PATCH", f"/alerts/{paused['id']}", {"active": False}, u.auth)
    engine = create_engine(normalise_url(stack_env["DATABASE_URL"]))
    try:
        service = AlertRuleService.from_engine(engine, lambda: None)  # type: ignore[arg-type,return-value]
        assert service.armed_symbols() == [armed["rule"]["symbol"]] == ["JPM"]
        sources = {s.name: s for s in demand_sources(quote_settings(), connection_registry(), engine)}
        assert "JPM" in set(sources["alerts"].read())
    finally:
        engine.dispose()
        quote_settings.cache_clear()
