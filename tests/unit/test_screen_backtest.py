"""Backtests and history are point in time: changing the future never changes the past."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import random
from pathlib import Path

import numpy as np
import pytest

from stockscreen.core.errors import Invalid
from stockscreen.screening.backtest import BacktestRequest, run_backtest
from stockscreen.screening.engine import ScreenRequest, run
from stockscreen.screening.universe import Universe, from_bars, from_csv

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CUTOFF = dt.date(2016, 6, 29)  # a Wednesday: the week and the month are still open
QUERIES = [
    "close > sma50 and rsi14 < 60",
    "sma20 crosses_above sma50 within 10 days or close > max(high, 50)[-1]",
    "weekly.rsi14 > 50 and monthly.close > monthly.close[-3]",
    "volume > 1.2 * avg(volume, 20) and macd_hist > 0 for 3 days",
    "bb_pctb > 0.5 and atr_pct < 3% and perf_1m > 0",
]


def _rows() -> list[tuple[str, dt.date, float, float, float, float, float]]:
    out = []
    with gzip.open(FIXTURES / "bars-sample.csv.gz", "rt") as f:
        for r in csv.DictReader(f):
            if not all(r[k] for k in ("open", "high", "low", "close", "volume")):
                continue  # the sample keeps the source's warts (blank prices)
            vals = tuple(float(r[k]) for k in ("open", "high", "low", "close", "volume"))
            out.append((r["Name"], dt.date.fromisoformat(r["date"]), *vals))
    return out  # type: ignore[return-value]


def _universe(mutate_after: dt.date | None = None) -> Universe:
    rows = _rows()
    if mutate_after is not None:
        rng = random.Random(3)
        changed = []
        for sym, d, o, h, lo, c, v in rows:
            if d > mutate_after:
                k = rng.uniform(0.5, 1.5)
                o, h, lo, c, v = o * k, h * k * 1.05, lo * k * 0.95, c * k, v * rng.uniform(0.2, 5)
            changed.append((sym, d, o, h, lo, c, v))
        rows = changed
    return from_bars(rows, {}, {})


@pytest.fixture(scope="module")
def pair() -> tuple[Universe, Universe]:
    return _universe(), _universe(mutate_after=CUTOFF)


@pytest.mark.parametrize("query", QUERIES)
def test_backtest_has_no_look_ahead(pair: tuple[Universe, Universe], query: str) -> None:
    clean, mutated = pair
    req = BacktestRequest.model_validate({"query": query, "from": "2014-03-01", "rebalance": "weekly"})
    a, b = run_backtest(clean, req), run_backtest(mutated, req)
    dates = [np.datetime64(p.date) for p in a.periods]
    t_cut = clean.date_index(CUTOFF)
    differs_after = False
    for pa, pb in zip(a.periods, b.periods, strict=True):
        t = clean.date_index(dt.date.fromisoformat(pa.date))
        if t <= t_cut:
            assert (pa.matches, pa.symbols) == (pb.matches, pb.symbols), pa.date
        if t + 63 <= t_cut:
            assert (pa.fwd_1m, pa.fwd_3m, pa.universe_3m) == (pb.fwd_1m, pb.fwd_3m, pb.universe_3m), pa.date
        if t > t_cut and (pa.symbols != pb.symbols or pa.fwd_1m != pb.fwd_1m):
            differs_after = True
    assert differs_after, "the mutation must be visible after the cutoff, or the test proves nothing"
    assert len(dates) > 150


@pytest.mark.parametrize("query", QUERIES)
def test_screen_as_of_a_past_date_ignores_later_bars(pair: tuple[Universe, Universe], query: str) -> None:
    clean, mutated = pair
    req = ScreenRequest(query=query, as_of=CUTOFF, sort="rsi14", columns=["close", "rsi14", "sma50"], limit=500)
    assert run(clean, req).data == run(mutated, req).data


def test_weekly_values_use_the_partial_week_up_to_the_date(pair: tuple[Universe, Universe]) -> None:
    u, _ = pair
    t = u.date_index(CUTOFF)  # Wednesday 2016-06-29
    row = u.row_of("AAPL")
    assert row is not None
    assert u.timeframe_value("close", "weekly", t, 0)[row] == u.numeric("close")[row, t]
    friday = u.date_index(dt.date(2016, 6, 24))
    assert u.timeframe_value("close", "weekly", t, -1)[row] == u.numeric("close")[row, friday]
    monday = u.date_index(dt.date(2016, 6, 27))
    week_high = np.nanmax(u.numeric("high")[row, monday : t + 1])
    assert u.timeframe_value("high", "weekly", t, 0)[row] == week_high


@pytest.mark.parametrize("timeframe", ["weekly", "monthly"])
def test_partial_period_bars_equal_resampling_the_cut_history(pair: tuple[Universe, Universe], timeframe: str) -> None:
    from stockscreen.screening.history import period_end_flags, resample

    u, _ = pair
    is_end, period = period_end_flags(u.trading_dates, timeframe)
    days = [t for t in range(300, len(is_end), 97) if not is_end[t]]
    assert len(days) >= 5
    for t in days:
        cut = resample(u.daily, timeframe, t)
        for f in ("close", "high", "low", "volume", "rsi14", "sma20", "macd", "bb_pctb"):
            want = cut.num(f)
            assert want is not None
            np.testing.assert_allclose(u.timeframe_value(f, timeframe, t, 0), want[:, int(period[t])], equal_nan=True)
            np.testing.assert_allclose(
                u.timeframe_value(f, timeframe, t, -2), want[:, int(period[t]) - 2], equal_nan=True
            )


def test_backtest_report_shape_and_errors(pair: tuple[Universe, Universe]) -> None:
    u, _ = pair
    res = run_backtest(u, BacktestRequest.model_validate({"query": "close > sma200", "from": "2015-01-01"}))
    assert res.rebalance == "monthly" and res.start == "2015-01-30"
    assert all(0 <= (p.hit_rate_1m or 0) <= 1 and 0 <= (p.turnover or 0) <= 1 for p in res.periods)
    last = res.periods[-1]
    assert last.fwd_1m is None and last.universe_1m is None  # no future to measure yet
    close = u.numeric("close")
    p0 = res.periods[0]
    t = u.date_index(dt.date.fromisoformat(p0.date))
    rows = [u.row_of(s) for s in p0.symbols]
    manual = np.nanmean([(close[r, t + 21] / close[r, t] - 1) * 100 for r in rows])
    assert p0.fwd_1m == pytest.approx(manual)
    with pytest.raises(Invalid, match="no trading dates"):
        run_backtest(u, BacktestRequest.model_validate({"query": "close > 1", "from": "2030-01-01"}))


def test_demo_csv_loader_reads_profiles_and_fundamentals() -> None:
    u = from_csv(
        str(FIXTURES / "bars-sample.csv.gz"),
        str(FIXTURES / "constituents-sample.csv"),
        str(FIXTURES / "fundamentals-sample-2018-02-08.csv"),
    )
    res = run(u, ScreenRequest(query='sector = "Energy" and market_cap > 100B', columns=["market_cap"]))
    assert [r["symbol"] for r in res.data] == ["XOM"]
