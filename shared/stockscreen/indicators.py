"""Technical indicators over one security's daily history, vectorised with NumPy.

Conventions follow TA-Lib: SMA over n values; EMA seeded with the SMA of the first n
values; RSI and ATR with Wilder's smoothing seeded by simple means; values before a
full window are NaN.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F = NDArray[np.float64]


def sma(x: F, n: int) -> F:
    out = np.full_like(x, np.nan)
    if len(x) < n:
        return out
    c = np.cumsum(np.insert(x, 0, 0.0))
    out[n - 1 :] = (c[n:] - c[:-n]) / n
    return out


def _recursive(x: F, alpha: float, seed_index: int, seed: float) -> F:
    """y[t] = alpha * x[t] + (1 - alpha) * y[t-1], from y[seed_index] = seed."""
    out = np.full_like(x, np.nan)
    if seed_index >= len(x):
        return out
    out[seed_index] = seed
    tail = x[seed_index + 1 :]
    if len(tail):
        k = len(tail)
        decay = (1.0 - alpha) ** np.arange(1, k + 1)
        # closed form of the recursion, evaluated in blocks to keep powers finite
        y = seed
        block = 256
        for start in range(0, k, block):
            seg = tail[start : start + block]
            m = len(seg)
            d = decay[:m]
            w = alpha * (1.0 - alpha) ** (np.arange(m)[:, None] - np.arange(m)[None, :])
            w = np.tril(w)
            vals = w @ seg + d * y
            out[seed_index + 1 + start : seed_index + 1 + start + m] = vals
            y = float(vals[-1])
    return out


def ema(x: F, n: int) -> F:
    if len(x) < n:
        return np.full_like(x, np.nan)
    return _recursive(x, 2.0 / (n + 1), n - 1, float(np.mean(x[:n])))


def wilder(x: F, n: int, first: int) -> F:
    """Wilder's smoothing of ``x`` starting at index ``first`` (seeded with a simple mean)."""
    if len(x) < first + n:
        return np.full_like(x, np.nan)
    seed_index = first + n - 1
    return _recursive(x, 1.0 / n, seed_index, float(np.mean(x[first : first + n])))


def rsi(close: F, n: int = 14) -> F:
    out = np.full_like(close, np.nan)
    if len(close) <= n:
        return out
    diff = np.diff(close, prepend=np.nan)
    gain = np.where(diff > 0, diff, 0.0)
    loss = np.where(diff < 0, -diff, 0.0)
    avg_gain = wilder(gain, n, 1)
    avg_loss = wilder(loss, n, 1)
    total = avg_gain + avg_loss
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(total > 0, 100.0 * avg_gain / total, 0.0)
    out[np.isnan(avg_gain)] = np.nan
    return out


def true_range(high: F, low: F, close: F) -> F:
    prev = np.roll(close, 1)
    tr = np.maximum(high - low, np.maximum(np.abs(high - prev), np.abs(low - prev)))
    tr[0] = np.nan
    return tr


def atr(high: F, low: F, close: F, n: int = 14) -> F:
    return wilder(true_range(high, low, close), n, 1)


def macd(close: F, fast: int = 12, slow: int = 26, signal: int = 9) -> tuple[F, F, F]:
    line = ema(close, fast) - ema(close, slow)
    sig = np.full_like(close, np.nan)
    valid = np.where(~np.isnan(line))[0]
    if len(valid) >= signal:
        sig[valid[0] :] = ema(line[valid[0] :], signal)
    return line, sig, line - sig


def rolling_std(x: F, n: int, ddof: int = 0) -> F:
    out = np.full_like(x, np.nan)
    if len(x) < n:
        return out
    windows = np.lib.stride_tricks.sliding_window_view(x, n)
    out[n - 1 :] = windows.std(axis=1, ddof=ddof)
    return out


def rolling_max(x: F, n: int) -> F:
    out = np.full_like(x, np.nan)
    if len(x) < n:
        return out
    out[n - 1 :] = np.lib.stride_tricks.sliding_window_view(x, n).max(axis=1)
    return out


def rolling_min(x: F, n: int) -> F:
    out = np.full_like(x, np.nan)
    if len(x) < n:
        return out
    out[n - 1 :] = np.lib.stride_tricks.sliding_window_view(x, n).min(axis=1)
    return out


def bollinger(close: F, n: int = 20, k: float = 2.0) -> tuple[F, F, F]:
    mid = sma(close, n)
    sd = rolling_std(close, n)
    return mid + k * sd, mid, mid - k * sd
