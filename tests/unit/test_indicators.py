"""Indicators against straightforward loop implementations of the textbook (TA-Lib) definitions."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from stockscreen.market import indicators as ind

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture(scope="module")
def aapl() -> dict[str, np.ndarray]:
    rows = []
    with gzip.open(FIXTURES / "bars-sample.csv.gz", "rt") as f:
        next(f)
        for line in f:
            _d, o, h, lo, c, v, name = line.strip().split(",")
            if name == "AAPL":
                rows.append((float(o), float(h), float(lo), float(c), float(v)))
    a = np.array(rows)
    return {"open": a[:, 0], "high": a[:, 1], "low": a[:, 2], "close": a[:, 3], "volume": a[:, 4]}


def ref_ema(x: list[float], n: int) -> list[float]:
    out = [float("nan")] * len(x)
    out[n - 1] = sum(x[:n]) / n
    k = 2 / (n + 1)
    for i in range(n, len(x)):
        out[i] = x[i] * k + out[i - 1] * (1 - k)
    return out


def ref_rsi(c: list[float], n: int = 14) -> list[float]:
    out = [float("nan")] * len(c)
    gains = [max(c[i] - c[i - 1], 0) for i in range(1, len(c))]
    losses = [max(c[i - 1] - c[i], 0) for i in range(1, len(c))]
    ag, al = sum(gains[:n]) / n, sum(losses[:n]) / n
    out[n] = 100 * ag / (ag + al)
    for i in range(n + 1, len(c)):
        ag = (ag * (n - 1) + gains[i - 1]) / n
        al = (al * (n - 1) + losses[i - 1]) / n
        out[i] = 100 * ag / (ag + al)
    return out


def ref_atr(h: list[float], lo: list[float], c: list[float], n: int = 14) -> list[float]:
    tr = [float("nan")] + [max(h[i] - lo[i], abs(h[i] - c[i - 1]), abs(lo[i] - c[i - 1])) for i in range(1, len(c))]
    out = [float("nan")] * len(c)
    out[n] = sum(tr[1 : n + 1]) / n
    for i in range(n + 1, len(c)):
        out[i] = (out[i - 1] * (n - 1) + tr[i]) / n
    return out


def _close(a: np.ndarray, b: list[float]) -> None:
    b_arr = np.array(b)
    assert np.array_equal(np.isnan(a), np.isnan(b_arr))
    np.testing.assert_allclose(a[~np.isnan(a)], b_arr[~np.isnan(b_arr)], rtol=1e-9)


def test_sma(aapl: dict[str, np.ndarray]) -> None:
    c = aapl["close"]
    out = ind.sma(c, 20)
    assert np.isnan(out[:19]).all()
    np.testing.assert_allclose(out[19:], [c[i - 19 : i + 1].mean() for i in range(19, len(c))], rtol=1e-9)


@pytest.mark.parametrize("n", [12, 26])
def test_ema(aapl: dict[str, np.ndarray], n: int) -> None:
    _close(ind.ema(aapl["close"], n), ref_ema(list(aapl["close"]), n))


def test_rsi_wilder(aapl: dict[str, np.ndarray]) -> None:
    _close(ind.rsi(aapl["close"], 14), ref_rsi(list(aapl["close"])))


def test_atr_wilder(aapl: dict[str, np.ndarray]) -> None:
    _close(
        ind.wilder(ind.true_range(aapl["high"], aapl["low"], aapl["close"]), 14, 1),
        ref_atr(list(aapl["high"]), list(aapl["low"]), list(aapl["close"])),
    )


def test_macd_follows_talib_seeding(aapl: dict[str, np.ndarray]) -> None:
    """TA-Lib seeds MACD's fast EMA with the mean of the 12 closes ending where the slow
    EMA is seeded (index 25), not at index 11; the signal is a 9-day EMA of the line."""
    close = list(aapl["close"])
    line, sig, hist = ind.macd(aapl["close"])
    fast = [float("nan")] * len(close)
    fast[25] = sum(close[14:26]) / 12
    k = 2 / 13
    for i in range(26, len(close)):
        fast[i] = close[i] * k + fast[i - 1] * (1 - k)
    ref_line = np.array(fast) - np.array(ref_ema(close, 26))
    _close(line, list(ref_line))
    first = 25
    ref_sig = [float("nan")] * first + ref_ema(list(ref_line[first:]), 9)
    _close(sig, ref_sig)
    np.testing.assert_allclose(hist[~np.isnan(hist)], (line - sig)[~np.isnan(hist)])


def test_bollinger_contains_close_mostly(aapl: dict[str, np.ndarray]) -> None:
    mid, sd = ind.sma(aapl["close"], 20), ind.rolling_std(aapl["close"], 20)
    upper, lower = mid + 2 * sd, mid - 2 * sd  # as market.measures builds bb_upper and bb_lower
    ok = ~np.isnan(mid)
    inside = (aapl["close"][ok] <= upper[ok]) & (aapl["close"][ok] >= lower[ok])
    assert 0.85 < inside.mean() < 1.0


def test_short_history_gives_nan_not_errors() -> None:
    x = np.array([1.0, 2.0, 3.0])
    for out in (ind.sma(x, 20), ind.ema(x, 12), ind.rsi(x), ind.wilder(ind.true_range(x, x, x), 14, 1)):
        assert np.isnan(out).all()
