"""The screener's view of metric history: bars on a (securities x trading dates) grid.

Every catalogue metric comes from :func:`stockscreen.market.measures.compute` (the pipeline's
snapshot uses the same function, so the screener's latest values are the snapshot's).
Each security's bars are *packed* to the left (its own sessions, without gaps) into a
:class:`~stockscreen.market.measures.Panel`, so windows count the security's own sessions; the
results are scattered back onto the grid and carried forward over days without a bar.

What stays here is specific to the query language: rolling functions of arbitrary
expressions (NaN anywhere in a window makes it NaN), and weekly/monthly bars on a grid
whose columns are calendar periods (built with :func:`stockscreen.market.measures.resample_flat`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, TypeAlias

import numpy as np

from stockscreen.market import indicators as ind
from stockscreen.market import measures as mt
from stockscreen.market.calendar import month_keys, week_keys
from stockscreen.screening.fields import FLAG_FIELDS, METRIC_FIELDS

if TYPE_CHECKING:
    from numpy.typing import NDArray

F2: TypeAlias = "NDArray[np.float64]"
B2: TypeAlias = "NDArray[np.bool_]"

#: Every field :func:`stockscreen.market.measures.compute` gives a history for (numbers and 0/1 flags).
COMPUTED: frozenset[str] = frozenset(METRIC_FIELDS) | frozenset(FLAG_FIELDS)


def grid(rows: int, cols: int) -> F2:
    """A NaN ``(securities x dates)`` array in the production layout: column-major (each date's values
    of every security contiguous, each field its own array), so a screen on one date reads one
    contiguous run per field. It is the transposed view of a ``(dates, securities)`` C array, which is
    also how the snapshot artifact stores it on disk (:mod:`stockscreen.screening.artifact`)."""
    return np.full((cols, rows), np.nan).T


def slice_cols(arr: F2, lo: int, hi: int) -> F2:
    """Columns lo..hi of a (securities x dates) array, NaN-padded before column 0."""
    if lo >= 0:
        return arr[:, lo : hi + 1]
    if hi < 0:
        return np.full((arr.shape[0], hi - lo + 1), np.nan)
    pad = np.full((arr.shape[0], -lo), np.nan)
    return np.concatenate([pad, arr[:, : hi + 1]], axis=1)


def roll_sum(x: F2, n: int) -> F2:
    """Sum over the last n columns; NaN unless all n values exist (NaN may sit anywhere)."""
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


def roll_extreme(x: F2, n: int, how: str) -> F2:
    """Rolling max/min over n columns (:func:`stockscreen.market.indicators.rolling_extremes`, along
    time); NaN when any value in the window is missing."""
    op = np.maximum if how == "max" else np.minimum
    (out,) = ind.rolling_extremes(np.ascontiguousarray(x.T), (n,), op)
    return out.T  # the production layout (column-major) as it comes


def roll_std(x: F2, n: int) -> F2:
    """Rolling population standard deviation from running sums (rows centred first for precision)."""
    count = (~np.isnan(x)).sum(axis=1, keepdims=True)
    total = np.nansum(x, axis=1, keepdims=True)
    centre = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    d = x - centre
    mean = roll_sum(d, n) / n
    sq = roll_sum(d * d, n) / n
    return np.sqrt(np.maximum(sq - mean * mean, 0.0))


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
    #: the adjusted close (NaN: none), None when no bar has one: the total-return fields' only input
    a: F2 | None = None
    extra: dict[str, F2] = field(default_factory=dict)
    _cache: dict[str, F2] = field(default_factory=dict)
    _packed: tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]] | None = None
    _carry: NDArray[np.intp] | None = None
    _wanted: set[str] = field(default_factory=set)
    _panel: mt.Panel | None = None
    _market: mt.Market | None = None

    @cached_property
    def has(self) -> B2:
        """Which cells hold a bar (computed on first use: a mapped frame reads no bars before it must)."""
        return ~np.isnan(self.c)

    # ------------------------------------------------------------------ packing
    def _pack_index(self) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
        """Grid cells with a bar: their rows, columns and positions among the row's own bars."""
        if self._packed is None:
            rows, cols = np.nonzero(self.has)
            pcol = (np.cumsum(self.has, axis=1) - 1)[rows, cols]
            self._packed = (rows, cols, pcol)
        return self._packed

    def panel(self) -> mt.Panel:
        """The bars as a left-aligned, time-major panel (one column per security, own bars only)."""
        rows, cols, pcol = self._pack_index()
        lengths = self.has.sum(axis=1).astype(np.int64)
        width = int(lengths.max()) if lengths.size else 0
        s = self.c.shape[0]
        dates = np.full((width, s), np.datetime64("NaT"), dtype="datetime64[D]")
        dates[pcol, rows] = self.dates.astype("datetime64[D]")[cols]

        def packed(x: F2) -> F2:
            a = np.full((width, s), np.nan)
            a[pcol, rows] = x[rows, cols]
            return a

        o, h, lo, c, v = (packed(x) for x in (self.o, self.h, self.lo, self.c, self.v))
        adj = None if self.a is None else packed(self.a)
        return mt.Panel(np.arange(s, dtype=np.int64), dates, o, h, lo, c, v, lengths, adj)

    def unpack(self, p: F2) -> F2:
        """A ``(own bars, securities)`` metric back on the grid, carried over days without a
        bar: one gather through a precomputed index (each cell's last own bar so far)."""
        if self._carry is None:  # (dates, securities): the gather writes the production layout directly
            pos = np.cumsum(self.has.T, axis=0) - 1  # the row's own bar at or before each date
            s = self.has.shape[0]
            self._carry = np.where(pos >= 0, pos * s + np.arange(s)[None, :], -1)
        flat = np.ascontiguousarray(p).ravel()
        if not flat.size:
            return grid(*self.has.shape)
        out = flat.take(np.maximum(self._carry, 0))
        out[self._carry < 0] = np.nan
        return out.T

    # ------------------------------------------------------------------ fields
    def want(self, names: Iterable[str]) -> None:
        """Fields about to be read: the next computation keeps them too (one pass for a screen)."""
        self._wanted.update(n for n in names if n in COMPUTED and n not in self._cache)

    def num(self, name: str) -> F2 | None:
        hit = self._cache.get(name)
        if hit is not None:
            return hit
        if name not in COMPUTED:
            return self.extra.get(name)
        names = {name} | self._wanted
        self._wanted = set()
        packed = self._compute(names)
        for k in names:
            self._cache[k] = self.unpack(packed[k])
        return self._cache[name]

    def _compute(self, names: set[str]) -> dict[str, F2]:
        """The named metrics of every security as ``(own bars, securities)`` arrays, from
        :func:`stockscreen.market.measures.compute` a chunk of securities at a time (cache-sized
        arrays, the rest of each chunk's metrics dropped at once: several times faster than
        the whole panel), against the index of the whole universe."""
        if self._panel is None:
            self._panel = self.panel()
            self._market = mt.market_index(self._panel)
        panel, market = self._panel, self._market
        out = {k: getattr(panel, k) for k in names & _BARS}  # compute() returns the bars as they are
        names = names - _BARS
        if not names:
            return out
        if panel.shape[0] == 0:  # no bars at all
            return {**out, **{k: np.full(panel.shape, np.nan) for k in names}}
        funds = self.fundamentals if all(k in self.fundamentals for k in mt.FUNDAMENTAL_INPUTS) else None
        out.update({k: np.full(panel.shape, np.nan) for k in names})
        for start in range(0, panel.shape[1], CHUNK):
            stop = min(start + CHUNK, panel.shape[1])
            sub = panel.columns(start, stop)
            sub_funds = {k: funds[k][start:stop] for k in mt.FUNDAMENTAL_INPUTS} if funds is not None else None
            part = mt.compute(sub, market, fundamentals=sub_funds)
            for k in names:
                out[k][: sub.shape[0], start:stop] = part[k]
        return out


