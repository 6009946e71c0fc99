"""The stock chart's intraday candles (figures, not pass/fail timing): ``BENCH <name> <value> <unit>`` lines.

``intraday_bars`` filled as the poller leaves it after its 30-day retention: 100 symbols x 30 days x 390
one-minute bars (1.17 M rows, one partition a day), then ``IntradayService.candles`` (what
``GET /api/securities/{symbol}/intraday`` calls, without the response cache) timed for the default query
(every kept minute, the latest 1,000 candles) in 1- and 5-minute candles, and for one session's 1-minute
candles (``since``). Each figure is the median of ``ROUNDS`` calls, each for another symbol.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from stockscreen.core.clients import reset_clients
from stockscreen.db.engine import get_engine
from stockscreen.market.service import MarketService
from stockscreen.realtime.intraday import IntradayInterval, IntradayService
from stockscreen.realtime.repository import IntradayRepository

ROUNDS = 7
SYMBOLS = 100
DAYS = 30
#: the sample's symbols (the route checks the symbol is known); the rest are synthetic
KNOWN = ["AAPL", "AOS", "APTV", "DHR", "JPM", "LNT", "MSFT", "XOM"]


def bench(name: str, value: float, unit: str) -> None:
    print(f"BENCH {name} {value:.1f} {unit}", flush=True)


@pytest.fixture
def filled(stack_env: dict[str, str]) -> Iterator[list[dt.date]]:
    from tests.integration.authkit import load_sample

    load_sample(stack_env)
    reset_clients()
    today = dt.datetime.now(dt.UTC).date()
    days = [today - dt.timedelta(days=d) for d in range(DAYS)]
    url = stack_env["DATABASE_URL"].replace("+psycopg", "")
    created = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE intraday_bars")
        for day in days:
            name = f"intraday_bars_p{day:%Y%m%d}"
            if conn.execute("SELECT to_regclass(%s)", (name,)).fetchone() == (None,):
                start = dt.datetime.combine(day, dt.time(), dt.UTC)
                conn.execute(
                    sql.SQL("CREATE TABLE {} PARTITION OF intraday_bars FOR VALUES FROM ({}) TO ({})").format(
                        sql.Identifier(name), sql.Literal(start), sql.Literal(start + dt.timedelta(days=1))
                    )
                )
                created.append(name)
        # 09:30-16:00 New York is 14:30-21:00 UTC (in winter): 390 minutes a day, a random walk per symbol
        conn.execute(
            """
            INSERT INTO intraday_bars (symbol, minute, open, high, low, close, volume, day_volume)
            SELECT s.sym, d.day + interval '14 hours 30 minutes' + m.i * interval '1 minute',
                   p.px, p.px + 0.05, p.px - 0.05, p.px + 0.01, 1000, 1000 * (m.i + 1)
            FROM unnest(%s::text[]) AS s(sym)
            CROSS JOIN unnest(%s::timestamptz[]) AS d(day)
            CROSS JOIN generate_series(0, 389) AS m(i)
            CROSS JOIN LATERAL (SELECT 100 + 10 * sin(m.i / 40.0 + length(s.sym)) AS px) p
            """,
            (
                KNOWN + [f"S{k:03d}" for k in range(SYMBOLS - len(KNOWN))],
                [dt.datetime.combine(day, dt.time(), dt.UTC) for day in days],
            ),
        )
        conn.execute("VACUUM ANALYZE intraday_bars")  # as autovacuum leaves it: index-only scans
        rows = conn.execute("SELECT count(*) FROM intraday_bars").fetchone()
    assert rows == (SYMBOLS * DAYS * 390,)
    yield days
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE intraday_bars")
        for name in created:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
    IntradayRepository(get_engine()).prepare()


def test_intraday_candles(filled: list[dt.date]) -> None:
    engine = get_engine()
    service = IntradayService(IntradayRepository(engine), MarketService.from_engine(engine))
    session_start = dt.datetime.combine(filled[0], dt.time(14, 30), dt.UTC)
    cases: list[tuple[str, IntradayInterval, dt.datetime | None, int]] = [
        ("intraday_candles_1m_latest_1000", "1m", None, 1000),
        ("intraday_candles_5m_latest_1000", "5m", None, 1000),
        ("intraday_candles_1m_one_session", "1m", session_start, 390),
    ]
    for name, interval, since, want in cases:
        times = []
        for k in range(ROUNDS):
            symbol = KNOWN[k % len(KNOWN)]
            t0 = time.perf_counter()
            out = service.candles(symbol, interval, since)
            times.append((time.perf_counter() - t0) * 1000)
            assert len(out["data"]) == want and out["session"]["last_price"] is not None
        bench(name, statistics.median(times), "ms")
