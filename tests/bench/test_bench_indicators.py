"""Indicator recompute for the full demo history, side by side with TA-Lib on the same arrays.

Not a timed test: it prints ``BENCH`` lines (median of several interleaved runs) and
asserts only that both sides computed the same values. Data: the demo CSV read directly
(no database), 505 symbols; the 11 bars with a missing price are dropped, as the
pipeline quarantines them.

Both sides compute the same set: SMA 20/50/200, EMA 12/26, RSI 14, MACD 12/26/9,
ATR 14, Bollinger 20/2, rolling max/min of 20/50/252 sessions, average volume 20/50 and
the 5/21-session standard deviation of returns. Ours works on the whole (T, S) panel at
once; TA-Lib is called per security on contiguous arrays prepared beforehand.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import talib

from stockscreen.market import measures as mt
from tests.bars import read_bars_csv

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo" / "sp500-daily-2013-2018.csv.gz"
RUNS = 7


def _median(fn: Callable[[], Any], runs: int = RUNS) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def _talib_set(columns: list[dict[str, np.ndarray]]) -> list[dict[str, np.ndarray]]:
    out = []
    for b in columns:
        c, h, lo, v = b["close"], b["high"], b["low"], b["volume"]
        r: dict[str, np.ndarray] = {}
        r["sma20"], r["sma50"], r["sma200"] = talib.SMA(c, 20), talib.SMA(c, 50), talib.SMA(c, 200)
        r["ema12"], r["ema26"] = talib.EMA(c, 12), talib.EMA(c, 26)
        r["rsi14"] = talib.RSI(c, 14)
        r["macd"], r["macd_signal"], r["macd_hist"] = talib.MACD(c, 12, 26, 9)
        r["atr14"] = talib.ATR(h, lo, c, 14)
        r["bb_upper"], _mid, r["bb_lower"] = talib.BBANDS(c, 20, 2.0, 2.0, 0)
        for label, n in (("20d", 20), ("50d", 50), ("52w", 252)):
            r[f"high_{label}"], r[f"low_{label}"] = talib.MAX(h, n), talib.MIN(lo, n)
        r["avg_volume_20"], r["avg_volume_50"] = talib.SMA(v, 20), talib.SMA(v, 50)
        rets = c[1:] / c[:-1] - 1.0
        r["sd5"], r["sd21"] = talib.STDDEV(rets, 5, 1.0), talib.STDDEV(rets, 21, 1.0)
        out.append(r)
    return out


def test_bench_indicators_full_history() -> None:
    start = time.perf_counter()
    _symbols, ids, dates, ohlcv = read_bars_csv(str(DEMO))
    print(f"\nBENCH indicators_read_csv {time.perf_counter() - start:.3f} s")
    start = time.perf_counter()
    panel = mt.panel_from_flat(ids, dates, ohlcv)
    print(f"BENCH indicators_panel_build {time.perf_counter() - start:.3f} s")
    columns = [{k: np.ascontiguousarray(v) for k, v in panel.column(j).items()} for j in range(panel.shape[1])]
    print(f"BENCH indicators_bars {len(ids)} bars")
    print(f"BENCH indicators_symbols {panel.shape[1]} symbols")

    # interleave the two sides so machine load affects both alike
    ours_t, talib_t = [], []
    ours = theirs = None
    for _ in range(RUNS):
        t, ours = _median(lambda: mt.indicators_full(panel), 1)
        ours_t.append(t)
        t, theirs = _median(lambda: _talib_set(columns), 1)
        talib_t.append(t)
    o, t_ = statistics.median(ours_t), statistics.median(talib_t)
    print(f"BENCH indicators_full_history {o:.4f} s")
    print(f"BENCH talib_full_history {t_:.4f} s")
    print(f"BENCH indicators_vs_talib_ratio {o / t_:.2f} x")

    # every catalogue metric (the snapshot's 75 numeric and 6 flag columns) for every date
    market = mt.market_index(panel)
    all_t, everything = _median(lambda: mt.compute(panel, market), 3)
    print(f"BENCH metrics_all_fields_full_history {all_t:.4f} s")

    # a daily run: state at the day before + the last TAIL bars of every security
    ends = np.append(np.flatnonzero(np.diff(ids)) + 1, len(ids))
    drop = np.zeros(len(ids), dtype=bool)
    drop[ends - 1] = True
    yesterday = mt.panel_from_flat(ids[~drop], dates[~drop], ohlcv[~drop])
    state = mt.state_at_last(yesterday, mt.recursive_full(yesterday))
    new = np.ones(len(ends), dtype=np.int64)
    tail = mt.panel_from_flat(ids, dates, ohlcv, tail=mt.TAIL + new)
    flat_market = mt.market_index_flat(ids, dates, ohlcv[:, 3])
    inc_t, (last, _state) = _median(lambda: mt.advance(tail, state, new, panel.lengths, flat_market), 3)
    print(f"BENCH metrics_incremental_day {inc_t:.4f} s")
    print(f"BENCH metrics_incremental_speedup {all_t / inc_t:.1f} x")

    # both sides computed the same thing
    assert ours is not None and theirs is not None
    for j in (0, panel.shape[1] // 2, panel.shape[1] - 1):
        n = int(panel.lengths[j])
        for key in ("sma200", "ema26", "rsi14", "macd_hist", "atr14", "bb_upper", "high_52w", "avg_volume_50"):
            ref = theirs[j][key]
            ok = ~np.isnan(ref)
            np.testing.assert_allclose(ours[key][:n, j][ok], ref[ok], rtol=1e-6, atol=1e-9 * np.mean(ref[ok]))
    full_last = mt.last_rows(panel, everything)
    ok = ~np.isnan(full_last["ema12"])
    np.testing.assert_allclose(last["ema12"][ok], full_last["ema12"][ok], rtol=1e-10)


def test_bench_snapshot_build(database_url: str) -> None:
    """The Aggregate step on PostgreSQL for the whole demo: a full rebuild, and the daily
    incremental one (stored state + last bars) after one new day, checked equal."""
    import psycopg
    from sqlalchemy import create_engine, text

    from stockscreen.db.engine import normalise_url
    from stockscreen.pipeline import snapshot
    from tests.conftest import truncate_all

    truncate_all(database_url)
    symbols, ids, dates, ohlcv = read_bars_csv(str(DEMO))
    plain = database_url.replace("postgresql+psycopg://", "postgresql://")
    last_day = dates.max()
    with psycopg.connect(plain) as conn:
        with conn.cursor().copy("COPY securities (symbol, name) FROM STDIN") as copy:
            for s in symbols:
                copy.write_row((s, s))
        sid = dict(conn.execute("SELECT symbol, id FROM securities").fetchall())
        code = np.array([sid[s] for s in symbols])
        with conn.cursor().copy("COPY daily_bars FROM STDIN") as copy:
            for i, d, row in zip(ids.tolist(), dates.tolist(), ohlcv.tolist(), strict=True):
                if d != last_day:
                    copy.write_row((int(code[i]), d, row[0], row[1], row[2], row[3], int(row[4])))
    engine = create_engine(normalise_url(database_url))

    def build(full: bool) -> dict[str, Any]:
        with engine.begin() as conn:
            return snapshot.build_snapshot(conn, None, full=full)

    full_t, first = _median(lambda: build(True), 1)
    assert first["recomputed"] == 505
    with psycopg.connect(plain) as conn, conn.cursor().copy("COPY daily_bars FROM STDIN") as copy:
        for i, d, row in zip(ids.tolist(), dates.tolist(), ohlcv.tolist(), strict=True):
            if d == last_day:
                copy.write_row((int(code[i]), d, row[0], row[1], row[2], row[3], int(row[4])))
    inc_t, inc = _median(lambda: build(False), 1)
    assert inc["incremental"] == 505 and inc["recomputed"] == 0

    def current() -> dict[int, tuple[Any, ...]]:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT r.security_id, r.rsi14, r.macd_hist, r.sma200, r.beta, r.perf_ytd FROM snapshot_rows r "
                    "JOIN snapshot_versions v ON v.version = r.version AND v.is_current"
                )
            ).all()
        return {r[0]: tuple(r[1:]) for r in rows}

    incremental = current()
    full_again_t, _ = _median(lambda: build(True), 1)
    expected = current()
    for k, values in expected.items():
        for a, b in zip(incremental[k], values, strict=True):
            assert (a is None and b is None) or abs(a - b) <= 1e-9 * max(1.0, abs(b))
    print(f"\nBENCH snapshot_build_full {min(full_t, full_again_t):.3f} s")
    print(f"BENCH snapshot_build_incremental {inc_t:.3f} s")
    print(f"  (phases: full {first['seconds']}, incremental {inc['seconds']})")
    engine.dispose()
    truncate_all(database_url)
