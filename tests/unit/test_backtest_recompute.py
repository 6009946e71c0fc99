"""Every number of a backtest, recomputed in pandas from the raw bars, written apart from the engine.

The only thing taken from the screener is *which* securities match on a signal date, and that from
the point-in-time screen (``engine.run`` with ``as_of``), not from the backtest's own evaluation.
Calendar, rebalance dates, listing, entry and exit prices, delisting exits, the benchmark, costs
(simulated in money, not weights), the equity curve and every statistic are computed here with
pandas on the 8-symbol fixture sample (one of them delisted part-way in the last scenario)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from stockscreen.screening.backtest import BacktestRequest, BacktestResult, run_backtest
from stockscreen.screening.engine import ScreenRequest, run
from stockscreen.screening.universe import Universe, from_bars

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DELISTED, DELIST_AFTER = "AOS", pd.Timestamp("2016-05-10")


def _bars(delist: bool) -> pd.DataFrame:
    df = pd.read_csv(FIXTURES / "bars-sample.csv.gz", parse_dates=["date"])
    df = df.dropna(subset=["open", "high", "low", "close", "volume"])
    if delist:
        df = df[~((df["Name"] == DELISTED) & (df["date"] > DELIST_AFTER))]
    return df.reset_index(drop=True)


def _universe(df: pd.DataFrame) -> Universe:
    rows = [(r.Name, r.date.date(), r.open, r.high, r.low, r.close, r.volume) for r in df.itertuples(index=False)]
    return from_bars(rows, {}, {})


@dataclass
class Ref:
    periods: pd.DataFrame
    holdings: dict[pd.Timestamp, pd.DataFrame]
    equity: pd.DataFrame
    stats: dict[str, dict[str, Any]]
    summary: dict[str, Any]


def _stats(r: pd.Series, days: list[pd.Timestamp], ppy: int) -> dict[str, Any]:
    eq = pd.Series([1.0, *(1 + r).cumprod().tolist()], index=days)
    years = (days[-1] - days[0]).days / 365.25
    dd = eq / eq.cummax() - 1
    trough = dd.idxmin()
    out: dict[str, Any] = {
        "total_return": eq.iloc[-1] - 1,
        "cagr": eq.iloc[-1] ** (1 / years) - 1,
        "volatility": r.std() * math.sqrt(ppy),
        "sharpe": r.mean() / r.std() * math.sqrt(ppy) if r.std() > 0 else None,
        "max_drawdown": -dd.min(),
        "max_drawdown_peak": None,
        "max_drawdown_trough": None,
    }
    if dd.min() < 0:
        out["max_drawdown_peak"] = eq.loc[:trough].idxmax().date().isoformat()
        out["max_drawdown_trough"] = trough.date().isoformat()
    return out


def reference(u: Universe, df: pd.DataFrame, req: dict[str, Any]) -> Ref:
    o = df.pivot(index="date", columns="Name", values="open").sort_index()
    c = df.pivot(index="date", columns="Name", values="close").sort_index()
    cal = c.index
    at = {d: i for i, d in enumerate(cal)}
    lo = cal[cal >= pd.Timestamp(req["from"])][0] if "from" in req else cal[0]
    hi = cal[cal <= pd.Timestamp(req["to"])][-1] if "to" in req else cal[-1]
    rebalance = req.get("rebalance", "monthly")
    freq = "M" if rebalance == "monthly" else "W-SUN"
    ends = cal.to_series().groupby(cal.to_period(freq)).max().sort_values()
    points = [d for d in ends if lo <= d <= hi]
    next_open = req.get("entry", "next_open") == "next_open"
    px = o if next_open else c
    shift = 1 if next_open else 0
    hold = req.get("hold_sessions")
    unit = (req.get("cost_bps", 10.0) + req.get("slippage_bps", 5.0)) / 10_000
    first_bar = c.apply(lambda s: s.first_valid_index())
    last_bar = c.apply(lambda s: s.last_valid_index())
    bench_sym = req.get("benchmark")

    def sell(sym: str, x: pd.Timestamp) -> tuple[float, pd.Timestamp]:
        if last_bar[sym] < x:  # delisted: its last close
            return float(c.at[last_bar[sym], sym]), last_bar[sym]
        p = px.at[x, sym]
        if pd.isna(p):
            d = c[sym].loc[:x].last_valid_index()
            return float(c.at[d, sym]), d
        return float(p), x

    sched = []
    for i, t in enumerate(points):
        nxt = points[i + 1] if i + 1 < len(points) else hi
        if nxt <= t:
            continue
        xs = min(at[t] + hold, at[nxt]) if hold else at[nxt]
        if xs + shift >= len(cal):
            continue
        sched.append((t, cal[at[t] + shift], cal[xs + shift]))

    money = 1.0
    held: dict[str, float] = {}  # money in each position after the previous exit (before selling)
    prev_x: pd.Timestamp | None = None
    rows, holdings = [], {}
    for k, (t, e, x) in enumerate(sched):
        if prev_x != e and held:
            raise AssertionError("positions must have been sold at the previous exit")
        listed = [s for s in c.columns if first_bar[s] <= t and last_bar[s] >= e and px.at[e, s] > 0]
        exits = {s: sell(s, x) for s in listed}
        rets = pd.Series({s: exits[s][0] / px.at[e, s] - 1 for s in listed}, dtype=float)
        bench = rets.mean()
        screen = run(u, ScreenRequest(query=req["query"], as_of=t.date(), sort="symbol", limit=500))
        picks = sorted({r["symbol"] for r in screen.data} & set(listed))
        start_money = money
        target = {s: money / len(picks) for s in picks}
        bought = sum(max(v - held.get(s, 0.0), 0.0) for s, v in target.items())
        sold = sum(max(v - target.get(s, 0.0), 0.0) for s, v in held.items())
        money -= unit * (bought + sold)
        positions = {s: money / len(picks) * (1 + rets[s]) for s in picks}
        money = sum(positions.values()) if picks else money
        gross = float(rets[picks].mean()) if picks else 0.0
        later_entry = sched[k + 1][1] if k + 1 < len(sched) else None
        if picks and later_entry != x:
            money -= unit * money
            positions = {}
        held = positions
        prev_x = x
        net = money / start_money - 1
        bsym = None
        if bench_sym and first_bar[bench_sym] <= t and last_bar[bench_sym] >= e and px.at[e, bench_sym] > 0:
            bsym = sell(bench_sym, x)[0] / px.at[e, bench_sym] - 1
        rows.append(
            {
                "signal_date": t,
                "entry_date": e,
                "exit_date": x,
                "count": len(picks),
                "gross": gross,
                "net": net,
                "bench": bench,
                "bsym": bsym,
                "hit": float((rets[picks] > bench).mean()) if picks else None,
                "turnover": max(bought, sold) / start_money,
            }
        )
        holdings[t] = pd.DataFrame(
            {
                "symbol": picks,
                "entry_price": [px.at[e, s] for s in picks],
                "exit_price": [exits[s][0] for s in picks],
                "exit_date": [exits[s][1] for s in picks],
                "ret": [rets[s] for s in picks],
            }
        )
    per = pd.DataFrame(rows)
    days = [per["entry_date"].iloc[0], *per["exit_date"]]
    ppy = 12 if rebalance == "monthly" else 52
    stats = {"strategy": _stats(per["net"], days, ppy), "benchmark": _stats(per["bench"], days, ppy)}
    if bench_sym:
        stats["benchmark_symbol"] = _stats(per["bsym"].astype(float).fillna(0.0), days, ppy)
    eq = pd.DataFrame(
        {
            "date": days,
            "strategy": [1.0, *(1 + per["net"]).cumprod()],
            "benchmark": [1.0, *(1 + per["bench"]).cumprod()],
        }
    )
    inv = per["count"] > 0
    excess = per["net"] - per["bench"]
    summary = {
        "periods": len(per),
        "invested_periods": int(inv.sum()),
        "avg_holdings": per["count"].mean(),
        "hit_rate": (excess > 1e-12)[inv].mean() if inv.any() else None,  # a tie (all held) is no hit
        "avg_excess": excess.mean(),
        "avg_excess_invested": excess[inv].mean() if inv.any() else None,
        "avg_turnover": per["turnover"].iloc[1:].mean() if len(per) > 1 else None,
        "total_cost": (per["gross"] - per["net"]).sum(),
    }
    return Ref(per, holdings, eq, stats, summary)


def _close(a: Any, b: Any) -> bool:
    if a is None or b is None or (isinstance(b, float) and math.isnan(b)):
        return a is None and (b is None or math.isnan(b))
    if isinstance(a, str) or isinstance(b, str):
        return bool(a == b)
    return bool(math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12))


def check(res: BacktestResult, ref: Ref) -> None:
    per = ref.periods
    assert len(res.periods) == len(per) > 5
    assert sum(p.count for p in res.periods) > 0, "a scenario with no holdings proves little"
    for p, (_, r) in zip(res.periods, per.iterrows(), strict=True):
        assert p.signal_date == r["signal_date"].date().isoformat()
        assert (p.entry_date, p.exit_date) == (r["entry_date"].date().isoformat(), r["exit_date"].date().isoformat())
        h = ref.holdings[r["signal_date"]]
        assert p.count == r["count"] == len(p.symbols) == len(p.holdings)
        assert p.symbols == list(h["symbol"]), p.signal_date
        for got, (_, want) in zip(p.holdings, h.iterrows(), strict=True):
            assert got["entry_date"] == p.entry_date
            assert got["exit_date"] == want["exit_date"].date().isoformat()
            assert _close(got["entry_price"], want["entry_price"]) and _close(got["exit_price"], want["exit_price"])
            assert _close(got["gross_return"], want["ret"])
        for field, key in (
            ("gross_return", "gross"),
            ("net_return", "net"),
            ("benchmark_return", "bench"),
            ("benchmark_symbol_return", "bsym"),
            ("hit_rate", "hit"),
            ("turnover", "turnover"),
        ):
            assert _close(getattr(p, field), r[key]), (p.signal_date, field, getattr(p, field), r[key])
        assert _close(p.excess, r["net"] - r["bench"]) and _close(p.cost, r["gross"] - r["net"])
        assert p.cash == (r["count"] == 0)
    for name, want in ref.stats.items():
        got = getattr(res.summary, name).model_dump()
        for k, v in want.items():
            assert _close(got[k], v), (name, k, got[k], v)
    for k, v in ref.summary.items():
        assert _close(getattr(res.summary, k), v), (k, getattr(res.summary, k), v)
    assert [q.date for q in res.equity] == [d.date().isoformat() for d in ref.equity["date"]]
    for q, (_, r) in zip(res.equity, ref.equity.iterrows(), strict=True):
        assert _close(q.strategy, r["strategy"]) and _close(q.benchmark, r["benchmark"])
        assert q.drawdown <= 0


SCENARIOS = [
    {"query": "rsi14 < 40", "from": "2014-01-01", "to": "2017-06-30"},
    {
        "query": "close > sma50 and perf_1m > 0",
        "from": "2016-01-01",
        "to": "2016-12-31",
        "rebalance": "weekly",
        "hold_sessions": 3,
        "cost_bps": 20.0,
        "slippage_bps": 0.0,
        "benchmark": "AAPL",
    },
    {"query": "close > sma200", "entry": "same_close", "cost_bps": 0.0, "slippage_bps": 0.0},
    {"query": "close > sma20 or rsi14 > 60", "from": "2015-06-01", "hold_sessions": 10, "benchmark": "JPM"},
]


@pytest.fixture(scope="module")
def data() -> dict[bool, tuple[pd.DataFrame, Universe]]:
    out = {}
    for delist in (False, True):
        df = _bars(delist)
        out[delist] = (df, _universe(df))
    return out


@pytest.mark.parametrize("delist", [False, True], ids=["survivors", "one-delisted"])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=["monthly", "weekly-hold3-bench", "same-close", "hold10"])
def test_backtest_matches_an_independent_pandas_recomputation(
    data: dict[bool, tuple[pd.DataFrame, Universe]], scenario: dict[str, Any], delist: bool
) -> None:
    df, u = data[delist]
    res = run_backtest(u, BacktestRequest.model_validate(scenario))
    check(res, reference(u, df, scenario))
    assert res.optimistic == (scenario.get("entry") == "same_close")
    assert any("optimistic" in w for w in res.warnings) == res.optimistic
    assert any("survivorship" in w for w in res.warnings) == (res.delistings == 0)


def test_the_recomputation_sees_the_delisting(data: dict[bool, tuple[pd.DataFrame, Universe]]) -> None:
    """The delisted scenarios really hold the delisted symbol across its last day (else they prove little)."""
    df, u = data[True]
    res = run_backtest(u, BacktestRequest.model_validate({"query": "close > 0", "from": "2016-01-01"}))
    assert res.delistings == 1
    crossing = [h for p in res.periods for h in p.holdings if h["symbol"] == DELISTED and h["delisted"]]
    assert len(crossing) == 1 and crossing[0]["exit_date"] == DELIST_AFTER.date().isoformat()
    check(res, reference(u, df, {"query": "close > 0", "from": "2016-01-01"}))
    assert np.isfinite(res.summary.strategy.total_return)
    assert dt.date.fromisoformat(res.end) > DELIST_AFTER.date()
