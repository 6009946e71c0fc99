"""Backtests and history are point in time: changing the future never changes the past."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    dates = [np.datetime64(p.signal_date) for p in a.periods]
    t_cut = clean.date_index(CUTOFF)
    differs_after = False
    for pa, pb in zip(a.periods, b.periods, strict=True):
        t = clean.date_index(dt.date.fromisoformat(pa.signal_date))
        x = clean.date_index(dt.date.fromisoformat(pa.exit_date))
        if t <= t_cut:
            assert (pa.count, pa.symbols) == (pb.count, pb.symbols), pa.signal_date
        if x <= t_cut:
            assert (pa.holdings, pa.net_return, pa.benchmark_return) == (
                pb.holdings,
                pb.net_return,
                pb.benchmark_return,
            )
        if t > t_cut and (pa.symbols != pb.symbols or pa.net_return != pb.net_return):
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
    assert res.rebalance == "monthly" and res.start == "2015-01-30" and res.entry == "next_open"
    assert not res.optimistic and (res.cost_bps, res.slippage_bps) == (10, 5)
    assert {"hit_rate", "cagr", "sharpe", "max_drawdown", "avg_excess", "avg_turnover"} <= res.definitions.keys()
    assert all(0 <= (p.hit_rate or 0) <= 1 and 0 <= p.turnover <= 1 for p in res.periods)
    assert all(p.entry_date > p.signal_date and p.exit_date > p.entry_date for p in res.periods)
    assert all(a.exit_date == b.entry_date for a, b in zip(res.periods, res.periods[1:]))  # held to the rebalance
    last = res.periods[-1]
    assert last.exit_date <= str(u.trading_dates[-1])
    assert any("left out" in w for w in res.warnings)  # the last signal's next open is after the data
    close, open_ = u.daily.c, u.daily.o
    p0 = next(p for p in res.periods if p.count)
    e = u.date_index(dt.date.fromisoformat(p0.entry_date))
    x = u.date_index(dt.date.fromisoformat(p0.exit_date))
    assert e == u.date_index(dt.date.fromisoformat(p0.signal_date)) + 1
    rows = [u.row_of(s) for s in p0.symbols]
    manual = np.nanmean([open_[r, x] / open_[r, e] - 1 for r in rows])
    assert p0.gross_return == pytest.approx(manual) and p0.net_return < p0.gross_return
    assert len(res.equity) == len(res.periods) + 1 and res.equity[0].strategy == 1.0
    assert res.equity[-1].strategy == pytest.approx(np.prod([1 + p.net_return for p in res.periods]))
    optimistic = run_backtest(u, BacktestRequest.model_validate({"query": "close > sma200", "entry": "same_close"}))
    assert optimistic.optimistic and "optimistic" in optimistic.warnings[0]
    q0 = next(p for p in optimistic.periods if p.count)
    t = u.date_index(dt.date.fromisoformat(q0.signal_date))
    assert q0.entry_date == q0.signal_date and q0.holdings[0]["entry_price"] == close[u.row_of(q0.symbols[0]), t]
    with pytest.raises(Invalid, match="no trading dates"):
        run_backtest(u, BacktestRequest.model_validate({"query": "close > 1", "from": "2030-01-01"}))
    with pytest.raises(Invalid, match="unknown benchmark"):
        run_backtest(u, BacktestRequest.model_validate({"query": "close > 1", "benchmark": "NOPE"}))


def test_hold_sessions_exits_early_and_waits_in_cash(pair: tuple[Universe, Universe]) -> None:
    u, _ = pair
    req = {"query": "close > 0", "from": "2016-01-01", "to": "2016-12-31", "hold_sessions": 5}
    res = run_backtest(u, BacktestRequest.model_validate(req))
    for p in res.periods:
        t, e, x = (u.date_index(dt.date.fromisoformat(d)) for d in (p.signal_date, p.entry_date, p.exit_date))
        assert (e, x) == (t + 1, t + 6)
        # sold at the exit and bought again at a later entry: a full round trip every period
        assert p.turnover == pytest.approx(1.0) and p.cost == pytest.approx(p.gross_return - p.net_return)
        assert (1 + p.net_return) == pytest.approx((1 - 0.0015) * (1 + p.gross_return) * (1 - 0.0015))


def _delisted_rows(symbol: str, last_day: dt.date) -> list[tuple[str, dt.date, float, float, float, float, float]]:
    return [r for r in _rows() if not (r[0] == symbol and r[1] > last_day)]


@pytest.mark.parametrize("explicit", [False, True], ids=["bars-stop", "security-master"])
def test_a_delisted_symbol_is_held_to_its_last_price_then_leaves(explicit: bool) -> None:
    gone = dt.date(2016, 5, 10)  # a Tuesday inside the May 2016 holding period
    if explicit:  # bars continue, but the security master says it was delisted: bars after it are ignored
        u = from_bars(_rows(), {"AOS": {"delisted_on": gone}}, {})
    else:
        u = from_bars(_delisted_rows("AOS", gone), {}, {})
    res = run_backtest(u, BacktestRequest.model_validate({"query": "close > 0", "from": "2016-01-01"}))
    by_signal = {p.signal_date: p for p in res.periods}
    april = by_signal["2016-04-29"]  # held from 2016-05-02's open
    held = next(h for h in april.holdings if h["symbol"] == "AOS")
    row = u.row_of("AOS")
    assert row is not None
    last_close = u.daily.c[row, u.date_index(gone)]
    assert held["delisted"] and held["exit_date"] == "2016-05-10" and held["exit_price"] == last_close
    assert held["gross_return"] == pytest.approx(last_close / held["entry_price"] - 1)
    others = [h for h in april.holdings if h["symbol"] != "AOS"]
    assert others and all(not h["delisted"] and h["exit_date"] == april.exit_date for h in others)
    # it counts in the period's return and in the benchmark, then leaves the universe
    assert april.gross_return == pytest.approx(np.mean([h["gross_return"] for h in april.holdings]))
    assert april.benchmark_return == pytest.approx(april.gross_return)  # close > 0: the whole universe
    later = [p for p in res.periods if p.signal_date >= "2016-05-10"]
    assert later and all("AOS" not in p.symbols for p in later)
    assert all("AOS" in p.symbols for p in res.periods if p.signal_date < "2016-04-30")
    assert res.delistings == 1 and not any("survivorship" in w for w in res.warnings)
    survivors = run_backtest(from_bars(_rows(), {}, {}), BacktestRequest.model_validate({"query": "close > 0"}))
    assert survivors.delistings == 0 and any("survivorship" in w for w in survivors.warnings)


def test_listed_on_keeps_a_security_out_until_it_lists() -> None:
    u = from_bars(_rows(), {"JPM": {"listed_on": dt.date(2016, 6, 15)}}, {})
    res = run_backtest(u, BacktestRequest.model_validate({"query": "close > 0", "from": "2016-01-01"}))
    assert all(("JPM" in p.symbols) == (p.signal_date >= "2016-06-15") for p in res.periods)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    k=st.integers(min_value=0, max_value=40),
    factors=st.lists(st.floats(min_value=0.2, max_value=5.0), min_size=8, max_size=8),
    rule=st.sampled_from(["next_open", "same_close"]),
)
def test_shifting_prices_after_the_entry_never_changes_that_periods_signal(
    base: dict[str, Any], k: int, factors: list[float], rule: str
) -> None:
    req = BacktestRequest.model_validate({"query": "rsi14 < 45 or close > sma50", "from": "2014-01-01", "entry": rule})
    before = base[rule]
    period = before.periods[k]
    entry = dt.date.fromisoformat(period.entry_date)
    scale = dict(zip(sorted({r[0] for r in base["rows"]}), factors, strict=True))
    shifted = [
        (s, d, o * scale[s], h * scale[s], lo * scale[s], c * scale[s], v) if d > entry else (s, d, o, h, lo, c, v)
        for s, d, o, h, lo, c, v in base["rows"]
    ]
    after = run_backtest(from_bars(shifted, {}, {}), req)
    same = next(p for p in after.periods if p.signal_date == period.signal_date)
    assert (same.count, same.symbols, same.entry_date) == (period.count, period.symbols, period.entry_date)
    assert [h["entry_price"] for h in same.holdings] == [h["entry_price"] for h in period.holdings]


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    rows = _rows()
    u = from_bars(rows, {}, {})
    q = "rsi14 < 45 or close > sma50"
    out: dict[str, Any] = {"rows": rows}
    for rule in ("next_open", "same_close"):
        out[rule] = run_backtest(u, BacktestRequest.model_validate({"query": q, "from": "2014-01-01", "entry": rule}))
        assert len(out[rule].periods) > 40 and sum(p.count for p in out[rule].periods) > 40
    return out


def test_demo_csv_loader_reads_profiles_and_fundamentals() -> None:
    u = from_csv(
        str(FIXTURES / "bars-sample.csv.gz"),
        str(FIXTURES / "constituents-sample.csv"),
        str(FIXTURES / "fundamentals-sample-2018-02-08.csv"),
    )
    res = run(u, ScreenRequest(query='sector = "Energy" and market_cap > 100B', columns=["market_cap"]))
    assert [r["symbol"] for r in res.data] == ["XOM"]
