"""Technical indicators over daily histories, vectorised with NumPy.

Every function works along axis 0 (time) of a 1-D array (one security) or of a 2-D,
time-major panel ``(T, S)`` whose columns are securities whose histories are
*left-aligned* (column ``j`` holds that security's own bars from row 0; rows after its
last bar are NaN). Left alignment puts every security's warm-up at the same rows, so
seeds and windows are the same for all columns and each time step is one vector
operation across the universe.

Conventions follow TA-Lib exactly (its default, non-Metastock compatibility): SMA over
``n`` values; EMA seeded with the SMA of the first ``n`` values; RSI and ATR with
Wilder's smoothing seeded by simple means; MACD's fast EMA seeded where the slow one
is (TA-Lib's quirk); values before a full window are NaN.

The recursive smoothers (EMA, Wilder) accept an ``init`` value: the smoothed value
just before the first element. That is how a daily run continues from stored state
instead of recomputing the whole history.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

F: TypeAlias = "NDArray[np.float64]"


def _nan(x: F) -> F:
    return np.full(x.shape, np.nan, dtype=np.float64)


def cumsum0(x: F) -> F:
    """Cumulative sum along time. For a panel, one vector add per row: NumPy's strided
    axis-0 accumulate is several times slower on a time-major layout."""
    if x.ndim == 1 or x.shape[0] == 0:
        return np.cumsum(x, axis=0)
    c = np.empty(x.shape, dtype=np.float64)
    c[0] = x[0]
    rows, xs, add = list(c), list(x), np.add  # row views made once, not per step
    for t in range(1, len(rows)):
        add(rows[t - 1], xs[t], out=rows[t])
    return c


def sma(x: F, n: int) -> F:
    return sma_many(x, (n,))[0]


def sma_many(x: F, ns: tuple[int, ...]) -> list[F]:
    """Simple moving averages of several lengths from one cumulative sum.

    Each column may be NaN before its first and after its last value (panel padding);
    windows touching those rows are NaN."""
    length = x.shape[0]
    if length < min(ns):
        return [_nan(x) for _ in ns]
    # NaN only after each column's values (a left-aligned panel) just propagates into
    # the padding; NaN before them (right-aligned) needs masking
    padded = _leading_nan(x)
    nan = np.isnan(x) if padded else None
    # TA-Lib keeps a running sum; a cumulative sum is as exact for prices and volumes
    c = cumsum0(np.where(nan, 0.0, x) if nan is not None else x)
    ok_for = _window_validity(nan, length) if nan is not None else None
    outs = []
    for n in ns:
        out = _nan(x)
        if length >= n:
            out[n - 1] = c[n - 1]
            np.subtract(c[n:], c[:-n], out=out[n:])
            out[n - 1 :] /= n
            if ok_for is not None:
                out[n - 1 :][~ok_for(n)] = np.nan
        outs.append(out)
    return outs


def _leading_nan(x: F) -> bool:
    """Does any column start with NaN (padding before its values)?"""
    return bool(x.shape[0] and np.isnan(x[0]).any())


def _window_validity(nan: NDArray[np.bool_], length: int) -> Callable[[int], NDArray[np.bool_]]:
    """For windows of ``n`` rows ending at rows ``n-1..``: do they lie between each column's
    first and last non-NaN value?"""
    valid = ~nan
    first = np.argmax(valid, axis=0)
    last = length - 1 - np.argmax(valid[::-1], axis=0)
    rows = np.arange(length).reshape((length,) + (1,) * (nan.ndim - 1))

    def ok(n: int) -> NDArray[np.bool_]:
        r = rows[n - 1 :]
        return np.asarray((r - (n - 1) >= first) & (r <= last))

    return ok


def _recursive(x: F, alpha: float, seed_index: int, seed: F | float, out: F | None = None) -> F:
    """``y[t] = y[t-1] + alpha * (x[t] - y[t-1])`` for ``t > seed_index``, from ``y[seed_index] = seed``.

    The loop runs over time only; each step is one vector operation across all columns,
    so a 500-security panel costs what one security costs in a compiled loop, and the
    arithmetic is TA-Lib's, step for step (no closed form, no loss of precision).
    """
    y = _nan(x) if out is None else out
    length = x.shape[0]
    if seed_index >= length:
        return y
    y[seed_index] = seed
    if seed_index + 1 >= length:
        return y
    ax = alpha * x
    beta = 1.0 - alpha
    if x.ndim == 1:
        # scalar recursion: Python floats beat per-element NumPy calls
        prev = float(y[seed_index])
        vals = ax[seed_index + 1 :].tolist()
        res = []
        for v in vals:
            prev = v + beta * prev
            res.append(prev)
        y[seed_index + 1 :] = res
        return y
    rows, axs, mul, add = list(y), list(ax), np.multiply, np.add
    for t in range(seed_index + 1, length):
        mul(rows[t - 1], beta, out=rows[t])
        add(rows[t], axs[t], out=rows[t])
    return y


def ema(x: F, n: int, init: F | float | None = None) -> F:
    """TA-Lib EMA (k = 2 / (n + 1)); with ``init``, continue from the EMA before ``x[0]``."""
    alpha = 2.0 / (n + 1)
    if init is not None:
        return _continue(x, alpha, init)
    if x.shape[0] < n:
        return _nan(x)
    return _recursive(x, alpha, n - 1, np.mean(x[:n], axis=0))


def _continue(x: F, alpha: float, init: F | float) -> F:
    """The recursion started from a known previous value (state) instead of a seed."""
    y = _nan(x)
    if x.shape[0] == 0:
        return y
    prev = np.asarray(init, dtype=np.float64)
    y[0] = prev + alpha * (x[0] - prev)
    return _recursive(x, alpha, 0, y[0], out=y)


def wilder(x: F, n: int, first: int, init: F | float | None = None) -> F:
    """Wilder's smoothing (alpha = 1/n) of ``x`` from index ``first``, seeded with a simple mean."""
    alpha = 1.0 / n
    if init is not None:
        return _continue(x, alpha, init)
    if x.shape[0] < first + n:
        return _nan(x)
    return _recursive(x, alpha, first + n - 1, np.mean(x[first : first + n], axis=0))


