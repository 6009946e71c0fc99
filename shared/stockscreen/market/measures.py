"""Every catalogue metric for every date of every security, as aligned arrays.

A :class:`Panel` holds the daily bars of many securities as time-major ``(T, S)``
arrays: column ``j`` is one security's own bars in date order (gaps in its history are
simply absent, as TA-Lib would see them). :func:`compute` returns one ``(T, S)`` array
per snapshot metric, aligned with ``panel.dates``, so the screener can evaluate history
(``close > close[-5]``, ``rsi14 < 30 within 10 days``), backtests can walk any date, and a
snapshot ``as_of`` any past date is one row per column (:func:`rows_as_of`). Flags are
1.0/0.0 (NaN where unknown); labels are produced at snapshot time.

For a daily run, :func:`advance` computes the new rows from the last ``TAIL`` bars of
each security plus the stored recursive state (EMA, Wilder averages, MACD), and returns
the new state; it equals the full recompute (tests prove it on the demo data).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from stockscreen.market import indicators as ind
from stockscreen.market.calendar import month_keys, week_keys
from stockscreen.market.indicators import F

if TYPE_CHECKING:
    from numpy.typing import NDArray

#: Bars of history a daily run reads per security: the longest window (252 sessions for
#: 52-week figures, 1-year performance and beta) plus room for the previous year's close
#: (YTD) and calendar gaps.
TAIL = 300
#: Recursive state kept between daily runs (values at the security's last bar).
STATE_FIELDS = ("ema12", "ema26", "macd_fast", "macd_signal", "avg_gain", "avg_loss", "atr14")
#: Bars needed before every recursive state is defined (MACD signal: 26 + 9 - 1).
WARMUP = 34

I64: TypeAlias = "NDArray[np.int64]"
Dates: TypeAlias = "NDArray[np.datetime64]"


@dataclass
class Panel:
    security_ids: I64  # (S,)
    dates: Dates  # (T, S) datetime64[D], NaT after a security's last bar (or before, right-aligned)
    open: F
    high: F
    low: F
    close: F
    volume: F
    lengths: I64  # (S,) bars per security
    #: the adjusted close (NaN where a bar has none), None when no bar has one: read by the
    #: total-return performance fields only, every other metric is of the raw prices
    adj_close: F | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.close.shape[0]), int(self.close.shape[1]))

    def columns(self, start: int, stop: int) -> Panel:
        """The securities ``start:stop`` as their own (contiguous) panel."""
        rows = int(self.lengths[start:stop].max()) if stop > start else 0
        return self.cut(slice(0, rows), start, stop)

    def cut(self, rows: slice, start: int, stop: int) -> Panel:
        """The rows ``rows`` of the securities ``start:stop`` as their own (contiguous) panel."""
        take = (rows, slice(start, stop))

        def part(a: F) -> F:
            return np.ascontiguousarray(a[take])

        return Panel(
            self.security_ids[start:stop],
            np.ascontiguousarray(self.dates[take]),
            part(self.open),
            part(self.high),
            part(self.low),
            part(self.close),
            part(self.volume),
            self.lengths[start:stop],
            None if self.adj_close is None else part(self.adj_close),
        )

    def column(self, j: int) -> dict[str, Any]:
        """One security's bars as 1-D arrays (its own rows only)."""
        valid = ~np.isnat(self.dates[:, j])
        return {
            "dates": self.dates[valid, j],
            **{k: getattr(self, k)[valid, j] for k in ("open", "high", "low", "close", "volume")},
        }


