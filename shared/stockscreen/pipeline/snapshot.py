"""Aggregate: indicators per security and the versioned screening snapshot.

The new snapshot is written under a fresh version and made current in the same
transaction, so readers always see one whole snapshot.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

from stockscreen import indicators as ind
from stockscreen.db.engine import psycopg_connection
from stockscreen.screening.fields import METRIC_FIELDS

KEEP_VERSIONS = 5


def _last(x: np.ndarray[Any, Any]) -> float | None:
    if len(x) == 0:
        return None
    v = float(x[-1])
    return None if math.isnan(v) or math.isinf(v) else v


def _pct(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return (a / b - 1.0) * 100.0


def metrics_for(
    dates: np.ndarray[Any, Any],
    o: ind.F,
    h: ind.F,
    lo: ind.F,
    c: ind.F,
    v: ind.F,
    fundamentals: dict[str, float | None],
) -> dict[str, float | None]:
    """Latest metrics of one security from its full daily history (ascending)."""
    n = len(c)
    last = _last(c)
    prev = float(c[-2]) if n >= 2 else None
    m: dict[str, float | None] = {k: None for k in METRIC_FIELDS}
    m.update(open=_last(o), high=_last(h), low=_last(lo), close=last, volume=_last(v))
    m["change_pct"] = _pct(last, prev)
    m["gap_pct"] = _pct(_last(o), prev)
    m["change_from_open_pct"] = _pct(last, _last(o))
    for k in (20, 50, 200):
        m[f"sma{k}"] = _last(ind.sma(c, k))
        m[f"dist_sma{k}_pct"] = _pct(last, m[f"sma{k}"])
    m["ema12"] = _last(ind.ema(c, 12))
    m["ema26"] = _last(ind.ema(c, 26))
    m["rsi14"] = _last(ind.rsi(c, 14))
    line, sig, hist = ind.macd(c)
    m["macd"], m["macd_signal"], m["macd_hist"] = _last(line), _last(sig), _last(hist)
    m["atr14"] = _last(ind.atr(h, lo, c, 14))
    m["atr_pct"] = None if m["atr14"] is None or not last else m["atr14"] / last * 100.0
    upper, mid, lower = ind.bollinger(c, 20, 2.0)
    u, md, lw = _last(upper), _last(mid), _last(lower)
    if u is not None and lw is not None and md and last is not None and u != lw:
        m["bb_pctb"] = (last - lw) / (u - lw)
        m["bb_width"] = (u - lw) / md * 100.0
    window = min(n, 252)
    if window:
        m["high_52w"] = float(np.max(h[-window:]))
        m["low_52w"] = float(np.min(lo[-window:]))
        m["dist_high_52w_pct"] = _pct(last, m["high_52w"])
        m["dist_low_52w_pct"] = _pct(last, m["low_52w"])
    m["avg_volume_20"] = _last(ind.sma(v, 20))
    m["avg_volume_50"] = _last(ind.sma(v, 50))
    if m["avg_volume_50"]:
        m["rel_volume"] = (m["volume"] or 0.0) / m["avg_volume_50"]
    for key, days in (("perf_1w", 5), ("perf_1m", 21), ("perf_3m", 63), ("perf_6m", 126), ("perf_1y", 252)):
        if n > days:
            m[key] = _pct(last, float(c[-1 - days]))
    if n:
        year_start = np.datetime64(f"{dates[-1].astype('datetime64[Y]')}-01-01")
        before = np.where(dates < year_start)[0]
        if len(before):
            m["perf_ytd"] = _pct(last, float(c[before[-1]]))
    if n > 21:
        rets = np.diff(c[-22:]) / c[-22:-1]
        m["volatility_1m"] = float(np.std(rets, ddof=1) * 100.0)
    # fundamentals: shares from the snapshot's market cap and price, valued at the last close
    f_price, f_cap = fundamentals.get("price"), fundamentals.get("market_cap")
    if f_price and f_cap and last is not None:
        m["market_cap"] = f_cap / f_price * last
    eps = fundamentals.get("eps")
    m["eps"] = eps
    m["pe"] = last / eps if eps and eps > 0 and last is not None else None
    for key in ("dividend_yield", "price_book", "price_sales"):
        base = fundamentals.get(key)
        if base is not None and f_price and last is not None:
            # yield moves inversely with price; price ratios move with it
            m[key] = base * f_price / last if key == "dividend_yield" else base * last / f_price
    m["ebitda"] = fundamentals.get("ebitda")
    return m


def build_snapshot(conn: Connection, run_id: str | None) -> dict[str, Any]:
    """Compute metrics for every security with bars and publish them as a new current version."""
    funds = {
        row[0]: dict(row._mapping)
        for row in conn.execute(
            text(
                "SELECT DISTINCT ON (security_id) security_id, price, pe, dividend_yield, eps, market_cap, ebitda, "
                "price_sales, price_book FROM fundamentals ORDER BY security_id, as_of DESC"
            )
        )
    }
    rows = conn.execute(
        text("SELECT security_id, date, open, high, low, close, volume FROM daily_bars ORDER BY security_id, date")
    ).all()
    if not rows:
        return {"version": None, "rows": 0, "as_of": None}
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    dates = np.array([r[1] for r in rows], dtype="datetime64[D]")
    cols = np.array([r[2:] for r in rows], dtype=np.float64)
    bounds = np.flatnonzero(np.diff(ids)) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [len(ids)]))
    as_of: dt.date = max(r[1] for r in rows)
    version = int(conn.execute(text("SELECT coalesce(max(version), 0) + 1 FROM snapshot_versions")).scalar_one())
    out: list[dict[str, Any]] = []
    for s, e in zip(starts, ends, strict=True):
        sid = int(ids[s])
        seg = cols[s:e]
        metrics = metrics_for(dates[s:e], seg[:, 0], seg[:, 1], seg[:, 2], seg[:, 3], seg[:, 4], funds.get(sid, {}))
        out.append({"version": version, "security_id": sid, "as_of": dates[e - 1].item(), **metrics})
    conn.execute(
        text(
            "INSERT INTO snapshot_versions (version, as_of, run_id, is_current, row_count) "
            "VALUES (:v, :as_of, :run_id, false, :n)"
        ),
        {"v": version, "as_of": as_of, "run_id": run_id, "n": len(out)},
    )
    columns = ["version", "security_id", "as_of", *METRIC_FIELDS]
    raw = psycopg_connection(conn)
    with (
        raw.cursor() as cur,
        cur.copy(f"COPY snapshot_rows ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in out:
            copy.write_row(tuple(row[c] for c in columns))
    conn.execute(text("UPDATE snapshot_versions SET is_current = false WHERE is_current"))
    conn.execute(text("UPDATE snapshot_versions SET is_current = true WHERE version = :v"), {"v": version})
    conn.execute(text("DELETE FROM snapshot_versions WHERE version <= :v"), {"v": version - KEEP_VERSIONS})
    return {"version": version, "rows": len(out), "as_of": as_of.isoformat()}