def _diff(x: F) -> F:
    d = _nan(x)
    d[1:] = x[1:] - x[:-1]
    return d


def gains_losses(close: F, prev_close: F | float | None = None) -> tuple[F, F]:
    """Up and down moves; ``prev_close`` is the close before ``close[0]`` (state), if known."""
    d = _diff(close)
    if prev_close is not None and close.shape[0]:
        d[0] = close[0] - prev_close
    gain = np.maximum(d, 0.0)
    loss = np.negative(d, out=d)
    np.maximum(loss, 0.0, out=loss)
    return gain, loss


def rsi_from_averages(avg_gain: F, avg_loss: F) -> F:
    total = avg_gain + avg_loss
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(total > 0, 100.0 * avg_gain / total, 0.0)
    out[np.isnan(total)] = np.nan
    return out


def rsi(close: F, n: int = 14) -> F:
    if close.shape[0] <= n:
        return _nan(close)
    gain, loss = gains_losses(close)
    return rsi_from_averages(wilder(gain, n, 1), wilder(loss, n, 1))


def true_range(high: F, low: F, close: F, prev_close: F | float | None = None) -> F:
    prev = _nan(close)
    prev[1:] = close[:-1]
    if prev_close is not None and close.shape[0]:
        prev[0] = prev_close
    return np.maximum(high - low, np.maximum(np.abs(high - prev), np.abs(low - prev)))


def macd(close: F, fast: int = 12, slow: int = 26, signal: int = 9) -> tuple[F, F, F]:
    """TA-Lib MACD: both EMAs seeded at index ``slow - 1`` (the fast one over the ``fast``
    values ending there), the signal an EMA of the line; the line is reported from index
    ``slow - 1``, the signal and histogram from ``slow + signal - 2`` (TA-Lib's first output)."""
    slow_ema = ema(close, slow)
    line = _nan(close)
    sig = _nan(close)
    if close.shape[0] < slow:
        return line, sig, line - sig
    fast_ema = _recursive(close, 2.0 / (fast + 1), slow - 1, np.mean(close[slow - fast : slow], axis=0))
    line = fast_ema - slow_ema
    sig[slow - 1 :] = ema(line[slow - 1 :], signal)
    return line, sig, line - sig


def rolling_std(x: F, n: int, ddof: int = 0) -> F:
    """Rolling standard deviation (population by default, as TA-Lib's STDDEV)."""
    return rolling_std_many(x, (n,), ddof)[0]


def rolling_std_many(x: F, ns: tuple[int, ...], ddof: int = 0) -> list[F]:
    """Rolling standard deviations of several lengths from one pair of cumulative sums.

    Each column must be NaN only before its first and after its last value (a leading
    NaN return, the padding of a panel). Values are centred on each column's first value
    so the running sums stay small and their differences exact."""
    length = x.shape[0]
    if length < min(ns):
        return [_nan(x) for _ in ns]
    if x.ndim == 2 and length > 1 and np.isnan(x[0]).all() and not np.isnan(x[1]).any():
        # returns: a NaN first row, then values (left-aligned): drop the row, pad it back
        outs = rolling_std_many(x[1:], ns, ddof)
        return [np.concatenate((np.full((1, x.shape[1]), np.nan), o)) for o in outs]
    if _leading_nan(x):
        return _rolling_std_masked(x, ns, ddof)
    # left-aligned: trailing NaN propagates into the padding only
    centre = x[0]
    d = x - centre
    c1, c2 = cumsum_pair(d)
    outs = []
    for n in ns:
        out = _nan(x)
        if length >= n:
            out[n - 1 :] = _window_std(c1, c2, n, ddof)
        outs.append(out)
    return outs


