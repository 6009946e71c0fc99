"""The quote poller with in-memory fakes: demand, market hours, faults, publishing and pacing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest

from stockscreen.realtime.messages import Quote, QuoteBatch
from stockscreen.realtime.poller import Demand, DemandSource, QuotePoller
from stockscreen.realtime.sources import FetchResult, IntradayQuote

OPEN = dt.datetime(2026, 12, 3, 15, 0, tzinfo=dt.UTC)  # Thursday 10:00 New York
CLOSED = dt.datetime(2026, 12, 5, 15, 0, tzinfo=dt.UTC)  # Saturday


class FakeSource:
    name = "fake"

    def __init__(self, prices: dict[str, float]) -> None:
        self.prices = prices
        self.calls: list[list[str]] = []
        self.failing: dict[str, str] = {}  # symbol -> reason (a timed-out or partial request)
        self.per_poll: int | None = None  # the rate limit lets this many through, the rest deferred
        self.cycle = 0.0
        self.ts = OPEN

    def fetch(self, symbols: Sequence[str], deadline: float | None = None) -> FetchResult:
        self.calls.append(list(symbols))
        allowed = list(symbols) if self.per_poll is None else list(symbols)[: self.per_poll]
        result = FetchResult(deferred=[s for s in symbols if s not in allowed], requests=1)
        for s in allowed:
            if s in self.failing:
                result.failed[s] = self.failing[s]
            elif s in self.prices:
                result.quotes.append(IntradayQuote(s, self.prices[s], self.ts, volume=int(self.prices[s] * 10)))
            else:
                result.failed[s] = "unknown"
        return result

    def cycle_seconds(self, n_symbols: int) -> float:
        return self.cycle


class FakeBars:
    def __init__(self) -> None:
        self.written: list[list[str]] = []

    def write(self, quotes: Sequence[IntradayQuote]) -> int:
        self.written.append([q.symbol for q in quotes])
        return len(quotes)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def make(
    source: FakeSource, symbols: set[str], *, now: dt.datetime = OPEN, consumers: list[object] | None = None
) -> tuple[QuotePoller, list[list[Quote]], FakeBars, list[QuoteBatch]]:
    stored: list[list[Quote]] = []
    bars = FakeBars()
    batches: list[QuoteBatch] = []
    poller = QuotePoller(
        source,
        Demand([DemandSource("subs", lambda: symbols)]),
        latest=stored.append,
        bars=bars,
        consumers=consumers if consumers is not None else [batches.append],  # type: ignore[arg-type]
        prev_closes=lambda syms, day: {s: 100.0 for s in syms},
        now=lambda: now,
    )
    return poller, stored, bars, batches


def test_a_poll_writes_and_publishes_the_quotes_with_change_against_the_previous_close() -> None:
    source = FakeSource({"AAPL": 110.0, "MSFT": 90.0})
    poller, stored, bars, batches = make(source, {"msft", "AAPL"})
    report = poller.poll_once()
    assert source.calls == [["AAPL", "MSFT"]]
    assert [q.symbol for q in stored[0]] == ["AAPL", "MSFT"]
    assert bars.written == [["AAPL", "MSFT"]]
    (batch,) = batches
    assert batch.source == "fake" and batch.asof == OPEN and report.batch_id == batch.batch_id
    assert {q.symbol: q.change_pct for q in batch.quotes} == {"AAPL": 10.0, "MSFT": -10.0}
    assert report.fetched == 2 and report.published == 2 and report.errors == []


def test_no_polling_while_the_market_is_closed() -> None:
    source = FakeSource({"AAPL": 110.0})
    poller, stored, bars, batches = make(source, {"AAPL"}, now=CLOSED)
    report = poller.poll_once()
    assert report.skipped == "market closed: weekend"
    assert source.calls == [] and stored == [] and bars.written == [] and batches == []
    assert len(poller.run(deadline=100.0)) == 1  # the loop stops at once


def test_no_demand_no_request() -> None:
    source = FakeSource({"AAPL": 110.0})
    poller, *_ = make(source, set())
    assert poller.poll_once().skipped == "no demand" and source.calls == []


def test_a_provider_timeout_fails_only_its_symbols() -> None:
    source = FakeSource({"AAPL": 110.0, "MSFT": 90.0, "JPM": 100.0})
    source.failing = {"JPM": "stooq timed out after 3s after 2 attempts"}
    poller, _stored, bars, batches = make(source, {"AAPL", "MSFT", "JPM"})
    report = poller.poll_once()
    assert report.failed == {"JPM": "stooq timed out after 3s after 2 attempts"}
    assert [q.symbol for q in batches[0].quotes] == ["AAPL", "MSFT"] and bars.written == [["AAPL", "MSFT"]]


def test_unchanged_quotes_are_not_published_again() -> None:
    source = FakeSource({"AAPL": 110.0, "MSFT": 90.0})
    poller, stored, bars, batches = make(source, {"AAPL", "MSFT"})
    poller.poll_once()
    source.prices["MSFT"] = 91.0
    second = poller.poll_once()
    assert [q.symbol for q in batches[1].quotes] == ["MSFT"] and second.published == 1
    assert [q.symbol for q in stored[1]] == ["MSFT"]
    assert bars.written[1] == ["AAPL", "MSFT"]  # every quote still closes its minute bar
    poller.poll_once()
    assert len(batches) == 2  # nothing changed: no batch


def test_rate_limited_symbols_go_first_next_poll_so_none_starves() -> None:
    source = FakeSource({s: 100.0 + i for i, s in enumerate(["A", "B", "C", "D", "E"])})
    source.per_poll = 2
    poller, *_ = make(source, {"A", "B", "C", "D", "E"})
    first = poller.poll_once()
    assert first.deferred == ["C", "D", "E"]
    assert poller.poll_once().deferred == ["E", "A", "B"]
    assert source.calls[1] == ["C", "D", "E", "A", "B"]
    poller.poll_once()
    assert source.calls[2] == ["E", "A", "B", "C", "D"]


def test_one_failing_consumer_does_not_stop_the_others_or_the_writes() -> None:
    got: list[QuoteBatch] = []

    def broken(batch: QuoteBatch) -> None:
        raise RuntimeError("alert evaluator down")

    source = FakeSource({"AAPL": 110.0})
    poller, stored, bars, _ = make(source, {"AAPL"}, consumers=[broken, got.append])
    report = poller.poll_once()
    assert len(got) == 1 and stored and bars.written
    assert report.errors == [
        "consumer:test_one_failing_consumer_does_not_stop_the_others_or_the_writes.<locals>.broken"
    ]


def test_redis_down_still_writes_bars_and_publishes() -> None:
    import redis

    def down(quotes: list[Quote]) -> None:
        raise redis.ConnectionError("refused")

    source = FakeSource({"AAPL": 110.0})
    poller, _, bars, batches = make(source, {"AAPL"})
    poller.latest = down
    report = poller.poll_once()
    assert report.errors == ["redis"] and bars.written == [["AAPL"]] and len(batches) == 1


def test_stale_quotes_make_no_minute_bar() -> None:
    source = FakeSource({"AAPL": 110.0})
    source.ts = OPEN - dt.timedelta(days=3)
    poller, stored, bars, _batches = make(source, {"AAPL"})
    poller.poll_once()
    assert bars.written == [[]] and len(stored) == 1


def test_a_failing_demand_source_keeps_its_last_symbols() -> None:
    calls = {"n": 0}

    def flaky() -> set[str]:
        calls["n"] += 1
        if calls["n"] > 1:
            raise OSError("database down")
        return {"MSFT"}

    demand = Demand([DemandSource("subs", lambda: {"aapl"}), DemandSource("watchlists", flaky)], max_symbols=10)
    assert demand.symbols() == ["AAPL", "MSFT"]
    assert demand.symbols() == ["AAPL", "MSFT"] and calls["n"] == 2
    clock = Clock()
    cached = Demand([DemandSource("w", flaky, ttl=60)], clock=clock)
    calls["n"] = 0
    assert cached.symbols() == ["MSFT"]
    clock.t = 30
    assert cached.symbols() == ["MSFT"] and calls["n"] == 1  # within its ttl: not re-read
    assert Demand([DemandSource("s", lambda: {"C", "B", "A"})], max_symbols=2).symbols() == ["A", "B"]


def test_the_loop_polls_every_interval_until_the_deadline_and_slows_for_the_rate_limit() -> None:
    source = FakeSource({"AAPL": 110.0})
    poller, *_ = make(source, {"AAPL"})
    poller.interval = 0.1
    assert 3 <= len(poller.run(deadline=poller._clock() + 0.45)) <= 5  # at 0, 0.1, 0.2, 0.3, 0.4 s
    source.calls.clear()
    source.cycle = 0.2  # the rate limit needs 0.2 s to fetch the demand once
    assert len(poller.run(deadline=poller._clock() + 0.3)) == 2


def test_one_poll_raising_does_not_end_the_loop() -> None:
    source = FakeSource({"AAPL": 110.0})
    poller, *_ = make(source, {"AAPL"})
    poller.interval = 0.01
    calls = {"n": 0}
    real = source.fetch

    def sometimes(symbols: Sequence[str], deadline: float | None = None) -> FetchResult:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ValueError("bug in a parser")
        return real(symbols, deadline)

    source.fetch = sometimes  # type: ignore[method-assign]
    reports = poller.run(deadline=poller._clock() + 0.05)
    assert reports[0].skipped == "error" and any(r.fetched == 1 for r in reports[1:])


@pytest.mark.parametrize("market_hours", [True, False])
def test_the_replay_provider_ignores_market_hours(market_hours: bool) -> None:
    source = FakeSource({"AAPL": 110.0})
    poller, *_ = make(source, {"AAPL"}, now=CLOSED)
    poller.market_hours = market_hours
    assert (poller.poll_once().fetched == 1) is (not market_hours)