_BARS = frozenset(("open", "high", "low", "close", "volume"))

#: Securities per chunk of :meth:`Frame._compute`.
CHUNK = 64


def period_keys(dates: NDArray[np.datetime64], timeframe: str) -> NDArray[np.int64]:
    """Week (Monday to Sunday) or month number of each date: equal keys, same period."""
    return week_keys(dates) if timeframe == "weekly" else month_keys(dates)


def resample(fr: Frame, timeframe: str, upto: int | None = None, start: int = 0) -> Frame:
    """Weekly or monthly bars (:func:`stockscreen.market.measures.resample_flat`) on a grid of calendar
    periods, from the daily columns ``start..upto`` (the last period partial if cut short)."""
    end = fr.c.shape[1] if upto is None else upto + 1
    dates = fr.dates[start:end]
    key = period_keys(dates, timeframe)
    changed = np.r_[True, key[1:] != key[:-1]] if len(key) else np.zeros(0, dtype=bool)
    period = np.cumsum(changed) - 1
    ends = np.r_[np.flatnonzero(changed)[1:], len(key)] - 1
    s = fr.c.shape[0]
    n_periods = len(ends)
    sources = [fr.o, fr.h, fr.lo, fr.c, fr.v] + ([fr.a] if fr.a is not None else [])
    grids = [grid(s, n_periods) for _ in sources]
    rows, cols = np.nonzero(fr.has[:, start:end])
    if len(rows):
        ohlcv = np.column_stack([x[:, start:end][rows, cols] for x in sources])
        ids, last_days, bars = mt.resample_flat(
            rows.astype(np.int64), dates.astype("datetime64[D]")[cols], ohlcv, "W" if timeframe == "weekly" else "M"
        )
        pcol = period[np.searchsorted(dates.astype("datetime64[D]"), last_days)]
        for k in range(len(sources)):
            grids[k][ids, pcol] = bars[:, k]
    o, h, lo, c, v = grids[:5]
    return Frame(dates[ends], o, h, lo, c, v, fr.fundamentals, grids[5] if len(grids) > 5 else None)


def period_end_flags(dates: NDArray[np.datetime64], timeframe: str) -> tuple[NDArray[np.bool_], NDArray[np.intp]]:
    """For each daily date: whether it is the last session of its week/month, and the period's index."""
    key = period_keys(dates, timeframe)
    is_end = np.r_[key[1:] != key[:-1], True]
    period = np.cumsum(np.r_[True, key[1:] != key[:-1]]) - 1
    return is_end, period
