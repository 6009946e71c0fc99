"""GET /api/securities/{symbol}/intraday on real PostgreSQL and Redis: minute bars written by the
poller's repository, aggregated to 5-minute candles in SQL, and the market session from the calendar."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import redis
from chalice.test import Client

from stockscreen.core.clients import reset_clients
from stockscreen.db.engine import get_engine
from stockscreen.market.service import MarketService
from stockscreen.realtime.intraday import IntradayService
from stockscreen.realtime.quotes import quote_key
from stockscreen.realtime.repository import IntradayRepository
from stockscreen.realtime.sources import IntradayQuote
from tests.integration.authkit import openapi_document, response_validator

pytestmark = pytest.mark.sample_data

#: a sample symbol no other test writes minute bars or live quotes for
SYM = "LNT"
UTC = dt.UTC


def _day() -> dt.date:
    """Yesterday (UTC): its partition exists (intraday_bars_prepare makes yesterday's to tomorrow's)."""
    return dt.datetime.now(UTC).date() - dt.timedelta(days=1)


def _at(hh: int, mm: int) -> dt.datetime:
    return dt.datetime.combine(_day(), dt.time(hh, mm), tzinfo=UTC)


#: (minute, first price, second price) for 14:30 ... 14:41 UTC: twelve one-minute bars
TAPE = [(_at(14, 30 + i), 60.0 + i, 60.5 + i * 0.9) for i in range(12)]


def _write_tape(engine: Any) -> None:
    repo = IntradayRepository(engine)
    repo.prepare()
    volume = 1000
    for minute, first, second in TAPE:
        for k, price in enumerate((first, second)):
            volume += 100 * (k + 1)
            repo.write([IntradayQuote(SYM, price, minute + dt.timedelta(seconds=10 + 30 * k), volume=volume)])


@pytest.fixture(scope="module")
def tape(client: Client, stack_env: dict[str, str]) -> Iterator[None]:
    reset_clients()
    with psycopg.connect(stack_env["DATABASE_URL"].replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("DELETE FROM intraday_bars WHERE symbol = %s", (SYM,))
    redis.Redis.from_url(stack_env["REDIS_URL"]).delete(quote_key(SYM))
    _write_tape(get_engine())
    yield


def _get(client: Client, path: str) -> tuple[int, Any, dict[str, str]]:
    resp = client.http.get(path)
    return resp.status_code, json.loads(resp.body) if resp.body else None, resp.headers


def _since(t: dt.datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def test_one_minute_candles_are_the_minute_bars_with_cache_headers(client: Client, tape: None) -> None:
    status, body, headers = _get(client, f"/securities/{SYM.lower()}/intraday?interval=1m&since={_since(TAPE[0][0])}")
    assert status == 200, body
    assert body["symbol"] == SYM and body["interval"] == "1m"
    data = body["data"]
    assert [dt.datetime.fromisoformat(c["time"]) for c in data] == [m for m, _, _ in TAPE]
    for candle, (_, first, second) in zip(data, TAPE, strict=True):
        assert candle["open"] == first and candle["close"] == second
        assert candle["high"] == max(first, second) and candle["low"] == min(first, second)
    # the day's cumulative volume grew by 100 + 200 within each minute after the first
    assert [c["volume"] for c in data[1:]] == [300] * 11
    assert headers["Cache-Control"] == "public, max-age=5" and headers["ETag"]
    response_validator(openapi_document(), "GET", "/securities/{symbol}/intraday", 200).validate(body)


def test_five_minute_candles_are_aggregated_from_the_minutes(client: Client, tape: None) -> None:
    status, body, _ = _get(client, f"/securities/{SYM}/intraday?interval=5m&since={_since(TAPE[0][0])}")
    assert status == 200, body
    data = body["data"]
    assert [c["time"] for c in data] == [_at(14, 30).isoformat(), _at(14, 35).isoformat(), _at(14, 40).isoformat()]
    for candle, part in zip(data, (TAPE[0:5], TAPE[5:10], TAPE[10:12]), strict=True):
        prices = [p for _, a, b in part for p in (a, b)]
        assert candle["open"] == part[0][1] and candle["close"] == part[-1][2]
        assert candle["high"] == max(prices) and candle["low"] == min(prices)
    assert data[1]["volume"] == 5 * 300

    # `since` inside a bucket starts from that bucket; `limit` keeps the latest candles
    status, body, _ = _get(client, f"/securities/{SYM}/intraday?interval=5m&since={_since(_at(14, 37))}")
    assert [c["time"] for c in body["data"]] == [_at(14, 35).isoformat(), _at(14, 40).isoformat()]
    status, body, _ = _get(client, f"/securities/{SYM}/intraday?interval=1m&since={_since(TAPE[0][0])}&limit=2")
    assert [dt.datetime.fromisoformat(c["time"]) for c in body["data"]] == [TAPE[-2][0], TAPE[-1][0]]


def test_a_time_without_an_offset_is_utc(client: Client, tape: None) -> None:
    naive = _at(14, 40).replace(tzinfo=None).isoformat()
    status, body, _ = _get(client, f"/securities/{SYM}/intraday?since={naive}")
    assert status == 200 and [dt.datetime.fromisoformat(c["time"]) for c in body["data"]] == [
        _at(14, 40),
        _at(14, 41),
    ]


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/securities/ZZZZ/intraday", 404, "not_found"),
        (f"/securities/{SYM}/intraday?interval=2m", 400, "validation_error"),
        (f"/securities/{SYM}/intraday?interval=1d", 400, "validation_error"),
        (f"/securities/{SYM}/intraday?since=yesterday", 400, "validation_error"),
        (f"/securities/{SYM}/intraday?limit=0", 400, "validation_error"),
        (f"/securities/{SYM}/intraday?limit=5001", 400, "validation_error"),
        (f"/securities/{SYM}/intraday?symbol=AAPL", 400, "validation_error"),
    ],
)
def test_bad_requests_get_the_uniform_error(client: Client, tape: None, path: str, status: int, code: str) -> None:
    got, body, _ = _get(client, path)
    assert got == status, body
    assert body["error"]["code"] == code and body["error"]["message"] and body["error"]["request_id"]


def _service(now: dt.datetime, feed: str = "stooq") -> IntradayService:
    engine = get_engine()
    return IntradayService(IntradayRepository(engine), MarketService.from_engine(engine), feed=feed, now=lambda: now)


def test_closed_market_says_why_when_it_opens_and_the_last_price(tape: None, stack_env: dict[str, str]) -> None:
    saturday = dt.datetime(2026, 12, 5, 15, 0, tzinfo=UTC)
    session = _service(saturday).session(SYM)
    assert not session.is_open and session.reason == "weekend"
    assert session.next_open == dt.datetime(2026, 12, 7, 14, 30, tzinfo=UTC)  # Monday 09:30 New York
    # no live quote: the last minute bar's close, at the time its last quote was written
    assert session.last_price == TAPE[-1][2]
    assert session.last_price_at is not None and session.last_price_at > TAPE[-1][0]

    # a live quote in Redis is the last price
    r = redis.Redis.from_url(stack_env["REDIS_URL"])
    quoted = dt.datetime(2026, 12, 4, 20, 59, 58, tzinfo=UTC)
    r.hset(quote_key(SYM), mapping={"symbol": SYM, "price": "61.25", "ts": quoted.isoformat()})
    try:
        session = _service(saturday).session(SYM)
        assert (session.last_price, session.last_price_at) == (61.25, quoted)
    finally:
        r.delete(quote_key(SYM))

    # Thanksgiving, then a trading day before the open, during the session and after the close
    thanksgiving = _service(dt.datetime(2026, 11, 26, 15, 0, tzinfo=UTC)).session(SYM)
    assert thanksgiving.reason == "Thanksgiving Day"
    assert thanksgiving.next_open == dt.datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
    early = _service(dt.datetime(2026, 12, 3, 13, 0, tzinfo=UTC)).session(SYM)
    assert (early.reason, early.next_open) == ("before the open", dt.datetime(2026, 12, 3, 14, 30, tzinfo=UTC))
    during = _service(dt.datetime(2026, 12, 3, 15, 0, tzinfo=UTC)).session(SYM)
    assert during.is_open and during.reason is None and during.next_open is None
    late = _service(dt.datetime(2026, 12, 3, 21, 0, tzinfo=UTC)).session(SYM)
    assert (late.reason, late.next_open) == ("after the close", dt.datetime(2026, 12, 4, 14, 30, tzinfo=UTC))


def test_without_minute_bars_the_last_price_is_the_last_daily_close(client: Client, tape: None) -> None:
    session = _service(dt.datetime(2026, 12, 5, 15, 0, tzinfo=UTC)).session("DHR")
    status, bars, _ = _get(client, "/securities/DHR/bars?limit=1")
    assert status == 200
    last = bars["data"][-1]
    assert session.last_price == last["close"]
    # stamped with that day's close, 16:00 New York
    assert session.last_price_at == dt.datetime.fromisoformat(f"{last['date']}T21:00:00+00:00")


def test_the_replay_feed_is_always_open_like_its_poller(
    client: Client, tape: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import deps

    monkeypatch.setenv("QUOTE_PROVIDER", "replay")
    reset_clients()
    deps.intraday.cache_clear()
    try:
        status, body, _ = _get(client, f"/securities/{SYM}/intraday?interval=5m&limit=3")
        assert status == 200
        assert body["session"]["is_open"] is True and body["session"]["feed"] == "replay"
        assert body["session"]["reason"] is None and body["session"]["next_open"] is None
        assert body["session"]["last_price"] == TAPE[-1][2]
    finally:
        monkeypatch.delenv("QUOTE_PROVIDER")
        reset_clients()
        deps.intraday.cache_clear()
    assert not _service(dt.datetime(2026, 12, 5, 15, 0, tzinfo=UTC), feed="stooq").session(SYM).is_open


def test_the_chart_indicator_fixture_is_what_the_screener_reports(client: Client) -> None:
    """The SPA's indicators are checked (Vitest) against this fixture; its last day is the snapshot's."""
    from devstack import indicator_fixture

    fixture = json.loads(indicator_fixture.FIXTURE.read_text())
    last = fixture["expected"][-1]
    status, body, _ = _get(client, f"/securities/{fixture['symbol']}")
    assert status == 200
    snap = body["snapshot"]
    assert snap["as_of"] == last["date"]
    for field, want in last["values"].items():
        assert snap[field] == pytest.approx(want, rel=1e-9), field
