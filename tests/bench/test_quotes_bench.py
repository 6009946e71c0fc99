"""Live quote poller benchmarks (figures, not pass/fail timing): ``BENCH <name> <value> <unit>`` lines.

The production shape: the S&P 500 symbols of the demo constituents file (500 symbols), fetched from a
local Stooq-like HTTP server (recorded row format, 50 symbols a request as the poller's default
``QUOTE_SYMBOLS_PER_REQUEST``; no rate limit here, so the figures are the poller's own cost, not
Stooq's quota), written to the real Redis (``quote:{SYMBOL}`` hashes, one pipeline) and PostgreSQL
(``intraday_bars``, one upsert statement). ``ROUNDS`` polls with every price changed; each figure is
the median of the rounds (the first write of a minute inserts the bars, later ones update them, shown
apart). The fan-out to WebSocket clients is benchmarked by the WebSocket work, not here.
"""

from __future__ import annotations

import csv
import datetime as dt
import statistics
import time
from collections.abc import Iterator

import psycopg
import pytest

from stockscreen.core.clients import reset_clients
from stockscreen.db.engine import get_engine
from stockscreen.realtime.messages import QuoteBatch
from stockscreen.realtime.poller import Demand, DemandSource, QuotePoller
from stockscreen.realtime.quotes import put_quotes
from stockscreen.realtime.repository import IntradayRepository
from stockscreen.realtime.sources import IntradayQuote, RateLimiter, StooqQuotes
from tests.conftest import DEMO
from tests.quotes_server import FakeStooqQuotes

ROUNDS = 7
N_SYMBOLS = 500


def bench(name: str, value: float, unit: str) -> None:
    print(f"BENCH {name} {value:.1f} {unit}", flush=True)


def _symbols() -> list[str]:
    with (DEMO / "sp500-constituents-2018-01-19.csv").open() as f:
        return sorted({row["Ticker symbol"] for row in csv.DictReader(f)})[:N_SYMBOLS]


@pytest.fixture
def fake(stack_env: dict[str, str]) -> Iterator[FakeStooqQuotes]:
    reset_clients()
    with psycopg.connect(stack_env["DATABASE_URL"].replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("TRUNCATE intraday_bars")
    IntradayRepository(get_engine()).prepare()
    server = FakeStooqQuotes()
    server.stamp = dt.datetime.now(dt.UTC)
    yield server
    server.close()
    reset_clients()


def test_quote_poller_throughput(fake: FakeStooqQuotes) -> None:
    symbols = _symbols()
    assert len(symbols) == N_SYMBOLS
    source = StooqQuotes(fake.url, timeout=5, per_request=50, limiter=RateLimiter(per_minute=1e6, burst=1000))
    repo = IntradayRepository(get_engine())
    batches: list[QuoteBatch] = []
    poller = QuotePoller(
        source,
        Demand([DemandSource("bench", lambda: symbols)], max_symbols=N_SYMBOLS),
        latest=put_quotes,
        bars=repo,
        consumers=[batches.append],
        market_hours=False,
    )
    fetch_rate, poll_ms, written_rate, redis_ms, db_ms = [], [], [], [], []
    for r in range(ROUNDS):
        fake.add_rows(symbols, price=100.0 + r)  # every price changes: every quote is written and published
        start = time.perf_counter()
        report = poller.poll_once()
        elapsed = time.perf_counter() - start
        assert report.fetched == N_SYMBOLS and report.published == N_SYMBOLS and not report.failed
        assert len(batches[-1].quotes) == N_SYMBOLS
        fetch_rate.append(N_SYMBOLS / report.fetch_s)
        poll_ms.append(elapsed * 1000)
        written_rate.append(N_SYMBOLS / (report.redis_s + report.db_s))
        redis_ms.append(report.redis_s * 1000)
        db_ms.append(report.db_s * 1000)
    bench("quotes_fetch_symbols_per_s", statistics.median(fetch_rate), "symbols/s")
    bench("quotes_written_symbols_per_s", statistics.median(written_rate), "symbols/s")
    bench("quotes_poll_500_ms", statistics.median(poll_ms), "ms")
    bench("quotes_batch_500_redis_ms", statistics.median(redis_ms), "ms")
    bench("quotes_batch_500_db_ms", statistics.median(db_ms[1:]), "ms")
    bench(
        "quotes_batch_500_redis_plus_db_ms",
        statistics.median(r + d for r, d in zip(redis_ms, db_ms, strict=True)),
        "ms",
    )

    # the database write alone: the first quotes of a minute insert 500 bars, later ones update them
    minute = dt.datetime.now(dt.UTC).replace(hour=14, minute=30, second=1, microsecond=0)
    inserts, updates = [], []
    for r in range(ROUNDS):
        at = minute + dt.timedelta(minutes=r)
        for phase, into in (("insert", inserts), ("update", updates)):
            quotes = [
                IntradayQuote(s, 100.0 + i % 7 + (phase == "update"), at, volume=1000 * (r + 1) + i)
                for i, s in enumerate(symbols)
            ]
            start = time.perf_counter()
            assert repo.write(quotes) == N_SYMBOLS
            into.append((time.perf_counter() - start) * 1000)
    bench("quotes_bars_500_insert_ms", statistics.median(inserts), "ms")
    bench("quotes_bars_500_update_ms", statistics.median(updates), "ms")
