"""A history read near the latest date of a long grid is computed over a trailing window of it
(``Universe._windowed``): the same values as the whole history's where a screen reads them, and the
same pages of screen results, with a fraction of the grid packed."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from stockscreen.market import synth
from stockscreen.screening import universe as U
from stockscreen.screening.engine import ScreenRequest, run
from stockscreen.screening.history import COMPUTED, Frame
from stockscreen.screening.universe import WHOLE_HISTORY, WINDOW_WARMUP

SECURITIES, YEARS = 40, 8


def _universe(m: synth.SynthMarket) -> U.Universe:
    frame = Frame(m.dates, m.open.T, m.high.T, m.low.T, m.close.T, m.volume.T, {})
    cats = {"symbol": U.Categorical.of(list(m.symbols)), "sector": U.Categorical.of(list(m.sector))}
    return U.Universe(1, dt.date(2024, 12, 31), np.array(m.symbols), frame, U._with_buckets(cats, len(m.symbols)), {})


@pytest.fixture(scope="module")
def market() -> synth.SynthMarket:
    return synth.generate(SECURITIES, YEARS, seed=3)


def test_windowed_history_equals_the_whole_history_where_screens_read_it(market: synth.SynthMarket) -> None:
    t = len(market.dates)
    lo = t - 300
    assert lo - WINDOW_WARMUP > U.WINDOW_BLOCK  # the window starts after the first date
    windowed, whole = _universe(market), _universe(market)
    live = ~np.isnan(market.close[-400:]).all(axis=0)  # a bar in the last sessions: not delisted long ago
    assert live.sum() > SECURITIES // 2
    for name in ("rsi14", "sma200", "ema26", "macd", "atr_pct", "high", "close", "beta", "perf_1y", "perf_ytd"):
        got = windowed.cols(name, lo, t - 1)
        want = whole.numeric(name)[:, lo:]
        np.testing.assert_allclose(got[live], want[live], rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=name)
    assert windowed._window is not None and windowed._window.c.shape[1] < t - lo + WINDOW_WARMUP + U.WINDOW_BLOCK
    assert not windowed.daily._cache  # nothing computed over the whole grid
    assert "history_days" in WHOLE_HISTORY and "history_days" in COMPUTED


def test_a_history_screen_gives_the_same_page_either_way(market: synth.SynthMarket) -> None:
    query = "close > max(high, 20)[-1] or rsi14 < 40 within 10 days"
    req = ScreenRequest.from_body({"query": query, "sort": "rsi14", "limit": 50, "columns": ["symbol", "rsi14"]})
    whole_u = _universe(market)
    for name in ("close", "high", "rsi14"):
        whole_u.numeric(name)  # computed over the whole grid first: cols() then reads it
    whole = run(whole_u, req)
    # as loaded, with the snapshot's values (each security's at its last bar): a security delisted
    # years ago, without a bar in the window, keeps them, as the whole history carries them forward
    w = _universe(market)
    w.latest = {k: whole_u.numeric(k)[:, -1].copy() for k in ("close", "high", "rsi14")}
    windowed = run(w, req)
    assert w._window is not None and not w.daily._cache
    assert windowed.count == whole.count > 0
    assert [r["symbol"] for r in windowed.data] == [r["symbol"] for r in whole.data]
