"""The Stooq quote provider over HTTP, against a local server answering with recorded rows."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from stockscreen.realtime.sources import RateLimiter, StooqQuotes
from tests.quotes_server import FakeStooqQuotes


@pytest.fixture
def fake() -> Iterator[FakeStooqQuotes]:
    server = FakeStooqQuotes()
    yield server
    server.close()


def _stooq(fake: FakeStooqQuotes, **kw: object) -> StooqQuotes:
    options: dict[str, object] = {"timeout": 0.3, "attempts": 2, "per_request": 2}
    options.update(kw)
    limiter = options.pop("limiter", RateLimiter(per_minute=6000, burst=100))
    return StooqQuotes(fake.url, limiter=limiter, **options)  # type: ignore[arg-type]


def test_many_symbols_per_request_in_chunks(fake: FakeStooqQuotes) -> None:
    result = _stooq(fake).fetch(["AAPL", "MSFT", "JPM", "XOM", "AOS"])
    assert fake.requests == [["aapl.us", "msft.us"], ["jpm.us", "xom.us"], ["aos.us"]]
    assert sorted(q.symbol for q in result.quotes) == ["AAPL", "JPM", "MSFT", "XOM"]
    assert list(result.failed) == ["AOS"] and result.deferred == [] and result.requests == 3
    xom = next(q for q in result.quotes if q.symbol == "XOM")
    assert (xom.price, xom.open, xom.volume) == (76.94, 78.44, 21_994_450)


def test_a_timed_out_request_is_retried_then_its_symbols_fail_and_the_rest_arrive(fake: FakeStooqQuotes) -> None:
    fake.slow.add("jpm.us")
    result = _stooq(fake).fetch(["AAPL", "MSFT", "JPM", "XOM"])
    assert sorted(q.symbol for q in result.quotes) == ["AAPL", "MSFT"]
    assert set(result.failed) == {"JPM", "XOM"}
    assert "timed out after 0.3s after 2 attempts" in result.failed["JPM"]
    assert fake.requests.count(["jpm.us", "xom.us"]) == 2


def test_http_503_is_retried_and_a_partial_answer_fails_only_the_missing_symbols(fake: FakeStooqQuotes) -> None:
    fake.failing.add("msft.us")
    fake.dropped.add("xom.us")
    result = _stooq(fake).fetch(["AAPL", "MSFT", "JPM", "XOM"])
    assert [q.symbol for q in result.quotes] == ["JPM"]
    assert "HTTP 503 after 2 attempts" in result.failed["AAPL"]
    assert result.failed["XOM"] == "missing from stooq's answer"
    assert len(fake.requests) == 3


def test_http_429_defers_the_rest_and_pauses_the_limiter(fake: FakeStooqQuotes) -> None:
    fake.rate_limit_after = 1
    fake.retry_after = "30"
    stooq = _stooq(fake)
    result = stooq.fetch(["AAPL", "MSFT", "JPM", "XOM", "AOS"], deadline=time.monotonic() + 2)
    assert [q.symbol for q in result.quotes] == ["AAPL", "MSFT"]
    assert result.deferred == ["JPM", "XOM", "AOS"] and result.failed == {}
    assert len(fake.requests) == 2  # no retry of a 429, no request after it
    # the pause (Retry-After: 30) outlasts the deadline: the next fetch sends nothing and defers all
    again = stooq.fetch(["AAPL"], deadline=time.monotonic() + 2)
    assert again.deferred == ["AAPL"] and len(fake.requests) == 2


def test_the_rate_limit_spaces_requests(fake: FakeStooqQuotes) -> None:
    now = [0.0]  # the limiter's own clock: its sleeps advance it, so the spacing is exact

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = RateLimiter(per_minute=600, burst=1, clock=lambda: now[0], sleep=sleep)  # one request every 0.1 s
    stooq = _stooq(fake, limiter=limiter)
    result = stooq.fetch(["AAPL", "MSFT", "JPM", "XOM", "AOS", "IBM"])
    assert len(fake.requests) == 3 and len(result.quotes) == 4
    assert now[0] == pytest.approx(0.2)  # two waits of 0.1 s between the three requests
    assert stooq.cycle_seconds(6) == pytest.approx(0.3)  # 3 requests at the sustained 10 a second