def panel_from_flat(ids: I64, dates: Dates, ohlcv: F, tail: int | I64 | None = None) -> Panel:
    """Build a panel from rows sorted by (security, date): ``ohlcv`` is ``(N, 5)``, or ``(N, 6)`` with
    the adjusted close last (NaN where a bar has none).

    With ``tail`` (a count, or one per security), keep only each security's last ``tail``
    bars, right-aligned (its last bar on the last row); otherwise left-aligned full histories.
    """
    if len(ids) == 0:
        empty = np.empty((0, 0))
        return Panel(np.empty(0, np.int64), np.empty((0, 0), "datetime64[D]"), *(empty,) * 5, np.empty(0, np.int64))
    bounds = np.flatnonzero(np.diff(ids)) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [len(ids)]))
    lengths = ends - starts
    if tail is not None:
        starts = np.maximum(starts, ends - tail)
        lengths = ends - starts
    t_max = int(lengths.max())
    n_sec = len(starts)
    # row of every kept bar within its column
    keep = np.zeros(len(ids), dtype=bool)
    offsets = np.zeros(len(ids), dtype=np.int64)
    col = np.repeat(np.arange(n_sec), lengths)
    idx = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends, strict=True)])
    keep[idx] = True
    offsets[idx] = idx - np.repeat(starts, lengths)
    if tail is not None:
        offsets[idx] += np.repeat(t_max - lengths, lengths)
    rows = offsets[idx]
    out_dates = np.full((t_max, n_sec), np.datetime64("NaT"), dtype="datetime64[D]")
    out_dates[rows, col] = dates[idx]
    arrays = []
    adjusted = ohlcv.shape[1] > 5 and not np.isnan(ohlcv[:, 5]).all()
    for k in range(6 if adjusted else 5):
        a = np.full((t_max, n_sec), np.nan)
        a[rows, col] = ohlcv[idx, k]
        arrays.append(a)
    o, h, lo, c, v = arrays[:5]
    adj = arrays[5] if adjusted else None
    return Panel(ids[starts].astype(np.int64), out_dates, o, h, lo, c, v, lengths.astype(np.int64), adj)


@dataclass
class Market:
    """An equal-weighted index of the universe: level by calendar date."""

    calendar: Dates  # sorted unique dates
    level: F

    def returns_for(self, dates: Dates) -> F:
        """Index return between consecutive dates of each column (NaN at a column's first bar)."""
        flat = dates.ravel()
        valid = ~np.isnat(flat)
        lvl = np.full(flat.shape, np.nan)
        pos = np.searchsorted(self.calendar, flat[valid])
        pos = np.minimum(pos, len(self.calendar) - 1)
        found = self.calendar[pos] == flat[valid]
        vals = np.where(found, self.level[pos], np.nan)
        lvl[valid] = vals
        levels = lvl.reshape(dates.shape)
        out = np.full(dates.shape, np.nan)
        out[1:] = levels[1:] / levels[:-1] - 1.0
        return out


