"""Our indicators against TA-Lib's, array by array, on every security of the demo data
(505 symbols, 619k bars) and of the 8-symbol fixture; plus the history/incremental/as-of
contracts of stockscreen.market.measures.

Tolerance: 1e-6 relative. Quantities that cross zero (MACD line, signal, histogram) and
standard deviations of near-flat windows are compared with an absolute floor of 1e-9
times the series' price level, since a relative error is meaningless at zero.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import talib

from stockscreen.market import indicators as ind
from stockscreen.market import measures as mt
from tests.bars import read_bars_csv

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "data" / "demo" / "sp500-daily-2013-2018.csv.gz"
FIXTURE = ROOT / "tests" / "fixtures" / "bars-sample.csv.gz"
RTOL = 1e-6


class Universe:
    def __init__(self, path: Path) -> None:
        self.symbols, self.ids, self.dates, self.ohlcv = read_bars_csv(str(path))
        self.panel = mt.panel_from_flat(self.ids, self.dates, self.ohlcv)
        self.market = mt.market_index(self.panel)
        self.metrics = mt.compute(self.panel, self.market)

    def column(self, j: int) -> dict[str, Any]:
        return self.panel.column(j)


@pytest.fixture(scope="module", params=["fixture", "demo"])
def universe(request: pytest.FixtureRequest) -> Universe:
    return Universe(FIXTURE if request.param == "fixture" else DEMO)


def _agree(name: str, mine: np.ndarray, ref: np.ndarray, scale: float, nan_pattern: bool = True) -> None:
    defined = ~np.isnan(ref)
    if nan_pattern:
        assert np.array_equal(np.isnan(mine), ~defined), f"{name}: NaN pattern differs from TA-Lib"
    else:
        assert not np.isnan(mine[defined]).any(), f"{name}: NaN where TA-Lib has a value"
    np.testing.assert_allclose(mine[defined], ref[defined], rtol=RTOL, atol=1e-9 * scale, err_msg=name)


def test_demo_sweep_covers_the_whole_file() -> None:
    u = Universe.__new__(Universe)
    u.symbols, u.ids, *_ = read_bars_csv(str(DEMO))
    assert len(u.symbols) == 505
    # 619,040 bars less the 11 with a missing price
    assert len(u.ids) == 619_029


def test_every_indicator_matches_talib(universe: Universe) -> None:
    m = universe.metrics
    checked = 0
    for j in range(universe.panel.shape[1]):
        b = universe.column(j)
        h, lo, c, v = (b[k] for k in ("high", "low", "close", "volume"))
        n = len(c)
        scale = float(np.mean(np.abs(c)))

        def mine(field: str, n: int = n, j: int = j) -> np.ndarray:
            return m[field][:n, j]

        for k in (20, 50, 200):
            _agree(f"sma{k}", mine(f"sma{k}"), talib.SMA(c, k), scale)
        _agree("ema12", mine("ema12"), talib.EMA(c, 12), scale)
        _agree("ema26", mine("ema26"), talib.EMA(c, 26), scale)
        _agree("rsi14", mine("rsi14"), talib.RSI(c, 14), 100.0)
        line, sig, hist = talib.MACD(c, 12, 26, 9)
        # TA-Lib reports the line only once the signal exists; ours starts at the slow seed
        _agree("macd", mine("macd"), line, scale, nan_pattern=False)
        assert np.isnan(mine("macd")[:25]).all() and not np.isnan(mine("macd")[25:]).any()
        _agree("macd_signal", mine("macd_signal"), sig, scale)
        _agree("macd_hist", mine("macd_hist"), hist, scale)
        _agree("atr14", mine("atr14"), talib.ATR(h, lo, c, 14), scale)
        upper, middle, lower = talib.BBANDS(c, 20, 2.0, 2.0, 0)
        _agree("bb_upper", mine("bb_upper"), upper, scale)
        _agree("bb_lower", mine("bb_lower"), lower, scale)
        _agree("bb_middle", mine("sma20"), middle, scale)
        for label, k in (("20d", 20), ("50d", 50), ("52w", 252)):
            _agree(f"high_{label}", mine(f"high_{label}"), talib.MAX(h, k), scale)
            _agree(f"low_{label}", mine(f"low_{label}"), talib.MIN(lo, k), scale)
        vscale = float(np.mean(v))
        _agree("avg_volume_20", mine("avg_volume_20"), talib.SMA(v, 20), vscale)
        _agree("avg_volume_50", mine("avg_volume_50"), talib.SMA(v, 50), vscale)
        rets = c[1:] / c[:-1] - 1.0
        for field, k in (("volatility_1w", 5), ("volatility_1m", 21)):
            ref = np.full(n, np.nan)
            # TA-Lib's STDDEV is the population deviation; ours is the sample one, in percent
            ref[1:] = talib.STDDEV(rets, k, 1.0) * np.sqrt(k / (k - 1)) * 100.0
            _agree(field, mine(field), ref, 1.0)
        # beta: TA-Lib's BETA of the close on the index level sampled at the security's dates
        level = universe.market.level[np.searchsorted(universe.market.calendar, b["dates"])]
        _agree("beta", mine("beta"), talib.BETA(level, c, 252), 1.0)
        checked += 1
    assert checked == universe.panel.shape[1]


def test_derived_fields_follow_their_definitions(universe: Universe) -> None:
    m = universe.metrics
    c, o, h = universe.panel.close, universe.panel.open, universe.panel.high
    ok = ~np.isnan(m["sma200"])
    np.testing.assert_allclose(m["dist_sma200_pct"][ok], (c[ok] / m["sma200"][ok] - 1) * 100, rtol=1e-12)
    np.testing.assert_allclose(m["perf_1w"][5:][ok[5:]], ((c[5:] / c[:-5] - 1) * 100)[ok[5:]], rtol=1e-12)
    gap = ~np.isnan(m["gap_pct"])
    np.testing.assert_allclose(m["gap_pct"][gap], ((o[1:] / c[:-1] - 1) * 100)[gap[1:]], rtol=1e-12)
    flags = m["new_high_52w"][~np.isnan(m["new_high_52w"])]
    assert set(np.unique(flags)) <= {0.0, 1.0} and 0 < flags.mean() < 0.2
    hit = m["new_high_52w"] == 1.0
    assert np.array_equal(h[hit], m["high_52w"][hit])
    pctb = m["bb_pctb"]
    inside = (pctb >= 0) & (pctb <= 1)
    assert 0.85 < inside[~np.isnan(pctb)].mean() < 1.0


def test_ytd_uses_the_last_close_of_the_previous_year(universe: Universe) -> None:
    j = 0
    b = universe.column(j)
    dates, c = b["dates"], b["close"]
    day = np.flatnonzero(dates >= np.datetime64("2017-03-01"))[0]
    prev = np.flatnonzero(dates < np.datetime64("2017-01-01"))[-1]
    assert universe.metrics["perf_ytd"][day, j] == pytest.approx((c[day] / c[prev] - 1) * 100, rel=1e-12)
    # the first year on file has no previous close
    assert np.isnan(universe.metrics["perf_ytd"][: np.flatnonzero(dates >= np.datetime64("2014-01-01"))[0], j]).all()


def test_one_security_history_equals_its_panel_column(universe: Universe) -> None:
    for j in (0, universe.panel.shape[1] - 1):
        b = universe.column(j)
        one = mt.history(b, universe.market)  # 1-D code paths
        n = len(b["close"])
        for field, arr in one.items():
            np.testing.assert_allclose(arr, universe.metrics[field][:n, j], rtol=1e-12, atol=1e-12, err_msg=field)


def test_incremental_equals_full_recompute(universe: Universe) -> None:
    """Yesterday's state + the last TAIL bars gives today's metrics exactly as a full recompute."""
    ids, dates, ohlcv = universe.ids, universe.dates, universe.ohlcv
    ends = np.append(np.flatnonzero(np.diff(ids)) + 1, len(ids))
    new = np.arange(len(ends)) % 3  # no new bar, one or two
    drop = np.zeros(len(ids), dtype=bool)
    for e, k in zip(ends, new, strict=True):
        drop[e - k : e] = True
    yesterday = mt.panel_from_flat(ids[~drop], dates[~drop], ohlcv[~drop])
    state = mt.state_at_last(yesterday, mt.recursive_full(yesterday))
    tail = mt.panel_from_flat(ids, dates, ohlcv, tail=mt.TAIL + new)
    market = mt.market_index_flat(ids, dates, ohlcv[:, 3])
    last, new_state = mt.advance(tail, state, new, universe.panel.lengths, market)
    full = mt.last_rows(universe.panel, universe.metrics)
    for field, expected in full.items():
        got = last[field]
        assert np.array_equal(np.isnan(got), np.isnan(expected)), field
        ok = ~np.isnan(expected)
        np.testing.assert_allclose(got[ok], expected[ok], rtol=1e-8, atol=1e-10, err_msg=field)
    full_state = mt.state_at_last(universe.panel, mt.recursive_full(universe.panel))
    for k in mt.STATE_FIELDS:
        np.testing.assert_allclose(new_state[k], full_state[k], rtol=1e-10, err_msg=k)


def test_advance_by_chunks_equals_advance(universe: Universe) -> None:
    """The daily build advances a few hundred securities at a time: the same values as all at once
    (chunks of 3 here, each cut to its own longest tail; some tails shorter than TAIL)."""
    ids, dates, ohlcv = universe.ids, universe.dates, universe.ohlcv
    new = np.arange(universe.panel.shape[1]) % 3
    tail = mt.panel_from_flat(ids, dates, ohlcv, tail=mt.TAIL + new - 40 * (np.arange(len(new)) % 2))
    state = mt.state_at_last(universe.panel, mt.recursive_full(universe.panel))
    market = mt.market_index_flat(ids, dates, ohlcv[:, 3])
    whole = mt.advance(tail, state, new, universe.panel.lengths, market)
    chunked = mt.advance_chunked(tail, state, new, universe.panel.lengths, market, chunk=3)
    for a, b in zip(whole, chunked, strict=True):
        assert a.keys() == b.keys()
        for field in a:
            np.testing.assert_array_equal(a[field], b[field], err_msg=field)


def test_as_of_rows_are_point_in_time(universe: Universe) -> None:
    """The metrics at a past date equal those computed from the bars known on that date."""
    day = dt.date(2016, 6, 15)
    cols, dates, values = mt.rows_as_of(universe.panel, universe.metrics, day)
    keep = universe.dates <= np.datetime64(day)
    past = mt.panel_from_flat(universe.ids[keep], universe.dates[keep], universe.ohlcv[keep])
    expected = mt.last_rows(past, mt.compute(past, mt.market_index(past)))
    assert np.array_equal(universe.panel.security_ids[cols], past.security_ids)
    assert (dates <= np.datetime64(day)).all()
    for field, exp in expected.items():
        got = values[field]
        assert np.array_equal(np.isnan(got), np.isnan(exp)), field
        ok = ~np.isnan(exp)
        np.testing.assert_allclose(got[ok], exp[ok], rtol=1e-9, atol=1e-12, err_msg=field)


def test_rolling_helpers_on_padded_panels() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(100, 5, size=(300, 4))
    x[250:, 1] = np.nan  # a shorter column (left-aligned padding)
    x[:40, 2] = np.nan  # a right-aligned column
    for n in (5, 20, 64):
        for j in range(4):
            col = x[:, j]
            valid = ~np.isnan(col)
            lo, hi = np.flatnonzero(valid)[[0, -1]]
            seg = col[lo : hi + 1]
            for mine, ref in (
                (ind.rolling_extremes(x, (n,), np.maximum)[0][:, j], talib.MAX(seg, n)),
                (ind.rolling_extremes(x, (n,), np.minimum)[0][:, j], talib.MIN(seg, n)),
                (ind.sma(x, n)[:, j], talib.SMA(seg, n)),
                (ind.rolling_std(x, n)[:, j], talib.STDDEV(seg, n, 1.0)),
            ):
                got = mine[lo : hi + 1]
                assert np.array_equal(np.isnan(got), np.isnan(ref))
                np.testing.assert_allclose(got[~np.isnan(ref)], ref[~np.isnan(ref)], rtol=1e-9)
                if lo:
                    assert np.isnan(mine[:lo]).all()


def test_continuing_a_recursion_from_state_matches_the_whole_run() -> None:
    x = np.linspace(10, 20, 100) + np.sin(np.arange(100))
    whole = ind.ema(x, 12)
    resumed = ind.ema(x[60:], 12, init=whole[59])
    np.testing.assert_allclose(resumed, whole[60:], rtol=1e-13)
    gain, _loss = ind.gains_losses(x)
    w = ind.wilder(gain, 14, 1)
    np.testing.assert_allclose(ind.wilder(gain[50:], 14, 1, init=w[49]), w[50:], rtol=1e-13)


@pytest.mark.parametrize("freq", ["W", "M"])
def test_weekly_and_monthly_bars(freq: str) -> None:
    _symbols, ids, dates, ohlcv = read_bars_csv(str(FIXTURE))
    panel = mt.panel_from_flat(ids, dates, ohlcv)
    weekly = mt.resample(panel, freq)
    assert np.array_equal(weekly.security_ids, panel.security_ids)
    for j in range(panel.shape[1]):
        b = panel.column(j)
        # straightforward grouping: ISO (year, week) or (year, month) of each bar
        groups: dict[tuple[int, int], list[int]] = {}
        for i, d in enumerate(b["dates"].tolist()):
            k = d.isocalendar()[:2] if freq == "W" else (d.year, d.month)
            groups.setdefault(k, []).append(i)
        w = weekly.column(j)
        assert len(w["dates"]) == len(groups)
        for n, rows in enumerate(groups.values()):
            assert w["dates"][n] == b["dates"][rows[-1]]
            assert w["open"][n] == b["open"][rows[0]] and w["close"][n] == b["close"][rows[-1]]
            assert w["high"][n] == b["high"][rows].max() and w["low"][n] == b["low"][rows].min()
            assert w["volume"][n] == b["volume"][rows].sum()
        # the weekly timeframe's RSI is TA-Lib's RSI of the weekly closes
        m = mt.compute(weekly)
        ref = talib.RSI(w["close"], 14)
        ok = ~np.isnan(ref)
        np.testing.assert_allclose(m["rsi14"][: len(ref), j][ok], ref[ok], rtol=1e-9)


def test_unknown_timeframe_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown timeframe 'D'"):
        mt.resample_flat(np.zeros(1, np.int64), np.array(["2018-01-02"], "datetime64[D]"), np.ones((1, 5)), "D")


def test_chunked_rows_equal_whole_panel(universe: Universe) -> None:
    """Computing a chunk of securities at a time (bounded memory) changes nothing."""
    last, state = mt.last_rows_chunked(universe.panel, universe.market, chunk=3)
    whole = mt.last_rows(universe.panel, universe.metrics)
    for k, v in whole.items():
        np.testing.assert_array_equal(last[k], v, err_msg=k)
    whole_state = mt.state_at_last(universe.panel, mt.recursive_full(universe.panel))
    for k in mt.STATE_FIELDS:
        np.testing.assert_array_equal(state[k], whole_state[k], err_msg=k)
    day = dt.date(2017, 3, 1)
    cols, dates, values = mt.rows_as_of_chunked(universe.panel, universe.market, day, chunk=5)
    cols2, dates2, values2 = mt.rows_as_of(universe.panel, universe.metrics, day)
    assert np.array_equal(cols, cols2) and np.array_equal(dates, dates2)
    for k, v in values2.items():
        np.testing.assert_array_equal(values[k], v, err_msg=k)
