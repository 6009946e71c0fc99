"""The screener's metric histories are :mod:`stockscreen.market.measures`' (one source of truth).

On the 8-symbol sample: every catalogue metric and flag the engine holds for every date
equals ``metrics.history`` of that security alone (its own bars, the same index), daily
and weekly; the market-cap bucket follows the market cap's history.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from stockscreen.market import measures as mt
from stockscreen.pipeline.snapshot import market_cap_bucket
from stockscreen.screening.engine import ScreenRequest, run
from stockscreen.screening.history import COMPUTED
from stockscreen.screening.universe import Universe, from_bars
from tests.unit.test_screen_backtest import _rows

FUNDS = {
    "AAPL": {"price": 150.0, "market_cap": 800e9, "eps": 9.2, "dividend_yield": 1.6, "price_book": 6.0},
    "JPM": {"price": 100.0, "market_cap": 350e9, "eps": 6.3, "dividend_yield": 2.1, "price_book": 1.6},
    "AOS": {"price": 60.0, "market_cap": 10.5e9, "eps": 1.9, "dividend_yield": 1.0, "price_book": 5.0},
}


@pytest.fixture(scope="module")
def universe() -> Universe:
    funds = {s: {**f, "price_sales": 3.0, "ebitda": f["market_cap"] / 12, "pe": None} for s, f in FUNDS.items()}
    return from_bars(_rows(), {}, funds)  # type: ignore[arg-type]


def _own(u: Universe, row: int, frame_dates: np.ndarray, has: np.ndarray, timeframe: str) -> dict[str, np.ndarray]:
    fr = u.daily if timeframe == "daily" else u._full(timeframe)
    bars = {"dates": frame_dates[has[row]]}
    for k, a in (("open", fr.o), ("high", fr.h), ("low", fr.lo), ("close", fr.c), ("volume", fr.v)):
        bars[k] = a[row, has[row]]
    return bars


@pytest.mark.parametrize("timeframe", ["daily", "weekly"])
def test_every_metric_history_equals_metrics_history_of_the_security_alone(universe: Universe, timeframe: str) -> None:
    u = universe
    fr = u.daily if timeframe == "daily" else u._full(timeframe)
    u.want(COMPUTED)
    grids = {k: fr.num(k) for k in sorted(COMPUTED)}
    assert fr._market is not None
    funds = {k: fr.fundamentals[k] for k in mt.FUNDAMENTAL_INPUTS}
    checked = 0
    for row in range(u.n):
        has = fr.has[row]
        bars = _own(u, row, fr.dates, fr.has, timeframe)
        n = len(bars["close"])
        panel = mt.panel_from_flat(
            np.zeros(n, np.int64),
            bars["dates"].astype("datetime64[D]"),
            np.column_stack([bars[k] for k in ("open", "high", "low", "close", "volume")]),
        )
        want = mt.compute(panel, fr._market, fundamentals={k: v[row : row + 1] for k, v in funds.items()})
        for name, grid in grids.items():
            assert grid is not None
            np.testing.assert_allclose(
                grid[row, has], want[name][:, 0], rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=name
            )
            # days without a bar carry the last value forward
            last = np.maximum.accumulate(np.where(has, np.arange(len(has)), -1))
            ok = last >= 0
            np.testing.assert_array_equal(grid[row, ok], grid[row, last[ok]], err_msg=name)
            checked += 1
    assert checked == u.n * len(COMPUTED)


def test_market_cap_bucket_follows_the_market_cap_history(universe: Universe) -> None:
    u = universe
    cap = u.numeric("market_cap")
    seen = set()
    for day in (dt.date(2013, 6, 3), dt.date(2015, 9, 1), dt.date(2018, 2, 7)):
        t = u.date_index(day)
        res = run(u, ScreenRequest(columns=["market_cap", "market_cap_bucket"], as_of=day, sort="symbol", order="asc"))
        for r in res.data:
            row = u.row_of(r["symbol"])
            assert row is not None
            want = market_cap_bucket(float(cap[row, t]))
            assert r["market_cap_bucket"] == want
            seen.add(want)
        for label in ("mega", "large", "mid"):
            got = run(u, ScreenRequest(query=f'market_cap_bucket = "{label}"', as_of=day, limit=500)).data
            assert {r["symbol"] for r in got} == {r["symbol"] for r in res.data if r["market_cap_bucket"] == label}
    assert {"mega", "large", None} <= seen
