"""Quote sources without a network: the replay tape, Stooq's quote CSV, the rate limit, market hours."""

from __future__ import annotations

import datetime as dt

import pytest

from stockscreen.market.calendar import is_market_open, market_closed_reason
from stockscreen.realtime.sources import (
    IntradayQuote,
    QuoteSourceError,
    QuoteSourceRateLimited,
    RateLimiter,
    ReplayQuotes,
    ReplaySession,
    StooqQuotes,
)
from tests.conftest import FIXTURES

AAPL = ReplaySession(163.03, 163.085, 163.4, 159.0685, 159.54, 51_608_580)


def test_replay_walks_the_last_session() -> None:
    feed = ReplayQuotes(lambda symbols: {})
    feed._sessions["AAPL"] = AAPL
    prices = [q.price for t in range(ReplayQuotes.STEPS_PER_SESSION) if (q := feed.quote("AAPL", t))]
    assert len(prices) == ReplayQuotes.STEPS_PER_SESSION
    assert all(159.06 <= p <= 163.41 for p in prices)
    assert min(prices) < 160 and max(prices) > 162.5  # it visits both extremes
    last = feed.quote("AAPL", ReplayQuotes.STEPS_PER_SESSION - 1)
    assert last is not None and abs(last.price - 159.54) < 0.2
    assert last.change_pct is not None and round(last.change_pct) == -2
    feed._sessions["NEW"] = None
    assert feed.quote("NEW", 0) is None


def test_replay_fetch_looks_sessions_up_once_and_reports_symbols_without_bars() -> None:
    calls: list[list[str]] = []

    def lookup(symbols: list[str]) -> dict[str, ReplaySession]:
        calls.append(symbols)
        return {"AAPL": AAPL} if "AAPL" in symbols else {}

    feed = ReplayQuotes(lookup)
    first = feed.fetch(["aapl", "ZZZ"])
    second = feed.fetch(["AAPL", "ZZZ"])
    assert calls == [["AAPL", "ZZZ"]]
    assert [q.symbol for q in first.quotes] == ["AAPL"] and first.failed == {"ZZZ": "no daily bars to replay"}
    assert second.quotes[0].volume is not None and first.quotes[0].volume is not None
    assert second.quotes[0].volume >= first.quotes[0].volume  # the day's volume only grows along the tape
    q = second.quotes[0]
    assert q.low is not None and q.high is not None and q.low <= q.price <= q.high


def test_stooq_parses_the_recorded_answer_and_reports_n_d_and_missing_symbols() -> None:
    stooq = StooqQuotes("https://stooq.com/q/l/")
    body = (FIXTURES / "stooq" / "quotes.csv").read_text()
    result = stooq.parse(body, ["AAPL", "MSFT", "AOS", "IBM"])
    assert [q.symbol for q in result.quotes] == ["AAPL", "MSFT"]
    aapl = result.quotes[0]
    assert aapl.price == 159.54 and aapl.high == 163.4 and aapl.low == 159.0685 and aapl.volume == 51_608_580
    assert aapl.ts == dt.datetime(2018, 2, 7, 21, 0, 4, tzinfo=dt.UTC)  # 22:00:04 Warsaw (CET) = 21:00:04 UTC
    assert aapl.prev_close is None and aapl.change_pct is None
    assert result.failed["AOS"].endswith("(N/D)")
    assert result.failed["IBM"] == "missing from stooq's answer"


def test_stooq_urls_carry_many_tickers() -> None:
    stooq = StooqQuotes("https://stooq.com/q/l/")
    assert stooq.url(["AAPL", "BRK.B"]) == "https://stooq.com/q/l/?s=aapl.us+brk-b.us&f=sd2t2ohlcv&h&e=csv"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("<html>maintenance</html>", QuoteSourceError),
        ("", QuoteSourceError),
        ("Exceeded the daily hits limit", QuoteSourceRateLimited),
    ],
)
def test_stooq_bodies_that_are_not_quotes_raise(body: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        StooqQuotes("https://stooq.com/q/l/").parse(body, ["AAPL"])


def test_a_malformed_row_fails_only_its_symbol() -> None:
    body = (
        "Symbol,Date,Time,Open,High,Low,Close,Volume\n"
        "AAPL.US,2018-02-07,22:00:00,1,2,0.5,abc,10\n"
        "MSFT.US,2018-02-07,22:00:00,1,2,0.5,1.5,10\n"
    )
    result = StooqQuotes("https://stooq.com/q/l/").parse(body, ["AAPL", "MSFT"])
    assert [q.symbol for q in result.quotes] == ["MSFT"]
    assert "malformed stooq row" in result.failed["AAPL"]


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


def test_rate_limiter_spaces_requests_beyond_the_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=30, burst=2, clock=clock, sleep=clock.sleep)
    assert all(limiter.acquire() for _ in range(5))
    assert clock.slept == pytest.approx([2.0, 2.0, 2.0])  # 30 a minute: one every 2 s after the burst of 2
    assert limiter.cycle_seconds(5) == pytest.approx(10.0)  # sustained: 5 requests at one every 2 s


def test_rate_limiter_refuses_a_wait_past_the_deadline_and_pauses_after_429() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=1, clock=clock, sleep=clock.sleep)
    assert limiter.acquire(deadline=clock.t + 0.5)
    assert not limiter.acquire(deadline=clock.t + 0.5)  # the next token is 1 s away
    assert clock.slept == []
    limiter.pause(10)
    assert not limiter.acquire(deadline=clock.t + 9)
    assert limiter.acquire(deadline=clock.t + 11)
    assert sum(clock.slept) == pytest.approx(10.0)


def test_change_pct_is_against_the_previous_close() -> None:
    q = IntradayQuote("AAPL", 110.0, dt.datetime(2026, 12, 3, 15, tzinfo=dt.UTC), prev_close=100.0)
    assert q.change_pct == 10.0
    wire = q.to_quote()
    assert wire.symbol == "AAPL" and wire.price == 110.0 and wire.change_pct == 10.0


@pytest.mark.parametrize(
    ("at", "reason"),
    [
        (dt.datetime(2026, 12, 3, 14, 30, tzinfo=dt.UTC), None),  # Thursday 09:30 New York: the open
        (dt.datetime(2026, 12, 3, 14, 29, 59, tzinfo=dt.UTC), "before the open"),
        (dt.datetime(2026, 12, 3, 20, 59, tzinfo=dt.UTC), None),
        (dt.datetime(2026, 12, 3, 21, 0, tzinfo=dt.UTC), "after the close"),  # 16:00 EST
        (dt.datetime(2026, 7, 2, 13, 30, tzinfo=dt.UTC), None),  # 09:30 EDT in summer
        (dt.datetime(2026, 12, 5, 15, 0, tzinfo=dt.UTC), "weekend"),
        (dt.datetime(2026, 12, 25, 15, 0, tzinfo=dt.UTC), "Christmas Day"),
    ],
)
def test_market_hours(at: dt.datetime, reason: str | None) -> None:
    assert market_closed_reason(at) == reason
    assert is_market_open(at) is (reason is None)


def test_market_hours_need_an_aware_time() -> None:
    with pytest.raises(ValueError, match="aware"):
        is_market_open(dt.datetime(2026, 12, 3, 15, 0))