def _rolling_std_masked(x: F, ns: tuple[int, ...], ddof: int) -> list[F]:
    length = x.shape[0]
    valid = ~np.isnan(x)
    first = np.argmax(valid, axis=0)
    last = length - 1 - np.argmax(valid[::-1], axis=0)
    centre = x[first] if x.ndim == 1 else x[first, np.arange(x.shape[1])]
    d = x - centre
    d[~valid] = 0.0
    c1, c2 = cumsum_pair(d)
    rows = np.arange(length).reshape((length,) + (1,) * (x.ndim - 1))
    outs = []
    for n in ns:
        out = _nan(x)
        if length >= n:
            r = rows[n - 1 :]
            ok = (r - (n - 1) >= first) & (r <= last)
            out[n - 1 :] = np.where(ok, _window_std(c1, c2, n, ddof), np.nan)
        outs.append(out)
    return outs


def _window_std(c1: F, c2: F, n: int, ddof: int) -> F:
    """Standard deviations over every window of ``n`` from running sums of d and d**2."""
    s1 = c1[n - 1 :].copy()
    s1[1:] -= c1[:-n]
    s2 = c2[n - 1 :].copy()
    s2[1:] -= c2[:-n]
    s1 *= s1
    s1 /= n
    s2 -= s1
    s2 /= n - ddof
    np.maximum(s2, 0.0, out=s2)
    return np.sqrt(s2, out=s2)


def cumsum_pair(d: F) -> tuple[F, F]:
    """Cumulative sums of ``d`` and ``d**2`` along time in one pass."""
    if d.ndim == 1:
        return np.cumsum(d), np.cumsum(d * d)
    width = d.shape[1]
    both = np.empty((d.shape[0], 2 * width))
    both[:, :width] = d
    np.multiply(d, d, out=both[:, width:])
    c = cumsum0(both)
    return c[:, :width], c[:, width:]


def rolling_extremes(x: F, ns: tuple[int, ...], op: np.ufunc) -> list[F]:
    """Rolling ``op`` (maximum or minimum) over several window lengths, by doubling: level
    ``k`` holds the extreme of the ``2**k`` values ending at each row, built from level
    ``k-1`` with one vector op; a window of ``n`` is two overlapping power-of-two windows.
    Windows of 20, 50 and 252 rows share their levels: 10 passes in all."""
    length = x.shape[0]
    outs: dict[int, F] = {}
    cur = x
    size = 1
    for n in sorted(set(ns)):
        out = _nan(x)
        if length >= n:
            while size * 2 <= n:
                nxt = np.empty(x.shape)
                nxt[:size] = np.nan
                op(cur[size:], cur[:-size], out=nxt[size:])
                cur, size = nxt, size * 2
            shift = n - size
            if shift:
                op(cur[n - 1 :], cur[n - 1 - shift : length - shift], out=out[n - 1 :])
            else:
                out[n - 1 :] = cur[n - 1 :]
        outs[n] = out
    return [outs[n] for n in ns]


def recursive_many(series: list[tuple[F, float, int, F | float]]) -> list[F]:
    """Several recursions ``(x, alpha, seed_index, seed)`` of panels run in one pass over time.

    The inputs are stacked side by side, so each time step is one wide vector operation
    instead of one per recursion; the arithmetic per element is that of :func:`_recursive`
    (TA-Lib's loop). (A blocked closed form via matrix products was tried: no faster
    here, and less exact.)
    """
    if not series:
        return []
    if series[0][0].ndim == 1:
        return [_recursive(x, a, i, s) for x, a, i, s in series]
    length = series[0][0].shape[0]
    widths = [x.shape[1] for x, *_ in series]
    edges = np.concatenate(([0], np.cumsum(widths))).astype(int)
    ax = np.empty((length, int(edges[-1])))
    beta = np.empty(int(edges[-1]))
    seeds: dict[int, list[tuple[int, int, F | float]]] = {}
    for k, (x, a, i, s) in enumerate(series):
        lo, hi = int(edges[k]), int(edges[k + 1])
        np.multiply(x, a, out=ax[:, lo:hi])
        beta[lo:hi] = 1.0 - a
        if i < length:
            seeds.setdefault(i, []).append((lo, hi, s))
    y = np.empty(ax.shape)
    y[: min(seeds) + 1 if seeds else length] = np.nan
    if seeds:
        first = min(seeds)
        for lo, hi, s in seeds.pop(first):
            y[first, lo:hi] = s
        rows, axs, mul, add = list(y), list(ax), np.multiply, np.add
        for t in range(first + 1, length):
            row = rows[t]
            mul(rows[t - 1], beta, out=row)
            add(row, axs[t], out=row)
            if t in seeds:
                for lo, hi, s in seeds[t]:
                    row[lo:hi] = s
    return [y[:, edges[k] : edges[k + 1]] for k in range(len(series))]
