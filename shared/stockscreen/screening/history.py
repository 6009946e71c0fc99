"""Per-date history of the catalogue's metrics, for every security at once.

Bars live on a grid (securities x trading dates, NaN where a security has no bar). Each
security's bars are *packed* to the left (its own sessions, without gaps) so windows count
the security's sessions exactly as ``stockscreen.indicators`` and the snapshot do; results
are scattered back onto the grid and carried forward over days without a bar. The moving
averages and rolling windows are computed for all securities at once; the recursive ones
(EMA, Wilder) loop over time with the securities as one vector, with the seeding rules of
``stockscreen.indicators`` (SMA seed, values before a full window are NaN).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

F2 = NDArray[np.float64]
B2 = NDArray[np.bool_]


def shift(x: F2, k: int) -> F2:
    """x[:, j - k] at column j (NaN where that is before the start)."""
    out = np.full_like(x, np.nan)
    if k < x.shape[1]:
        out[:, k:] = x[:, : x.shape[1] - k]
    return out


def pct(a: F2, b: F2) -> F2:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (a / b - 1.0) * 100.0
    out[~np.isfinite(out)] = np.nan
    return out


def roll_sum(x: F2, n: int) -> F2:
    """Sum over the last n columns; NaN unless all n values exist."""
    out = np.full_like(x, np.nan)
    if x.shape[1] < n:
        return out
    bad = np.isnan(x)
    c = np.cumsum(np.where(bad, 0.0, x), axis=1)
    c = np.concatenate([np.zeros((x.shape[0], 1)), c], axis=1)
    nb = np.cumsum(bad, axis=1)
    nb = np.concatenate([np.zeros((x.shape[0], 1), dtype=nb.dtype), nb], axis=1)
    s = c[:, n:] - c[:, :-n]
    s[(nb[:, n:] - nb[:, :-n]) > 0] = np.nan
    out[:, n - 1 :] = s
    return out


def sma(x: F2, n: int) -> F2:
    return roll_sum(x, n) / n


def roll_reduce(x: F2, n: int, how: str) -> F2:
    out = np.full_like(x, np.nan)
    if x.shape[1] < n:
        return out
    w = np.lib.stride_tricks.sliding_window_view(x, n, axis=1)
    if how == "max":
        out[:, n - 1 :] = w.max(axis=-1)
    elif how == "min":
        out[:, n - 1 :] = w.min(axis=-1)
    else:
        out[:, n - 1 :] = w.std(axis=-1, ddof=1 if how == "std1" else 0)
    return out


def roll_extreme(x: F2, n: int, how: str) -> F2:
    """Rolling max/min over n columns in O(columns x log n); NaN when any value in the window is missing."""
    y = x if how == "max" else -x
    pick = np.maximum
    table = y.copy()
    width = 1
    while width * 2 <= n:
        prev = np.full_like(table, np.nan)
        prev[:, width:] = table[:, :-width]
        table = pick(table, prev)
        width *= 2
    rest = n - width
    out = table
    if rest:
        prev = np.full_like(table, np.nan)
        prev[:, rest:] = table[:, :-rest]
        out = pick(table, prev)
    return out if how == "max" else -out


def roll_std(x: F2, n: int) -> F2:
    """Rolling population standard deviation from running sums (rows centred first for precision)."""
    count = (~np.isnan(x)).sum(axis=1, keepdims=True)
    total = np.nansum(x, axis=1, keepdims=True)
    centre = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    d = x - centre
    mean = roll_sum(d, n) / n
    sq = roll_sum(d * d, n) / n
    return np.sqrt(np.maximum(sq - mean * mean, 0.0))


def partial_max(x: F2, n: int) -> F2:
    """max over the last n columns, or over all available columns when fewer (the 52-week high)."""
    y = np.where(np.isnan(x), -np.inf, x)
    width = 1
    table = y
    while width * 2 <= n:
        prev = np.full_like(table, -np.inf)
        prev[:, width:] = table[:, :-width]
        table = np.maximum(table, prev)
        width *= 2
    rest = n - width
    prev = np.full_like(table, -np.inf)
    if rest:
        prev[:, rest:] = table[:, :-rest]
    out = np.maximum(table, prev)
    out[np.isinf(out)] = np.nan
    return out


def _recursive(x: F2, alpha: float, seed_index: int, seed: NDArray[np.float64]) -> F2:
    out = np.full_like(x, np.nan)
    if seed_index >= x.shape[1]:
        return out
    y = seed
    out[:, seed_index] = y
    keep = 1.0 - alpha
    for j in range(seed_index + 1, x.shape[1]):
        y = alpha * x[:, j] + keep * y
        out[:, j] = y
    return out


def ema(x: F2, n: int, first: int = 0) -> F2:
    if x.shape[1] < first + n:
        return np.full_like(x, np.nan)
    return _recursive(x, 2.0 / (n + 1), first + n - 1, x[:, first : first + n].mean(axis=1))


def wilder(x: F2, n: int, first: int) -> F2:
    if x.shape[1] < first + n:
        return np.full_like(x, np.nan)
    return _recursive(x, 1.0 / n, first + n - 1, x[:, first : first + n].mean(axis=1))


@dataclass
class Frame:
    """Bars of one timeframe on a grid, with lazily computed metric histories (securities x periods)."""

    dates: NDArray[np.datetime64]
    o: F2
    h: F2
    lo: F2
    c: F2
    v: F2
    fundamentals: dict[str, NDArray[np.float64]]
    extra: dict[str, F2] = field(default_factory=dict)
    _cache: dict[str, F2] = field(default_factory=dict)
    _packed: tuple[B2, NDArray[np.intp], NDArray[np.intp]] | None = None
    _pbars: dict[str, F2] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.has = ~np.isnan(self.c)

    # ------------------------------------------------------------------ packing
    def _pack_index(self) -> tuple[B2, NDArray[np.intp], NDArray[np.intp]]:
        if self._packed is None:
            rows, cols = np.nonzero(self.has)
            pcol = (np.cumsum(self.has, axis=1) - 1)[rows, cols]
            self._packed = (self.has, rows, pcol)
        return self._packed

    def pack(self, x: F2) -> F2:
        has, rows, pcol = self._pack_index()
        width = int(has.sum(axis=1).max()) if has.size else 0
        out = np.full((x.shape[0], max(width, 1)), np.nan)
        out[rows, pcol] = x[has]
        return out

    def unpack(self, p: F2) -> F2:
        has, rows, pcol = self._pack_index()
        out = np.full(has.shape, np.nan)
        out[has] = p[rows, pcol]
        return ffill(out)

    # ------------------------------------------------------------------ fields
    def num(self, name: str) -> F2 | None:
        hit = self._cache.get(name)
        if hit is not None:
            return hit
        fn = COMPUTERS.get(name)
        if fn is None:
            extra = self.extra.get(name)
            return extra
        value = fn(self)
        self._cache[name] = value
        return value

    def packed_bars(self) -> dict[str, F2]:
        if not self._pbars:
            self._pbars.update({k: self.pack(getattr(self, k)) for k in ("o", "h", "lo", "c", "v")})
        return self._pbars

    def packed_metric(self, name: str, fn: Callable[[dict[str, F2]], F2]) -> F2:
        hit = self._cache.get(name)
        if hit is None:
            hit = self.unpack(fn(self.packed_bars()))
            self._cache[name] = hit
        return hit


def ffill(x: F2) -> F2:
    """Carry the last value forward along time (over days a security did not trade)."""
    if x.size == 0:
        return x
    idx = np.where(~np.isnan(x), np.arange(x.shape[1])[None, :], 0)
    np.maximum.accumulate(idx, axis=1, out=idx)
    out = x[np.arange(x.shape[0])[:, None], idx]
    return out


def _packed(name: str, fn: Callable[[dict[str, F2]], F2]) -> Callable[[Frame], F2]:
    return lambda fr: fr.packed_metric(name, fn)


def _ffc(fr: Frame) -> F2:
    return fr.packed_metric("close", lambda b: b["c"])


def _rsi(b: dict[str, F2]) -> F2:
    c = b["c"]
    diff = c - shift(c, 1)
    gain = np.where(diff > 0, diff, 0.0)
    loss = np.where(diff < 0, -diff, 0.0)
    gain[np.isnan(diff)] = np.nan
    loss[np.isnan(diff)] = np.nan
    g, lo = wilder(gain, 14, 1), wilder(loss, 14, 1)
    total = g + lo
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(total > 0, 100.0 * g / total, 0.0)
    out[np.isnan(g)] = np.nan
    return out


def _macd(b: dict[str, F2]) -> tuple[F2, F2]:
    line = ema(b["c"], 12) - ema(b["c"], 26)
    sig = ema(line, 9, first=25)
    return line, sig


def _atr(b: dict[str, F2]) -> F2:
    prev = shift(b["c"], 1)
    tr = np.maximum(b["h"] - b["lo"], np.maximum(np.abs(b["h"] - prev), np.abs(b["lo"] - prev)))
    return wilder(tr, 14, 1)


def _bb(b: dict[str, F2]) -> tuple[F2, F2, F2]:
    mid = sma(b["c"], 20)
    sd = roll_reduce(b["c"], 20, "std")
    return mid + 2 * sd, mid, mid - 2 * sd


def _bb_pctb(b: dict[str, F2]) -> F2:
    u, _, lw = _bb(b)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (b["c"] - lw) / (u - lw)
    out[u == lw] = np.nan
    return out


def _bb_width(b: dict[str, F2]) -> F2:
    u, md, lw = _bb(b)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (u - lw) / md * 100.0
    out[(u == lw) | (md == 0)] = np.nan
    return out


def _vol1m(b: dict[str, F2]) -> F2:
    c = b["c"]
    with np.errstate(invalid="ignore", divide="ignore"):
        rets = c / shift(c, 1) - 1.0
    return roll_reduce(rets, 21, "std1") * 100.0


def _perf_ytd(fr: Frame) -> F2:
    c = _ffc(fr)
    years = fr.dates.astype("datetime64[Y]")
    out = np.full_like(c, np.nan)
    starts = np.flatnonzero(np.r_[True, years[1:] != years[:-1]])
    bounds = [*starts.tolist(), len(years)]
    for a, z in itertools.pairwise(bounds):
        if a == 0:
            continue
        out[:, a:z] = pct(c[:, a:z], c[:, a - 1 : a])
    return out


def _fund(fr: Frame, key: str) -> F2:
    c = _ffc(fr)
    f = fr.fundamentals
    price = f.get("price")
    if price is None:
        return np.full_like(c, np.nan)
    p = price[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        if key == "market_cap":
            cap = f["market_cap"][:, None]
            out = np.where((p != 0) & (cap != 0), cap / p * c, np.nan)
        elif key == "eps":
            out = np.broadcast_to(f["eps"][:, None], c.shape).copy()
        elif key == "pe":
            eps = f["eps"][:, None]
            out = np.where(eps > 0, c / eps, np.nan)
        elif key == "dividend_yield":
            out = np.where(p != 0, f[key][:, None] * p / c, np.nan)
        elif key in ("price_book", "price_sales"):
            out = np.where(p != 0, f[key][:, None] * c / p, np.nan)
        else:
            out = np.broadcast_to(f[key][:, None], c.shape).copy()
    out = np.where(np.isnan(c) & (key != "ebitda"), np.nan, out)
    out[~np.isfinite(out)] = np.nan
    return np.asarray(out, dtype=np.float64)


def _dist(a: str, b: str) -> Callable[[Frame], F2]:
    def fn(fr: Frame) -> F2:
        x, y = fr.num(a), fr.num(b)
        assert x is not None and y is not None
        return pct(x, y)

    return fn


COMPUTERS: dict[str, Callable[[Frame], F2]] = {
    "open": _packed("open", lambda b: b["o"]),
    "high": _packed("high", lambda b: b["h"]),
    "low": _packed("low", lambda b: b["lo"]),
    "close": _ffc,
    "volume": _packed("volume", lambda b: b["v"]),
    "avg_volume_20": _packed("avg_volume_20", lambda b: sma(b["v"], 20)),
    "avg_volume_50": _packed("avg_volume_50", lambda b: sma(b["v"], 50)),
    "rel_volume": _packed("rel_volume", lambda b: b["v"] / sma(b["v"], 50)),
    "change_pct": _packed("change_pct", lambda b: pct(b["c"], shift(b["c"], 1))),
    "gap_pct": _packed("gap_pct", lambda b: pct(b["o"], shift(b["c"], 1))),
    "change_from_open_pct": _packed("change_from_open_pct", lambda b: pct(b["c"], b["o"])),
    "sma20": _packed("sma20", lambda b: sma(b["c"], 20)),
    "sma50": _packed("sma50", lambda b: sma(b["c"], 50)),
    "sma200": _packed("sma200", lambda b: sma(b["c"], 200)),
    "dist_sma20_pct": _dist("close", "sma20"),
    "dist_sma50_pct": _dist("close", "sma50"),
    "dist_sma200_pct": _dist("close", "sma200"),
    "ema12": _packed("ema12", lambda b: ema(b["c"], 12)),
    "ema26": _packed("ema26", lambda b: ema(b["c"], 26)),
    "rsi14": _packed("rsi14", _rsi),
    "macd": _packed("macd", lambda b: _macd(b)[0]),
    "macd_signal": _packed("macd_signal", lambda b: _macd(b)[1]),
    "macd_hist": _packed("macd_hist", lambda b: _macd(b)[0] - _macd(b)[1]),
    "atr14": _packed("atr14", _atr),
    "atr_pct": _packed("atr_pct", lambda b: _atr(b) / b["c"] * 100.0),
    "bb_pctb": _packed("bb_pctb", _bb_pctb),
    "bb_width": _packed("bb_width", _bb_width),
    "high_52w": _packed("high_52w", lambda b: partial_max(b["h"], 252)),
    "low_52w": _packed("low_52w", lambda b: -partial_max(-b["lo"], 252)),
    "dist_high_52w_pct": _dist("close", "high_52w"),
    "dist_low_52w_pct": _dist("close", "low_52w"),
    "perf_1w": _packed("perf_1w", lambda b: pct(b["c"], shift(b["c"], 5))),
    "perf_1m": _packed("perf_1m", lambda b: pct(b["c"], shift(b["c"], 21))),
    "perf_3m": _packed("perf_3m", lambda b: pct(b["c"], shift(b["c"], 63))),
    "perf_6m": _packed("perf_6m", lambda b: pct(b["c"], shift(b["c"], 126))),
    "perf_1y": _packed("perf_1y", lambda b: pct(b["c"], shift(b["c"], 252))),
    "perf_ytd": _perf_ytd,
    "volatility_1m": _packed("volatility_1m", _vol1m),
    **{
        k: (lambda key: lambda fr: _fund(fr, key))(k)
        for k in ("market_cap", "eps", "pe", "dividend_yield", "price_book", "price_sales", "ebitda")
    },
}


def resample(fr: Frame, timeframe: str, upto: int | None = None) -> Frame:
    """Weekly (Monday-start) or monthly bars from the daily grid, using days up to column ``upto``."""
    end = fr.c.shape[1] if upto is None else upto + 1
    dates = fr.dates[:end]
    days = dates.astype("datetime64[D]").astype(np.int64)
    key = (days + 3) // 7 if timeframe == "weekly" else dates.astype("datetime64[M]").astype(np.int64)
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    o, h, lo, c, v = (x[:, :end] for x in (fr.o, fr.h, fr.lo, fr.c, fr.v))
    n_periods = len(starts)
    s = fr.c.shape[0]
    po, ph, pl, pc, pv = (np.full((s, n_periods), np.nan) for _ in range(5))
    bounds = [*starts.tolist(), end]
    with np.errstate(all="ignore"):
        for i, (a, z) in enumerate(itertools.pairwise(bounds)):
            has = ~np.isnan(c[:, a:z])
            anyb = has.any(axis=1)
            if not anyb.any():
                continue
            first = np.argmax(has, axis=1)
            last = (z - a - 1) - np.argmax(has[:, ::-1], axis=1)
            rows = np.arange(s)
            po[:, i] = np.where(anyb, o[rows, a + first], np.nan)
            pc[:, i] = np.where(anyb, c[rows, a + last], np.nan)
            ph[:, i] = np.where(anyb, np.nanmax(np.where(has, h[:, a:z], -np.inf), axis=1), np.nan)
            pl[:, i] = np.where(anyb, np.nanmin(np.where(has, lo[:, a:z], np.inf), axis=1), np.nan)
            pv[:, i] = np.where(anyb, np.nansum(v[:, a:z], axis=1), np.nan)
    pdates = dates[np.array(bounds[1:]) - 1]
    return Frame(pdates, po, ph, pl, pc, pv, fr.fundamentals)


def period_end_flags(dates: NDArray[np.datetime64], timeframe: str) -> tuple[NDArray[np.bool_], NDArray[np.intp]]:
    """For each daily date: whether it is the last session of its week/month, and the period's index."""
    days = dates.astype("datetime64[D]").astype(np.int64)
    key = (days + 3) // 7 if timeframe == "weekly" else dates.astype("datetime64[M]").astype(np.int64)
    is_end = np.r_[key[1:] != key[:-1], True]
    period = np.cumsum(np.r_[True, key[1:] != key[:-1]]) - 1
    return is_end, period
