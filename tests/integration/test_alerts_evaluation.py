"""Alert evaluation on the real sample snapshot (PostgreSQL, Redis): the daily run against the snapshot the
event published, live quote batches, watchlist and screen scopes, query alerts, trigger options."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import psycopg
import pytest
from chalice.test import Client

from stockscreen.alerts.events import evaluation_service
from stockscreen.alerts.service import AlertEvaluationService
from stockscreen.db.engine import get_engine
from stockscreen.realtime.messages import Quote, QuoteBatch
from stockscreen.screening import universe
from tests.integration.authkit import assert_error, body, make_user, post, send

pytestmark = [pytest.mark.sample_data, pytest.mark.usefixtures("fresh_limits", "no_other_alerts")]


def _snapshot() -> tuple[int, dict[str, float]]:
    u = universe.get_universe(get_engine())
    t = u.date_index(None)
    close = u.numeric("close")[:, t]
    return u.version, {str(s): float(c) for s, c in zip(u.symbols.tolist(), close.tolist(), strict=True)}


def _alert(client: Client, auth: dict[str, str], rule: dict[str, Any], **options: Any) -> str:
    payload: dict[str, Any] = {"name": rule["type"], "rule": rule}
    if options:
        payload["options"] = options
    resp = post(client, "/alerts", payload, auth)
    assert resp.status_code == 201, resp.body
    return str(body(resp)["id"])


def _fired(result: dict[str, Any]) -> list[tuple[str, str | None]]:
    return sorted((f["alert_id"], f["symbol"]) for f in result["firings"])


def _service() -> AlertEvaluationService:
    return evaluation_service(get_engine())


def test_daily_run_fires_on_edges_follows_watchlists_and_screens(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"], "premium")
    version, close = _snapshot()
    aapl = close["AAPL"]
    above = _alert(
        client, u.auth, {"type": "price_above", "symbol": "AAPL", "price": round(aapl * 0.5, 2)}, trigger="every_time"
    )
    below = _alert(client, u.auth, {"type": "price_below", "symbol": "AAPL", "price": round(aapl * 0.5, 2)})
    crossing = _alert(client, u.auth, {"type": "crossing_up", "symbol": "AAPL", "level": round(aapl * 0.5, 2)})
    once = _alert(client, u.auth, {"type": "price_above", "symbol": "MSFT", "price": 1}, trigger="once")
    wl = body(post(client, "/watchlists", {"name": "alerts"}, u.auth))["id"]
    for s in ("AAPL", "MSFT"):
        assert post(client, f"/watchlists/{wl}/items", {"symbol": s}, u.auth).status_code in (200, 201)
    query = _alert(
        client, u.auth, {"type": "query", "watchlist_id": wl, "query": "close > 0 and volume > 0"}, trigger="every_time"
    )
    screen = body(post(client, "/screens/saved", {"name": "Big", "query": "close > 1T"}, u.auth))["id"]
    enter = _alert(client, u.auth, {"type": "screen_enter", "screen_id": screen})

    svc = _service()
    first = svc.evaluate_daily("evt-1", "run-1", version, 8)
    assert first["recorded"] is True
    assert _fired(first) == sorted(
        [(above, "AAPL"), (once, "MSFT"), (query, "AAPL"), (query, "MSFT")]
    )  # not `below` (false), not `crossing` (never seen below), not the screen (its first membership is the baseline)
    by_alert = {f["alert_id"]: f for f in first["firings"]}
    assert by_alert[above]["value"] == pytest.approx(aapl) and by_alert[above]["level"] == pytest.approx(
        round(aapl * 0.5, 2)
    )
    assert "rose above" in by_alert[above]["message"] and by_alert[above]["details"]["snapshot_version"] == version

    # the same event again: nothing evaluated, nothing recorded
    again = svc.evaluate_daily("evt-1", "run-1", version, 8)
    assert again == {"event_id": "evt-1", "recorded": False, "fired": 0, "firings": []}

    # a new run on the same bar: every condition merely still holds, so nothing fires
    assert _fired(svc.evaluate_daily("evt-2", "run-2", version, 8)) == []
    got = body(client.http.get(f"/alerts/{once}", headers=u.auth))
    assert got["active"] is False and got["completed_at"] is not None and got["fired_count"] == 1
    assert body(client.http.get(f"/alerts/{above}", headers=u.auth))["fired_count"] == 1

    # the watchlist grows: the query alert follows it; the screen now admits everything: entrants
    assert post(client, f"/watchlists/{wl}/items", {"symbol": "XOM"}, u.auth).status_code in (200, 201)
    assert send(client, "PATCH", f"/screens/saved/{screen}", {"query": "close > 0"}, u.auth).status_code == 200
    third = svc.evaluate_daily("evt-3", "run-3", version, 8)
    assert _fired(third) == sorted([(query, "XOM"), (enter, None)])
    entered = next(f for f in third["firings"] if f["alert_id"] == enter)
    assert entered["details"]["entrants"] == sorted(close) and entered["details"]["leavers"] == []
    assert entered["message"].startswith("8 stocks entered Big")
    # unchanged membership: nothing
    assert _fired(svc.evaluate_daily("evt-4", "run-4", version, 8)) == []
    assert {below, crossing}.isdisjoint({a for a, _ in _fired(third)})

    with psycopg.connect(stack_env["DATABASE_URL"].replace("+psycopg", "")) as conn:
        events = conn.execute("SELECT count(*) FROM alert_events WHERE user_id = %s", (u.id,)).fetchone()
        states = conn.execute(
            "SELECT state FROM alert_state WHERE alert_id = %s AND symbol = 'AAPL'", (crossing,)
        ).fetchall()
    assert events == (6,)  # 4 + 0 + 2 + 0
    assert states == [(0,)]  # seen above its level: waiting to be seen below first


def test_query_alerts_are_validated_with_the_screeners_parser(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"], "premium")
    resp = post(
        client, "/alerts", {"rule": {"type": "query", "symbol": "AAPL", "query": "rsi14 < and close > 5"}}, u.auth
    )
    err = assert_error(resp, 400)
    assert err["details"]["line"] == 1 and err["details"]["column"] == 9
    unknown = assert_error(
        post(client, "/alerts", {"rule": {"type": "query", "symbol": "AAPL", "query": "rsi15 < 30"}}, u.auth), 400
    )
    assert "rsi14" in unknown["message"]  # the nearest field is suggested
    both = post(client, "/alerts", {"rule": {"type": "crossing", "symbol": "AAPL", "watchlist_id": None}}, u.auth)
    assert_error(both, 400)
    other = make_user(client, stack_env["DATABASE_URL"], "premium")
    wl = body(post(client, "/watchlists", {"name": "theirs"}, other.auth))["id"]
    assert_error(
        post(client, "/alerts", {"rule": {"type": "query", "watchlist_id": wl, "query": "close > 1"}}, u.auth), 404
    )


def _batch(batch_id: str, prices: dict[str, float], at: dt.datetime) -> QuoteBatch:
    return QuoteBatch(
        batch_id=batch_id,
        source="test",
        asof=at,
        quotes=[Quote(symbol=s, price=p, ts=at, volume=1000) for s, p in prices.items()],
    )


def test_live_batches_fire_once_per_crossing_with_hysteresis(client: Client, stack_env: dict[str, str]) -> None:
    u = make_user(client, stack_env["DATABASE_URL"], "premium")
    _, close = _snapshot()
    level = round(close["JPM"] * 1.02, 2)
    cross = _alert(
        client,
        u.auth,
        {"type": "crossing_up", "symbol": "JPM", "level": level},
        trigger="every_time",
        hysteresis_pct=0.5,
    )
    bar_close = _alert(
        client, u.auth, {"type": "crossing_up", "symbol": "JPM", "level": level}, trigger="once_per_bar_close"
    )
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).isoformat()
    snoozed = _alert(client, u.auth, {"type": "crossing_up", "symbol": "JPM", "level": level}, snoozed_until=future)
    daily = _alert(client, u.auth, {"type": "crossing_up", "symbol": "JPM", "level": level}, trigger="once_per_day")
    svc = _service()
    day = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)  # a Tuesday session
    path = [close["JPM"], level * 1.001, level * 0.999, level * 1.002, level * 0.99, level * 1.01]
    fired = []
    for k, p in enumerate(path):
        result = svc.evaluate_quotes(_batch(f"b{k}", {"JPM": p, "AAPL": close["AAPL"]}, day + dt.timedelta(minutes=k)))
        assert result["recorded"] is True
        fired.append(sorted(a for a, _ in _fired(result)))
    # 1: the crossing; 2-3: noise inside the 0.5% band; 4: back below the band (re-armed); 5: crosses again
    assert fired == [[], sorted([cross, daily]), [], [], [], [cross]]
    every = {a for f in fired for a in f}
    assert bar_close not in every and snoozed not in every
    # the next session: the once-per-day alert may fire again (on a new crossing)
    nxt = day + dt.timedelta(days=1)
    svc.evaluate_quotes(_batch("b6", {"JPM": level * 0.99}, nxt))
    assert sorted(a for a, _ in _fired(svc.evaluate_quotes(_batch("b7", {"JPM": level * 1.01}, nxt)))) == sorted(
        [cross, daily]
    )
    # a redelivered batch is not evaluated again
    assert svc.evaluate_quotes(_batch("b7", {"JPM": level * 1.01}, nxt))["recorded"] is False
    # a new process (state from PostgreSQL) continues where this one stopped: above the level, disarmed
    fresh = _service()
    assert _fired(fresh.evaluate_quotes(_batch("b8", {"JPM": level * 1.03}, nxt))) == []
    got = body(client.http.get(f"/alerts/{cross}", headers=u.auth))
    assert got["fired_count"] == 3 and not math.isnan(float(got["hysteresis_pct"]))
    # the history: per alert (newest first, the values that made it fire) and per user
    hist = body(client.http.get(f"/alerts/{cross}/history?limit=2", headers=u.auth))
    assert hist["count"] == 3 and len(hist["data"]) == 2
    newest = hist["data"][0]
    assert newest["fired_at"].startswith(nxt.date().isoformat()) and newest["source"] == "live"
    assert newest["value"] == pytest.approx(level * 1.01) and newest["level"] == pytest.approx(level)
    assert newest["details"]["batch_id"] == "b7" and hist["data"][0]["id"] > hist["data"][1]["id"]
    assert body(client.http.get("/alerts/history", headers=u.auth))["count"] == 5  # 3 + the daily alert's 2
    stranger = make_user(client, stack_env["DATABASE_URL"], "premium")
    assert_error(client.http.get(f"/alerts/{cross}/history", headers=stranger.auth), 404)
    assert body(client.http.get("/alerts/history", headers=stranger.auth))["count"] == 0


def test_the_demo_accounts_alerts_fire_on_the_replayed_session(client: Client, stack_env: dict[str, str]) -> None:
    from devstack.seed import ensure_demo_alerts

    u = make_user(client, stack_env["DATABASE_URL"], "premium")
    ids = ensure_demo_alerts(u.email)
    assert len(ids) == 2 and ensure_demo_alerts(u.email) == []  # once
    with psycopg.connect(stack_env["DATABASE_URL"].replace("+psycopg", "")) as conn:
        bars = conn.execute(
            "SELECT DISTINCT ON (s.symbol) s.symbol, b.low, b.high FROM daily_bars b JOIN securities s "
            "ON s.id = b.security_id WHERE s.symbol IN ('AAPL', 'MSFT') ORDER BY s.symbol, b.date DESC"
        ).fetchall()
    svc = _service()
    at = dt.datetime(2026, 12, 3, 15, tzinfo=dt.UTC)
    low = {s: float(lo) for s, lo, _ in bars}
    high = {s: float(hi) for s, _, hi in bars}
    assert svc.evaluate_quotes(_batch("demo-0", low, at))["fired"] == 0  # below the middle: armed
    fired = svc.evaluate_quotes(_batch("demo-1", high, at + dt.timedelta(minutes=1)))
    assert sorted(f["alert_id"] for f in fired["firings"]) == sorted(ids)
    assert svc.evaluate_quotes(_batch("demo-2", low, at + dt.timedelta(minutes=2)))["fired"] == 0  # once a day