def market_index(panel: Panel) -> Market:
    """Equal-weighted index of the panel's securities (see :func:`market_index_flat`)."""
    ret = np.full(panel.close.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        ret[1:] = panel.close[1:] / panel.close[:-1] - 1.0
    valid = ~np.isnat(panel.dates)
    return _index_from_returns(panel.dates[valid], ret[valid])


def market_index_flat(ids: I64, dates: Dates, close: F) -> Market:
    """Equal-weighted index: on each date, the mean of the daily returns (close over the
    security's own previous close) of every security with a bar that day. Rows sorted by
    (security, date)."""
    ret = np.full(len(close), np.nan)
    if len(close) > 1:
        same = ids[1:] == ids[:-1]
        with np.errstate(invalid="ignore", divide="ignore"):
            ret[1:] = np.where(same, close[1:] / close[:-1] - 1.0, np.nan)
    return _index_from_returns(dates, ret)


def _index_from_returns(dates: Dates, ret: F) -> Market:
    calendar = np.unique(dates)
    if len(calendar) == 0:
        return Market(calendar, np.empty(0))
    ok = ~np.isnan(ret)
    pos = np.searchsorted(calendar, dates[ok])
    sums = np.bincount(pos, weights=ret[ok], minlength=len(calendar))
    counts = np.bincount(pos, minlength=len(calendar))
    daily = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    daily[0] = 0.0
    return Market(calendar, np.cumprod(1.0 + daily).astype(np.float64))


def _pct(a: F, b: F) -> F:
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (a / b - 1.0) * 100.0
    out[~np.isfinite(out)] = np.nan
    return out


def _shift(x: F, k: int) -> F:
    out = np.full(x.shape, np.nan)
    if k < x.shape[0]:
        out[k:] = x[:-k]
    return out


def _flag(cond: NDArray[np.bool_], known: NDArray[np.bool_]) -> F:
    return np.where(known, cond.astype(np.float64), np.nan)


def recursive_full(panel: Panel) -> dict[str, F]:
    """The recursive indicators over full, left-aligned histories, in two passes over time
    (TA-Lib's seeds: EMA n at row n-1; MACD's fast EMA at the slow one's row; Wilder at 14)."""
    c, h, lo = panel.close, panel.high, panel.low
    gain, loss = ind.gains_losses(c)
    tr = ind.true_range(h, lo, c)
    t = c.shape[0]

    def mean(x: F, a: int, b: int) -> F:
        return np.mean(x[a:b], axis=0) if t >= b else np.full(x.shape[1:], np.nan)

    ema12, ema26, avg_gain, avg_loss, atr14 = ind.recursive_many(
        [
            (c, 2.0 / 13, 11, mean(c, 0, 12)),
            (c, 2.0 / 27, 25, mean(c, 0, 26)),
            (gain, 1.0 / 14, 14, mean(gain, 1, 15)),
            (loss, 1.0 / 14, 14, mean(loss, 1, 15)),
            (tr, 1.0 / 14, 14, mean(tr, 1, 15)),
        ]
    )
    fast = np.full(c.shape, np.nan)
    signal = np.full(c.shape, np.nan)
    if t >= 26:
        # MACD's fast EMA is EMA 12 re-seeded at row 25; the recursion is linear, so the two
        # differ by the seed gap decaying as (11/13)**(t-25): no second pass over time needed
        decay = (11.0 / 13.0) ** np.arange(t - 25, dtype=np.float64)
        gap = mean(c, 14, 26) - ema12[25]
        fast[25:] = ema12[25:] + np.multiply.outer(decay, gap) if c.ndim == 2 else ema12[25:] + decay * gap
        signal[25:] = ind.ema(fast[25:] - ema26[25:], 9)
    return {
        "ema12": ema12,
        "ema26": ema26,
        "macd_fast": fast,
        "macd_signal": signal,
        "avg_gain": avg_gain,
        "avg_loss": avg_loss,
        "atr14": atr14,
    }


def indicators_full(panel: Panel, recursive: Mapping[str, F] | None = None) -> dict[str, F]:
    """The TA-Lib indicator set (what the benchmark times against TA-Lib): SMA 20/50/200,
    EMA 12/26, RSI 14, MACD 12/26/9, ATR 14, Bollinger 20/2, rolling max/min of
    20/50/252 sessions, average volume 20/50 and the 1W/1M standard deviation of returns."""
    c, h, lo, v = panel.close, panel.high, panel.low, panel.volume
    rec = dict(recursive) if recursive is not None else recursive_full(panel)
    out: dict[str, F] = {}
    out["sma20"], out["sma50"], out["sma200"] = ind.sma_many(c, (20, 50, 200))
    out["ema12"], out["ema26"] = rec["ema12"], rec["ema26"]
    out["rsi14"] = ind.rsi_from_averages(rec["avg_gain"], rec["avg_loss"])
    out["macd"] = rec["macd_fast"] - rec["ema26"]
    out["macd_signal"] = rec["macd_signal"]
    out["macd_hist"] = out["macd"] - out["macd_signal"]
    out["atr14"] = rec["atr14"]
    (sd20,) = ind.rolling_std_many(c, (20,))
    out["bb_upper"] = out["sma20"] + 2.0 * sd20
    out["bb_lower"] = out["sma20"] - 2.0 * sd20
    highs = ind.rolling_extremes(h, (20, 50, 252), np.maximum)
    lows = ind.rolling_extremes(lo, (20, 50, 252), np.minimum)
    for k, label in enumerate(("20d", "50d", "52w")):
        out[f"high_{label}"], out[f"low_{label}"] = highs[k], lows[k]
    out["avg_volume_20"], out["avg_volume_50"] = ind.sma_many(v, (20, 50))
    with np.errstate(invalid="ignore", divide="ignore"):
        rets = np.full(c.shape, np.nan)
        rets[1:] = c[1:] / c[:-1] - 1.0
    sd5, sd21 = ind.rolling_std_many(rets, (5, 21), ddof=1)
    out["volatility_1w"], out["volatility_1m"] = sd5 * 100.0, sd21 * 100.0
    out["_returns"] = rets
    return out


def _masked_recursion(x: F, alpha: float, init: F, start: I64) -> F:
    """Continue ``y = y + alpha (x - y)`` from ``init`` (the value at row ``start - 1``) in
    each column from its row ``start``; a column with no new row keeps ``init`` on its
    last row. Rows before ``start - 1`` are NaN (the state does not say what they were)."""
    length = x.shape[0]
    y = np.full(x.shape, np.nan)
    prev = init.astype(np.float64, copy=True)
    first = max(int(start.min()) - 1, 0) if len(start) else length
    for t in range(first, length):
        active = t >= start
        if active.any():
            prev = np.where(active, prev + alpha * (x[t] - prev), prev)
        y[t] = prev
    rows = np.arange(length)[:, None]
    y[rows < (start - 1)[None, :]] = np.nan
    return y


def recursive_continued(panel: Panel, state: Mapping[str, F], new_bars: I64) -> dict[str, F]:
    """The recursive indicators of a right-aligned tail panel whose columns end with
    ``new_bars`` bars the ``state`` (values at the bar before them) has not seen."""
    c, h, lo = panel.close, panel.high, panel.low
    start = panel.shape[0] - new_bars
    gain, loss = ind.gains_losses(c)
    tr = ind.true_range(h, lo, c)
    macd_fast = _masked_recursion(c, 2.0 / 13, state["macd_fast"], start)
    ema26 = _masked_recursion(c, 2.0 / 27, state["ema26"], start)
    signal = _masked_recursion(macd_fast - ema26, 2.0 / 10, state["macd_signal"], start)
    return {
        "ema12": _masked_recursion(c, 2.0 / 13, state["ema12"], start),
        "ema26": ema26,
        "macd_fast": macd_fast,
        "macd_signal": signal,
        "avg_gain": _masked_recursion(gain, 1.0 / 14, state["avg_gain"], start),
        "avg_loss": _masked_recursion(loss, 1.0 / 14, state["avg_loss"], start),
        "atr14": _masked_recursion(tr, 1.0 / 14, state["atr14"], start),
    }


def compute(
    panel: Panel,
    market: Market | None = None,
    recursive: Mapping[str, F] | None = None,
    fundamentals: Mapping[str, F] | None = None,
) -> dict[str, F]:
    """Every numeric and flag metric, one ``(T, S)`` array each, aligned with the panel.

    ``fundamentals``: per-security ``(S,)`` arrays (``price``, ``market_cap``, ``eps``,
    ``dividend_yield``, ``price_book``, ``price_sales``, ``ebitda``) from one report; the
    report's values are restated at each close (shares from market cap / report price).
    Without them the fundamental metrics are NaN.
    """
    o, h, lo, c, v = panel.open, panel.high, panel.low, panel.close, panel.volume
    m: dict[str, F] = indicators_full(panel, recursive)
    rets = m.pop("_returns")
    prev = _shift(c, 1)
    m.update(open=o, high=h, low=lo, close=c, volume=v, prev_close=prev)
    m["change"] = c - prev
    m["change_pct"] = _pct(c, prev)
    m["gap_pct"] = _pct(o, prev)
    m["change_from_open_pct"] = _pct(c, o)
    m["dollar_volume"] = c * v
    m["history_days"] = _history_days(panel)
    for k in (20, 50, 200):
        m[f"dist_sma{k}_pct"] = _pct(c, m[f"sma{k}"])
    m["dist_sma50_sma200_pct"] = _pct(m["sma50"], m["sma200"])
    with np.errstate(invalid="ignore", divide="ignore"):
        m["atr_pct"] = m["atr14"] / c * 100.0
        width = m["bb_upper"] - m["bb_lower"]
        m["bb_pctb"] = np.where(width > 0, (c - m["bb_lower"]) / width, np.nan)
        m["bb_width"] = np.where(m["sma20"] != 0, width / m["sma20"] * 100.0, np.nan)
    for label in ("20d", "50d", "52w"):
        hi, lw = m[f"high_{label}"], m[f"low_{label}"]
        m[f"dist_high_{label}_pct"] = _pct(c, hi)
        m[f"dist_low_{label}_pct"] = _pct(c, lw)
        m[f"new_high_{label}"] = _flag(h >= hi, ~np.isnan(hi))
        m[f"new_low_{label}"] = _flag(lo <= lw, ~np.isnan(lw))
    with np.errstate(invalid="ignore", divide="ignore"):
        span = m["high_52w"] - m["low_52w"]
        m["range_52w_pct"] = span / m["low_52w"] * 100.0
        m["pos_52w_pct"] = np.where(span > 0, (c - m["low_52w"]) / span * 100.0, np.nan)
        m["rel_volume"] = np.where(m["avg_volume_50"] > 0, v / m["avg_volume_50"], np.nan)
    for key, days in PERF_PERIODS:
        m[key] = _pct(c, _shift(c, days))
    m["perf_ytd"] = _pct(c, _previous_year_close(panel))
    m.update(total_returns(panel, m))
    m["beta"] = _beta(rets, market.returns_for(panel.dates) if market is not None else None, 252)
    m.update(fundamental_metrics(c, fundamentals))
    return m


#: the performance fields' look-backs in sessions (``perf_ytd`` looks back to the previous year's last close)
PERF_PERIODS = (("perf_1w", 5), ("perf_1m", 21), ("perf_3m", 63), ("perf_6m", 126), ("perf_1y", 252))


def total_returns(panel: Panel, m: Mapping[str, F]) -> dict[str, F]:
    """``perf_tr_*``: each performance field as a total return (dividends included), from the adjusted
    close where the bars have one at both ends of the period; the price return otherwise (``m``'s
    ``perf_*``, which it equals for bars without adjusted closes)."""
    periods = (*((k, d) for k, d in PERF_PERIODS), ("perf_ytd", 0))
    adj = panel.adj_close
    if adj is None:
        return {k.replace("perf_", "perf_tr_"): m[k] for k, _ in periods}
    out: dict[str, F] = {}
    for key, days in periods:
        then = _shift(adj, days) if days else _previous_year_close(panel, adj)
        total = _pct(adj, then)
        out[key.replace("perf_", "perf_tr_")] = np.where(np.isnan(adj) | np.isnan(then), m[key], total)
    return out


def _history_days(panel: Panel) -> F:
    valid = ~np.isnat(panel.dates)
    return np.where(valid, ind.cumsum0(valid.astype(np.float64)), np.nan)


def _previous_year_close(panel: Panel, values: F | None = None) -> F:
    """For each bar, the security's last close (or of ``values``: the adjusted close) of the previous
    calendar year (NaN if not on file)."""
    years = panel.dates.astype("datetime64[Y]").astype(np.int64)
    t = panel.shape[0]
    rows = np.arange(t)[:, None] * np.ones((1, panel.shape[1]), dtype=np.int64)
    changed = np.zeros(years.shape, dtype=bool)
    changed[1:] = years[1:] != years[:-1]
    run_start = np.maximum.accumulate(np.where(changed, rows, 0), axis=0)
    prev_row = run_start - 1
    ok = (prev_row >= 0) & ~np.isnat(panel.dates)
    out = np.full(panel.close.shape, np.nan)
    cols = np.broadcast_to(np.arange(panel.shape[1]), years.shape)
    safe = np.where(ok, prev_row, 0)
    vals = (panel.close if values is None else values)[safe, cols]
    # the previous row must be in the year before (not the padding before a right-aligned column)
    prev_years = years[safe, cols]
    good = ok & ~np.isnat(panel.dates[safe, cols]) & (prev_years == years - 1)
    out[good] = vals[good]
    return out


def _beta(r: F, rm: F | None, n: int) -> F:
    """Rolling OLS slope of the security's returns on the index's (TA-Lib BETA's formula)."""
    if rm is None:
        return np.full(r.shape, np.nan)
    both = ~np.isnan(r) & ~np.isnan(rm)
    x = np.where(both, rm, np.nan)
    y = np.where(both, r, np.nan)
    sx, sy = _window_sum_nan(x, n), _window_sum_nan(y, n)
    sxy, sxx = _window_sum_nan(x * y, n), _window_sum_nan(x * x, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        den = n * sxx - sx * sx
        out = np.where(den != 0, (n * sxy - sx * sy) / den, np.nan)
    return out


def _window_sum_nan(x: F, n: int) -> F:
    """Windowed sum of ``n`` values ending at each row, NaN if any of them is NaN."""
    out = np.full(x.shape, np.nan)
    if x.shape[0] < n:
        return out
    nan = np.isnan(x)
    z = np.where(nan, 0.0, x)
    c = ind.cumsum0(z)
    k = ind.cumsum0(nan.astype(np.float64))
    s = c[n - 1 :].copy()
    s[1:] -= c[:-n]
    bad = k[n - 1 :].copy()
    bad[1:] -= k[:-n]
    out[n - 1 :] = np.where(bad == 0, s, np.nan)
    return out


FUNDAMENTAL_INPUTS = ("price", "market_cap", "eps", "dividend_yield", "price_book", "price_sales", "ebitda")


def fundamental_metrics(close: F, f: Mapping[str, F] | None) -> dict[str, F]:
    """Fundamental fields restated at each close from one report per security."""
    nan = np.full(close.shape, np.nan)
    if f is None:
        return {k: nan for k in _FUNDAMENTAL_OUTPUTS}
    price, cap, eps = f["price"], f["market_cap"], f["eps"]
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(price > 0, cap / price, np.nan) * np.ones_like(close)
        market_cap = shares * close
        ratio = close / price  # price now / price at the report
        sales = np.where(f["price_sales"] > 0, cap / f["price_sales"], np.nan) * np.ones_like(close)
        ebitda = f["ebitda"] * np.ones_like(close)
        dps = f["dividend_yield"] * price / 100.0 * np.ones_like(close)
        net_income = eps * shares
        out = {
            "market_cap": market_cap,
            "shares_outstanding": shares,
            "eps": eps * np.ones_like(close),
            "pe": np.where(eps > 0, close / eps, np.nan),
            "earnings_yield": eps / close * 100.0,
            "dividend_yield": f["dividend_yield"] / ratio,
            "dividend_per_share": dps,
            "payout_ratio": np.where(eps > 0, dps / eps * 100.0, np.nan),
            "price_book": f["price_book"] * ratio,
            "book_per_share": np.where(f["price_book"] > 0, price / f["price_book"], np.nan) * np.ones_like(close),
            "price_sales": f["price_sales"] * ratio,
            "sales": sales,
            "ebitda": ebitda,
            "ebitda_margin": np.where(sales > 0, ebitda / sales * 100.0, np.nan),
            "ebitda_yield": np.where(market_cap > 0, ebitda / market_cap * 100.0, np.nan),
            "market_cap_ebitda": np.where(ebitda > 0, market_cap / ebitda, np.nan),
            "net_income": net_income,
            "profit_margin": np.where(sales > 0, net_income / sales * 100.0, np.nan),
        }
    for a in out.values():
        a[~np.isfinite(a)] = np.nan
    return out


_FUNDAMENTAL_OUTPUTS = (
    "market_cap",
    "shares_outstanding",
    "eps",
    "pe",
    "earnings_yield",
    "dividend_yield",
    "dividend_per_share",
    "payout_ratio",
    "price_book",
    "book_per_share",
    "price_sales",
    "sales",
    "ebitda",
    "ebitda_margin",
    "ebitda_yield",
    "market_cap_ebitda",
    "net_income",
    "profit_margin",
)


def history(bars: Mapping[str, Any], market: Market | None = None) -> dict[str, F]:
    """Every metric for every date of one security (1-D arrays aligned with ``bars['dates']``)."""
    n = len(bars["close"])
    ids = np.zeros(n, dtype=np.int64)
    ohlcv = np.column_stack([np.asarray(bars[k], dtype=np.float64) for k in ("open", "high", "low", "close", "volume")])
    panel = panel_from_flat(ids, np.asarray(bars["dates"], dtype="datetime64[D]"), ohlcv)
    return {k: a[:, 0] for k, a in compute(panel, market).items()}


def last_rows(panel: Panel, metrics: Mapping[str, F]) -> dict[str, F]:
    """Each security's metrics at its last bar: ``(S,)`` arrays."""
    rows = _last_row_index(panel)
    cols = np.arange(panel.shape[1])
    return {k: a[rows, cols] for k, a in metrics.items()}


def _last_row_index(panel: Panel) -> I64:
    valid = ~np.isnat(panel.dates)
    t = panel.shape[0]
    return np.asarray(t - 1 - np.argmax(valid[::-1], axis=0), dtype=np.int64)


def rows_as_of(panel: Panel, metrics: Mapping[str, F], as_of: dt.date) -> tuple[I64, Dates, dict[str, F]]:
    """Each security's metrics at its last bar on or before ``as_of``.

    Returns the column indices that have such a bar, those bars' dates and the values.
    Every metric at a row depends only on bars up to that row, so this is point in time.
    """
    day = np.datetime64(as_of, "D")
    on_or_before = ~np.isnat(panel.dates) & (panel.dates <= day)
    has = on_or_before.any(axis=0)
    t = panel.shape[0]
    rows = t - 1 - np.argmax(on_or_before[::-1], axis=0)
    cols = np.flatnonzero(has)
    rows = rows[cols]
    return cols, panel.dates[rows, cols], {k: a[rows, cols] for k, a in metrics.items()}


#: Securities per chunk when only some rows of the history are needed: bounds peak
#: memory (every metric of a full panel is ~90 arrays of T x S floats) to a Lambda's size.
CHUNK = 64


def last_rows_chunked(
    panel: Panel, market: Market | None, fundamentals: Mapping[str, F] | None = None, chunk: int = CHUNK
) -> tuple[dict[str, F], dict[str, F]]:
    """:func:`last_rows` of :func:`compute` and :func:`state_at_last`, a chunk of securities
    at a time. Only works on left-aligned panels (rows of a chunk are cut to its longest)."""
    metric_parts: list[dict[str, F]] = []
    state_parts: list[dict[str, F]] = []
    for start in range(0, panel.shape[1], chunk):
        stop = min(start + chunk, panel.shape[1])
        sub = panel.columns(start, stop)
        funds = {k: v[start:stop] for k, v in fundamentals.items()} if fundamentals is not None else None
        rec = recursive_full(sub)
        metric_parts.append(last_rows(sub, compute(sub, market, recursive=rec, fundamentals=funds)))
        state_parts.append(state_at_last(sub, rec))
    return (
        {k: np.concatenate([p[k] for p in metric_parts]) for k in metric_parts[0]},
        {k: np.concatenate([p[k] for p in state_parts]) for k in state_parts[0]},
    )


def rows_as_of_chunked(
    panel: Panel,
    market: Market | None,
    as_of: dt.date,
    fundamentals: Mapping[str, F] | None = None,
    chunk: int = CHUNK,
) -> tuple[I64, Dates, dict[str, F]]:
    """:func:`rows_as_of` of :func:`compute`, a chunk of securities at a time."""
    cols_parts: list[I64] = []
    date_parts: list[Dates] = []
    value_parts: list[dict[str, F]] = []
    for start in range(0, panel.shape[1], chunk):
        stop = min(start + chunk, panel.shape[1])
        sub = panel.columns(start, stop)
        funds = {k: v[start:stop] for k, v in fundamentals.items()} if fundamentals is not None else None
        cols, dates, values = rows_as_of(sub, compute(sub, market, fundamentals=funds), as_of)
        cols_parts.append(cols + start)
        date_parts.append(dates)
        value_parts.append(values)
    return (
        np.concatenate(cols_parts),
        np.concatenate(date_parts),
        {k: np.concatenate([p[k] for p in value_parts]) for k in value_parts[0]},
    )


def state_at_last(panel: Panel, rec: Mapping[str, F]) -> dict[str, F]:
    """Recursive state at each security's last bar (what :func:`advance` continues from)."""
    rows = _last_row_index(panel)
    cols = np.arange(panel.shape[1])
    return {k: rec[k][rows, cols] for k in STATE_FIELDS}


def advance(
    tail: Panel,
    state: Mapping[str, F],
    new_bars: I64,
    total_bars: I64,
    market: Market | None,
    fundamentals: Mapping[str, F] | None = None,
) -> tuple[dict[str, F], dict[str, F]]:
    """Metrics at each security's last bar from its last ``TAIL + new_bars`` bars (``tail``,
    right-aligned) and the recursive state at the bar before its ``new_bars`` unseen bars.
    Returns ``(last-row metrics, new state)``; equals :func:`compute` on the full history."""
    rec = recursive_continued(tail, state, new_bars)
    metrics = compute(tail, market, recursive=rec, fundamentals=fundamentals)
    last = {k: a[-1] for k, a in metrics.items()}
    last["history_days"] = total_bars.astype(np.float64)
    new_state = {k: rec[k][-1] for k in STATE_FIELDS}
    return last, new_state


#: Securities per chunk of :func:`advance_chunked`: every metric of a tail panel is ~90 arrays of
#: ``TAIL`` rows x S floats (1.8 GB at 10,000 securities), of which only the last row is kept.
ADVANCE_CHUNK = 256


def _right_columns(panel: Panel, start: int, stop: int) -> Panel:
    """The securities ``start:stop`` of a right-aligned panel as their own panel (its rows cut to the
    chunk's longest tail: every column keeps its last bar on the last row)."""
    rows = int(panel.lengths[start:stop].max()) if stop > start else 0
    return panel.cut(slice(panel.shape[0] - rows, panel.shape[0]), start, stop)


def advance_chunked(
    tail: Panel,
    state: Mapping[str, F],
    new_bars: I64,
    total_bars: I64,
    market: Market | None,
    fundamentals: Mapping[str, F] | None = None,
    chunk: int = ADVANCE_CHUNK,
) -> tuple[dict[str, F], dict[str, F]]:
    """:func:`advance`, a chunk of securities at a time (each column's result is its own: the same)."""
    metric_parts: list[dict[str, F]] = []
    state_parts: list[dict[str, F]] = []
    for start in range(0, tail.shape[1], chunk):
        stop = min(start + chunk, tail.shape[1])
        cols = slice(start, stop)
        last, new_state = advance(
            _right_columns(tail, start, stop),
            {k: v[cols] for k, v in state.items()},
            new_bars[cols],
            total_bars[cols],
            market,
            {k: v[cols] for k, v in fundamentals.items()} if fundamentals is not None else None,
        )
        metric_parts.append(last)
        state_parts.append(new_state)
    return (
        {k: np.concatenate([p[k] for p in metric_parts]) for k in metric_parts[0]},
        {k: np.concatenate([p[k] for p in state_parts]) for k in state_parts[0]},
    )


def resample_flat(ids: I64, dates: Dates, ohlcv: F, freq: str) -> tuple[I64, Dates, F]:
    """Weekly (``"W"``, Monday to Friday) or monthly (``"M"``) bars from daily ones sorted by
    (security, date): first open, highest high, lowest low, last close, summed volume,
    dated by the period's last trading day. A period still in progress is a partial bar
    (as a chart shows it): to evaluate weekly metrics as of a past date, resample the bars
    up to that date (point in time)."""
    if len(ids) == 0:
        return ids, dates, ohlcv
    if freq == "W":
        key = week_keys(dates)
    elif freq == "M":
        key = month_keys(dates)
    else:
        raise ValueError(f"unknown timeframe {freq!r}: use 'W' or 'M'")
    start = np.ones(len(ids), dtype=bool)
    start[1:] = (ids[1:] != ids[:-1]) | (key[1:] != key[:-1])
    first = np.flatnonzero(start)
    last = np.append(first[1:], len(ids)) - 1
    out = np.column_stack(
        [
            ohlcv[first, 0],
            np.maximum.reduceat(ohlcv[:, 1], first),
            np.minimum.reduceat(ohlcv[:, 2], first),
            ohlcv[last, 3],
            np.add.reduceat(ohlcv[:, 4], first),
            *([ohlcv[last, 5]] if ohlcv.shape[1] > 5 else []),  # the adjusted close: the last one, as the close
        ]
    )
    return ids[first], dates[last], out


def resample(panel: Panel, freq: str) -> Panel:
    """The panel's bars as weekly or monthly bars (see :func:`resample_flat`), left-aligned,
    same columns: ``compute(resample(panel, "W"))`` gives every metric on the weekly timeframe."""
    valid = ~np.isnat(panel.dates)
    cols = np.broadcast_to(np.arange(panel.shape[1]), panel.shape)
    order = np.argsort(cols[valid], kind="stable")  # column-major: by security, then date
    ids = cols[valid][order].astype(np.int64)
    dates = panel.dates[valid][order]
    columns = [getattr(panel, k)[valid][order] for k in ("open", "high", "low", "close", "volume")]
    if panel.adj_close is not None:
        columns.append(panel.adj_close[valid][order])
    ohlcv = np.column_stack(columns)
    w_ids, w_dates, w_ohlcv = resample_flat(ids, dates, ohlcv, freq)
    out = panel_from_flat(w_ids, w_dates, w_ohlcv)
    out.security_ids = panel.security_ids[out.security_ids]
    return out
