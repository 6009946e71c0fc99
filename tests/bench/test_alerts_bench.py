"""Alert evaluation figures (``BENCH`` lines, not pass/fail timing).

100,000 active alerts over 5,000 symbols, in the production layout: stored rules compiled by
``compile_rule`` (price levels, crossings of a level and of a field such as sma50, change %, moves
over N bars, channels), expanded to triggers and put in the :class:`TriggerBook` the live evaluator
keeps, with the states a running evaluator has. A quote batch carries 10% of the symbols (the
QuoteBatch contract: the symbols whose price changed), moving about 1%.

* ``alerts_eval_100k``: median ms per batch of the indexed evaluation (symbols looked up, the
  triggers whose levels lie between each changed symbol's old and new price stepped, firings
  found); ``alerts_eval_100k_vs_naive``: a plain loop over every trigger applying the same
  semantics to the same batches, in the same run (the two take turns), divided by it.
* Scalings: the same with 1..50% of symbols changed (cost follows the changed symbols), and with
  25k..200k alerts at 10% changed (cost stays nearly flat: it follows the levels crossed, not the
  alerts held).
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
import sys
import time

import numpy as np

from stockscreen.alerts.evaluation import ARMED, DISARMED, TriggerBook, TriggerRow, build_book, compile_rule
from stockscreen.realtime.messages import Quote, QuoteBatch

SYMBOLS = 5_000
ALERTS = 100_000
CHANGED = 0.10
BATCHES = 15


def bench(name: str, value: float, unit: str) -> None:
    print(f"BENCH {name} {value:.2f} {unit}", file=sys.__stdout__, flush=True)


def _rules(rng: np.random.Generator, n: int, price: np.ndarray, sma50: np.ndarray) -> list[TriggerRow]:
    """``n`` alerts, each one symbol, mixed like users set them; levels resolved as the evaluator does."""
    rows: list[TriggerRow] = []
    kinds = rng.choice(
        ["price_above", "price_below", "crossing", "crosses_sma", "change_pct", "move_up_pct", "channel_enter"],
        size=n,
        p=[0.3, 0.25, 0.15, 0.1, 0.1, 0.05, 0.05],
    )
    syms = rng.integers(0, SYMBOLS, n)
    for k in range(n):
        s = int(syms[k])
        p = float(price[s])
        kind = str(kinds[k])
        level = round(p * float(rng.uniform(0.8, 1.2)), 2)
        params: dict[str, object] = {
            "price_above": {"price": level},
            "price_below": {"price": level},
            "crossing": {"field": "close", "level": level},
            "crosses_sma": {"period": 50, "direction": "above" if k % 2 else "below"},
            "change_pct": {"threshold_pct": float(rng.choice([2, 5, 10])), "direction": "either"},
            "move_up_pct": {"pct": 5, "bars": 5},
            "channel_enter": {"lower": level, "upper": round(level * 1.05, 2)},
        }[kind]
        legs = compile_rule(kind, params)
        assert isinstance(legs, list)
        for leg in legs:
            lv = leg.level
            if lv.const is not None:
                a = lv.const
            elif lv.field == "sma50":
                a = float(sma50[s])
            else:  # previous close / close N bars ago: about the price
                a = p * float(rng.uniform(0.97, 1.03)) * lv.scale
            b = leg.upper.const if leg.upper is not None and leg.upper.const is not None else math.nan
            rows.append(TriggerRow(k, f"S{s:04d}", leg, a, b, hysteresis_pct=0.2))
    return rows


def _books(n_alerts: int, seed: int = 1) -> tuple[TriggerBook, TriggerBook, np.ndarray]:
    rng = np.random.default_rng(seed)
    price = rng.lognormal(4, 0.8, SYMBOLS).round(2)
    sma50 = price * rng.uniform(0.9, 1.1, SYMBOLS)
    rows = _rules(rng, n_alerts, price, sma50)
    names = [f"S{s:04d}" for s in range(SYMBOLS)]
    fast, slow = build_book(rows, names), build_book(rows, names)
    vol = np.full(SYMBOLS, np.nan)
    fast.observe_all(price, vol)
    slow.observe_all(price, vol)
    assert np.isin(fast.state, [ARMED, DISARMED]).all()
    return fast, slow, price


def _batches(rng: np.random.Generator, book: TriggerBook, changed: float, n: int) -> list[QuoteBatch]:
    at = dt.datetime(2026, 12, 1, 15, tzinfo=dt.UTC)
    price = book.last_price.copy()
    out = []
    for k in range(n):
        syms = np.sort(rng.choice(SYMBOLS, size=int(SYMBOLS * changed), replace=False))
        price[syms] = (price[syms] * rng.normal(1, 0.01, len(syms))).round(2)
        ts = at + dt.timedelta(seconds=k)
        out.append(
            QuoteBatch(
                batch_id=f"b{k}",
                source="bench",
                asof=ts,
                quotes=[Quote(symbol=book.symbols[s], price=float(price[s]), ts=ts) for s in syms.tolist()],
            )
        )
    return out


def _apply(book: TriggerBook, batch: QuoteBatch, naive: bool) -> list[int]:
    """What ``evaluate_quotes`` does with a batch in memory: symbols to book rows, then the step."""
    syms, prices = [], []
    for q in batch.quotes:
        s = book.symbol_index(q.symbol)
        if s is not None:
            syms.append(s)
            prices.append(q.price)
    sa = np.array(syms, dtype=np.intp)
    pa = np.array(prices)
    va = np.full(len(sa), np.nan)
    if naive:
        return book.on_prices_naive(sa, pa, va)
    fired, _ = book.on_prices(sa, pa, va)
    return sorted(fired.tolist())


def _time(book: TriggerBook, batches: list[QuoteBatch]) -> float:
    times = []
    for b in batches:
        t0 = time.perf_counter()
        _apply(book, b, naive=False)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def test_alert_evaluation_100k() -> None:
    fast, slow, _ = _books(ALERTS)
    batches = _batches(np.random.default_rng(7), fast, CHANGED, BATCHES)
    t_fast, t_slow, fired = [], [], 0
    for b in batches:  # the two take turns on the same batches, and must agree
        t0 = time.perf_counter()
        got = _apply(fast, b, naive=False)
        t1 = time.perf_counter()
        want = _apply(slow, b, naive=True)
        t2 = time.perf_counter()
        assert got == want
        assert np.array_equal(fast.state, slow.state)
        fired += len(got)
        t_fast.append((t1 - t0) * 1000)
        t_slow.append((t2 - t1) * 1000)
    assert fired > 0  # the batches do cross levels
    med, naive = statistics.median(t_fast), statistics.median(t_slow)
    bench("alerts_eval_100k", med, "ms")
    bench("alerts_eval_100k_naive", naive, "ms")
    bench("alerts_eval_100k_vs_naive", naive / med, "x")
    bench("alerts_eval_100k_triggers", len(fast), "triggers")
    bench("alerts_eval_100k_fired_per_batch", fired / len(batches), "firings")


def test_alert_evaluation_scales_with_changed_symbols_not_alerts() -> None:
    book, _, _ = _books(ALERTS)
    rng = np.random.default_rng(11)
    for share in (0.01, 0.05, 0.10, 0.20, 0.50):
        ms = _time(book, _batches(rng, book, share, BATCHES))
        bench(f"alerts_eval_scaling_changed_{int(share * 100)}pct_of_5000", ms, "ms")
    for n in (25_000, 50_000, 100_000, 200_000):
        book, _, _ = _books(n, seed=n)
        ms = _time(book, _batches(np.random.default_rng(13), book, CHANGED, BATCHES))
        bench(f"alerts_eval_scaling_alerts_{n // 1000}k_at_10pct", ms, "ms")


def test_query_alerts_per_1000() -> None:
    """1,000 query-language alerts, each over a 50-symbol watchlist, evaluated on the daily bar as the
    daily run does (the screener's vectorised engine: one mask per distinct query over the whole
    universe, then one trigger per alert x symbol stepped): ``alerts_query_eval_per_1000``."""
    from stockscreen.alerts.service import AlertEvaluationService, _Alert, _Levels
    from stockscreen.screening import universe as U
    from stockscreen.screening.engine import compile_query
    from stockscreen.screening.evaluate import Evaluator
    from tests.conftest import DEMO

    u = U.from_csv(str(DEMO / "sp500-daily-2013-2018.csv.gz"), None, None)
    t = u.date_index(None)
    svc = AlertEvaluationService(
        None,  # type: ignore[arg-type]  # the build step reads no repository
        universe_of=lambda v: u,
        watchlists=lambda: None,  # type: ignore[arg-type,return-value]
        screens=lambda: None,  # type: ignore[arg-type,return-value]
        compile_query=compile_query,
        query_mask=lambda uu, cond, tt: Evaluator(uu).mask(cond, tt),
        latest_prices=lambda s: {},
        publish=lambda f: None,
    )
    rng = np.random.default_rng(5)
    symbols = [str(s) for s in u.symbols.tolist()]
    alerts = []
    for k in range(1000):
        query = f"rsi14 < {20 + k * 0.03:.2f} and volume > {1 + (k % 7) * 0.1:.1f} * avg_volume_20"
        row = {
            "id": f"a{k}",
            "user_id": "u",
            "name": None,
            "type": "query",
            "symbol": None,
            "params": {"query": query, "watchlist_id": "w"},
            "trigger": "every_time",
            "hysteresis_pct": 0.0,
            "expires_at": None,
            "snoozed_until": None,
            "blocked_until": None,
            "members_version": None,
        }
        alerts.append(_Alert.of(row, [str(s) for s in rng.choice(symbols, 50, replace=False)]))
    u.want({"rsi14", "volume", "avg_volume_20", "close"})
    times = []
    for _ in range(3):
        compile_query.cache_clear()
        t0 = time.perf_counter()
        built, (x,) = svc._build(alerts, _Levels(u, t, live=False), {}, live=False)
        fired, _ = built.book.step(np.arange(len(built.book), dtype=np.intp), x)
        times.append((time.perf_counter() - t0) * 1000)
    assert len(built.book) == 50_000 and len(fired) == int(np.nansum(x))  # level conditions: every match fires
    bench("alerts_query_eval_per_1000", statistics.median(times), "ms")
    bench("alerts_query_eval_symbols", len(symbols), "symbols")
