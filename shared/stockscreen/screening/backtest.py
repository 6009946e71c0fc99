"""Backtest a screen: evaluate it on each rebalance date, trade it at the next session, point in time.

The method (every number in :class:`BacktestResult` follows from it; :mod:`.backtest_stats` holds
the statistics):

- **Signal.** On each rebalance date ``t`` (the last session of each week or month in the range)
  the screen reads only columns ``<= t`` (every metric history is causal: windows end at ``t``,
  weekly/monthly bars are cut at ``t``). The universe on ``t`` is the securities *listed* on ``t``
  (:func:`listing_bounds`): from the security master's ``listed_on``/``delisted_on`` where set,
  otherwise from the first and last stored bar.
- **Entry.** At the next session's open (``entry="next_open"``, the default), equal weights.
  ``entry="same_close"`` buys at ``t``'s own close, which real trading cannot do: the result then
  says it is optimistic. A security without a price at the entry is not bought.
- **Exit.** By the same rule (the open after, or the close of, the exit signal date), which is the
  next rebalance date, or ``hold_sessions`` sessions after ``t`` when that comes first (the rest of
  the period is then in cash). A security delisted before the exit leaves at its last close; one
  without a price on the exit day leaves at its last close before it.
- **Benchmark.** The equal-weighted return of the whole listed universe bought and sold on exactly
  the same dates at the same kind of price (optionally also one symbol, such as an index ETF).
  A period with no matches holds cash: its return is 0 and its benchmark return is still shown.
- **Costs.** Every trade costs ``cost_bps + slippage_bps`` of its value. Weights drift within a
  period; at a rebalance only the difference to the new equal weights is traded.

Caveat: the demo fundamentals are one 2018 snapshot; fundamental fields are that snapshot's
shares/EPS/book/sales revalued at each day's close.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator
from typing_extensions import TypedDict

from stockscreen.core.errors import Invalid
from stockscreen.screening import ast as A
from stockscreen.screening.backtest_stats import DEFINITIONS, BacktestStats, drawdowns, equity_of, stats_of
from stockscreen.screening.engine import compile_query
from stockscreen.screening.evaluate import Evaluator
from stockscreen.screening.history import period_end_flags
from stockscreen.screening.language import to_text
from stockscreen.screening.universe import EPOCH, Universe
from stockscreen.screening.validate import check

MAX_PERIODS = 600
PERIODS_PER_YEAR = {"weekly": 52, "monthly": 12}
OPTIMISTIC = (
    "optimistic: entry and exit at the signal day's own close (same_close), a price no order placed "
    "after the signal could get"
)


class BacktestRequest(BaseModel):
    """A screen backtest's settings."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    query: Annotated[str | None, Field(max_length=4000, description="The screen in the text language.")] = None
    ast: A.Cond | None = Field(default=None, description="The screen as an AST (instead of `query`).")
    start: dt.date | None = Field(default=None, alias="from", description="First signal date (default: the first)")
    end: dt.date | None = Field(
        default=None,
        alias="to",
        description="End of the test: the last exit is signalled on it and executed by the entry rule "
        "(default: the latest)",
    )
    rebalance: Literal["weekly", "monthly"] = Field(
        default="monthly", description="Signal dates: the last session of each week or month."
    )
    entry: Literal["next_open", "same_close"] = Field(
        default="next_open",
        description="next_open: trade at the open of the session after each signal date (no look-ahead). "
        "same_close: trade at the signal date's own close, an optimistic assumption the result labels.",
    )
    hold_sessions: Annotated[int | None, Field(ge=1, le=1260)] = Field(
        default=None,
        description="Sell this many sessions after the entry, or at the next rebalance if that comes first "
        "(cash until then). Default: hold until the next rebalance.",
    )
    cost_bps: Annotated[float, Field(ge=0, le=1000)] = Field(
        default=10.0, description="Cost of every trade (a buy or a sell), in basis points of its value."
    )
    slippage_bps: Annotated[float, Field(ge=0, le=1000)] = Field(
        default=5.0, description="Slippage of every trade, in basis points of its value (added to cost_bps)."
    )
    benchmark: Annotated[str | None, Field(min_length=1, max_length=16)] = Field(
        default=None, description="Also measure this symbol (e.g. an index ETF) over the same dates."
    )

    @model_validator(mode="after")
    def _check(self) -> BacktestRequest:
        if (self.query is None) == (self.ast is None):
            raise ValueError("give the screen as either query or ast")
        if self.start and self.end and self.start > self.end:
            raise ValueError("'from' is after 'to'")
        return self

    def condition(self) -> A.CondNode:
        if self.query is not None:
            node = compile_query(self.query)
        else:
            node = self.ast
            check(node)
        if node is None:
            raise Invalid("the screen is empty")
        return node


class BacktestHolding(TypedDict):
    """One security held over one period (a plain mapping: a backtest may hold tens of thousands)."""

    symbol: str
    entry_date: Annotated[str, Field(description="Day bought (the session after the signal date with next_open).")]
    entry_price: Annotated[
        float, Field(description="That day's open (next_open) or the signal day's close (same_close).")
    ]
    exit_date: Annotated[
        str, Field(description="Day sold: the period's exit, or the last trading day of a delisted security.")
    ]
    exit_price: Annotated[
        float, Field(description="Open or close of the exit day by the same rule; a delisted security's last close.")
    ]
    gross_return: Annotated[float, Field(description="exit_price / entry_price - 1, before costs (0.05 = 5%).")]
    delisted: Annotated[
        bool, Field(description="The security stopped trading (was delisted) before the period's exit.")
    ]


class BacktestPeriod(BaseModel):
    """One rebalance: the signal, what was held, and the outcome beside the benchmark's."""

    signal_date: str = Field(description="The date the screen was evaluated on (its close is the last data read).")
    entry_date: str = Field(description="Day the period's positions were bought.")
    exit_date: str = Field(description="Day they were sold.")
    count: int = Field(description="Securities that matched the screen and could be bought (listed, with a price).")
    symbols: list[str] = Field(description="All of them (never truncated).")
    holdings: list[BacktestHolding] = Field(description="Each holding's entry and exit (same order as symbols).")
    cash: bool = Field(description="No security matched: the period holds cash and returns 0.")
    gross_return: float = Field(description="Mean of the holdings' returns (equal weights); 0 in cash.")
    cost: float = Field(
        description="The drag of this period's trades: gross_return - net_return. Each trade costs "
        "(cost_bps + slippage_bps) / 10000 of its value."
    )
    net_return: float = Field(description="(1 - cost at entry) x (1 + gross_return) x (1 - cost at exit) - 1.")
    benchmark_return: float | None = Field(
        description="Equal-weighted mean return of every listed security with an entry price, same dates and rule."
    )
    benchmark_symbol_return: float | None = Field(description="The benchmark symbol's return over the same dates.")
    excess: float | None = Field(description="net_return - benchmark_return.")
    hit_rate: float | None = Field(
        description="Share of the holdings whose return beat benchmark_return (None in cash)."
    )
    turnover: float = Field(
        description="max(value bought, value sold) at this period's entry / portfolio value: 1 when entering "
        "from cash, 0 when nothing changes."
    )


class BacktestEquityPoint(BaseModel):
    """The compounded value of 1 invested, after each period."""

    date: str = Field(description="The first entry date, then each period's exit date.")
    strategy: float = Field(description="Strategy equity after costs (starts at 1).")
    benchmark: float | None = Field(description="Benchmark (equal-weighted universe) equity, no costs.")
    benchmark_symbol: float | None = Field(description="The benchmark symbol's equity, when one is given.")
    drawdown: float = Field(description="strategy / its running maximum - 1 (0 or negative).")
    benchmark_drawdown: float | None = Field(description="The same for the benchmark.")


class BacktestSummary(BaseModel):
    """Statistics over all periods (cash periods included, at 0)."""

    periods: int = Field(description="Number of periods (rebalances with a complete outcome).")
    invested_periods: int = Field(description="Periods with at least one holding.")
    avg_holdings: float = Field(description="Mean count over all periods.")
    strategy: BacktestStats = Field(description="The strategy, net of costs.")
    benchmark: BacktestStats = Field(description=DEFINITIONS["benchmark"])
    benchmark_symbol: BacktestStats | None = Field(
        default=None, description="The benchmark symbol over the same dates."
    )
    hit_rate: float | None = Field(description=DEFINITIONS["hit_rate"])
    avg_excess: float | None = Field(description=DEFINITIONS["avg_excess"])
    avg_excess_invested: float | None = Field(description=DEFINITIONS["avg_excess_invested"])
    avg_turnover: float | None = Field(description=DEFINITIONS["avg_turnover"])
    total_cost: float = Field(description=DEFINITIONS["total_cost"])


class BacktestResult(BaseModel):
    """A screen backtest. Returns are fractions (0.05 = 5%)."""

    query: str
    rebalance: str
    entry: str = Field(description="next_open or same_close (optimistic).")
    optimistic: bool = Field(description="True for same_close: the entry uses a price known only at the signal.")
    hold_sessions: int | None
    cost_bps: float
    slippage_bps: float
    benchmark: str = Field(description="What the benchmark is.")
    benchmark_symbol: str | None
    start: str = Field(description="First signal date.")
    end: str = Field(description="Last exit date.")
    periods: list[BacktestPeriod]
    equity: list[BacktestEquityPoint]
    summary: BacktestSummary
    delistings: int = Field(description="Securities in the loaded data that stopped trading within start..end.")
    warnings: list[str] = Field(description="What the data or the settings cannot tell (survivorship, optimism).")
    definitions: dict[str, str] = Field(description="How each statistic of the summary is computed.")


# ---------------------------------------------------------------- listing


_Bounds = tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.bool_]]
_bounds_cache: list[tuple[Universe, _Bounds]] = []  # the last universe's (one per process, replaced on a reload)


def listing_bounds(u: Universe) -> _Bounds:
    for known, bounds in _bounds_cache:
        if known is u:
            return bounds
    bounds = _listing_bounds(u)
    _bounds_cache[:] = [(u, bounds)]
    return bounds


def _listing_bounds(u: Universe) -> _Bounds:
    """Each security's first and last listed date column, and whether it was delisted.

    ``listed_on``/``delisted_on`` of the security master when set (``delisted_on`` is the last day
    it traded), cut to the stored bars; otherwise the first and last bar. A security whose bars stop
    before the data's last date counts as delisted there."""
    has = u.daily.has
    width = has.shape[1]
    cols = np.arange(width)
    first = np.where(has, cols, width).min(axis=1, initial=width)
    last = np.where(has, cols, -1).max(axis=1, initial=-1)
    days = ((u.trading_dates.astype("datetime64[D]") - EPOCH) // np.timedelta64(1, "D")).astype(np.float64)
    listed_on = u.dates.get("listed_on")
    if listed_on is not None:
        lo = np.searchsorted(days, np.nan_to_num(listed_on, nan=-1e18), side="left")
        first = np.maximum(first, lo)
    delisted = last < width - 1
    delisted_on = u.dates.get("delisted_on")
    if delisted_on is not None:
        known = ~np.isnan(delisted_on)
        hi = np.searchsorted(days, np.nan_to_num(delisted_on, nan=1e18), side="right") - 1
        last = np.where(known, np.minimum(last, hi), last)
        delisted = delisted | (known & (hi < width - 1))
    return first.astype(np.intp), last.astype(np.intp), delisted


class _Prices:
    """Execution prices by the entry rule, with the delisting and missing-price fallbacks."""

    def __init__(self, u: Universe, rule: str, last: NDArray[np.intp]) -> None:
        self.close = u.daily.c
        self.trade = u.daily.o if rule == "next_open" else u.daily.c
        self.last = last

    def exit(self, rows: NDArray[np.intp], x: int) -> tuple[NDArray[np.intp], NDArray[np.float64], NDArray[np.bool_]]:
        """Exit column, price and whether the security had been delisted, for ``rows`` sold on column ``x``."""
        gone = self.last[rows] < x
        cols = np.where(gone, self.last[rows], x)
        price = np.where(gone, self.close[rows, cols], self.trade[rows, x])
        for k in np.flatnonzero(np.isnan(price)):  # no price that day: the last close before it
            seen = np.flatnonzero(~np.isnan(self.close[rows[k], : cols[k] + 1]))
            cols[k] = seen[-1]
            price[k] = self.close[rows[k], cols[k]]
        return cols, price, gone


def _schedule(u: Universe, req: BacktestRequest) -> tuple[list[tuple[int, int, int]], list[str]]:
    """(signal, entry, exit) columns of each period; warnings about periods left out."""
    dates = u.trading_dates
    width = len(dates)
    t0 = u.date_index(req.start) if req.start else 0
    if req.start and dates[t0] < np.datetime64(req.start, "D"):
        t0 += 1
    t1 = u.date_index(req.end)
    if t0 > t1:
        raise Invalid("no trading dates between 'from' and 'to'")
    is_end, _ = period_end_flags(dates, req.rebalance)
    points = [t for t in range(t0, t1 + 1) if is_end[t]]
    if len(points) > MAX_PERIODS:
        raise Invalid(f"{len(points)} rebalance dates; the limit is {MAX_PERIODS}: shorten the range")
    shift = 1 if req.entry == "next_open" else 0
    out: list[tuple[int, int, int]] = []
    notes: list[str] = []
    for i, t in enumerate(points):
        nxt = points[i + 1] if i + 1 < len(points) else t1
        if nxt <= t:
            continue  # a rebalance on the test's last day has nothing left to hold
        exit_signal = min(t + req.hold_sessions, nxt) if req.hold_sessions else nxt
        if exit_signal + shift >= width:
            notes.append(f"the period signalled on {dates[t]} is left out: its exit is after the stored data")
            continue
        out.append((t, t + shift, exit_signal + shift))
    if not out:
        raise Invalid("no rebalance date in the range with a complete holding period")
    return out, notes


def run_backtest(u: Universe, req: BacktestRequest) -> BacktestResult:
    cond = req.condition()
    dates = u.trading_dates
    schedule, warnings = _schedule(u, req)
    bench_row: int | None = None
    if req.benchmark is not None:
        bench_row = u.row_of(req.benchmark)
        if bench_row is None:
            raise Invalid(f"unknown benchmark symbol {req.benchmark!r}")
    signals = [s for s, _, _ in schedule]
    ev = Evaluator(u)
    u.want(A.fields_of(cond) | {"close"})  # one pass computes every history the backtest reads
    lo = signals[0]
    if any(ref.timeframe != "daily" for ref in A.field_refs(cond)):
        # weekly/monthly bars are cut at each evaluated day: evaluate only the signal days
        masks = np.zeros((u.n, signals[-1] - lo + 1), dtype=bool)
        for t in signals:
            masks[:, t - lo] = ev.mask(cond, t)
    else:
        masks = ev.cond(cond, lo, signals[-1])
    first, last, delisted = listing_bounds(u)
    prices = _Prices(u, req.entry, last)
    unit_cost = (req.cost_bps + req.slippage_bps) / 1e4
    symbols = u.symbols
    day: list[str] = np.datetime_as_string(dates.astype("datetime64[D]")).tolist()

    periods: list[BacktestPeriod] = []
    no_weights = np.zeros(u.n)
    prev_weights = no_weights
    prev_exit = -1
    for k, (t, e, x) in enumerate(schedule):
        entry_px = prices.trade[:, e]
        with np.errstate(invalid="ignore"):
            eligible = (first <= t) & (last >= e) & (entry_px > 0)
        universe = np.flatnonzero(eligible)
        rows = np.flatnonzero(masks[:, t - lo] & eligible)
        u_cols, u_exit, _ = prices.exit(universe, x)
        u_ret = u_exit / entry_px[universe] - 1.0
        bench = float(u_ret.mean()) if len(u_ret) else None
        pos = np.searchsorted(universe, rows)
        ret = u_ret[pos]
        gross = float(ret.mean()) if len(rows) else 0.0
        # trading: from the previous period's drifted weights (if it ends where this one starts) to equal weights
        held = prev_weights if prev_exit == e else no_weights
        target = np.zeros(u.n)
        target[rows] = 1.0 / len(rows) if len(rows) else 0.0
        change = target - held
        bought, sold = float(change[change > 0].sum()), float(-change[change < 0].sum())
        nxt_entry = schedule[k + 1][1] if k + 1 < len(schedule) else -1
        sell_all = 1.0 if len(rows) and nxt_entry != x else 0.0
        a, b = unit_cost * (bought + sold), unit_cost * sell_all
        net = gross - (1.0 + gross) * (a + b - a * b)  # (1 - a)(1 + gross)(1 - b) - 1, exact without costs
        prev_weights = np.zeros(u.n)
        prev_weights[rows] = (1.0 + ret) / len(rows) / (1.0 + gross)
        prev_exit = x
        bsym = None
        if bench_row is not None and entry_px[bench_row] > 0 and first[bench_row] <= t and last[bench_row] >= e:
            _, bpx, _ = prices.exit(np.array([bench_row]), x)
            bsym = float(bpx[0] / entry_px[bench_row] - 1.0)
        held_syms = symbols[rows].tolist()
        entry_day, exit_day = day[e], day[x]
        holdings: list[BacktestHolding] = [
            {
                "symbol": sym,
                "entry_date": entry_day,
                "entry_price": ep,
                "exit_date": exit_day if c == x else day[c],
                "exit_price": xp,
                "gross_return": v,
                "delisted": g,
            }
            for sym, ep, c, xp, v, g in zip(
                held_syms,
                entry_px[rows].tolist(),
                u_cols[pos].tolist(),
                u_exit[pos].tolist(),
                ret.tolist(),
                (last[rows] < x).tolist(),
                strict=True,
            )
        ]
        periods.append(
            BacktestPeriod.model_construct(  # every value is built here with its type: no validation pass
                signal_date=day[t],
                entry_date=entry_day,
                exit_date=exit_day,
                count=len(rows),
                symbols=held_syms,
                holdings=holdings,
                cash=not len(rows),
                gross_return=gross,
                cost=gross - net,
                net_return=net,
                benchmark_return=bench,
                benchmark_symbol_return=bsym,
                excess=None if bench is None else net - bench,
                hit_rate=float((ret > bench).mean()) if len(rows) and bench is not None else None,
                turnover=max(bought, sold),
            )
        )
        if bench_row is not None and bsym is None:
            warnings.append(f"{req.benchmark} has no price to trade on {dates[e]}: its return is missing that period")

    summary, equity = _summarise(periods, req)
    start_day, end_day = schedule[0][0], schedule[-1][2]
    gone_in_range = int(np.count_nonzero(delisted & (last >= start_day) & (last <= end_day)))
    if gone_in_range == 0:
        warnings.append(
            f"survivorship: no security in the loaded data stopped trading between {dates[start_day]} and "
            f"{dates[end_day]}; if delisted securities are missing from the data, the results are biased upwards"
        )
    if req.entry == "same_close":
        warnings.insert(0, OPTIMISTIC)
    return BacktestResult(
        query=to_text(cond),
        rebalance=req.rebalance,
        entry=req.entry,
        optimistic=req.entry == "same_close",
        hold_sessions=req.hold_sessions,
        cost_bps=req.cost_bps,
        slippage_bps=req.slippage_bps,
        benchmark="the equal-weighted universe of listed securities, same dates and prices",
        benchmark_symbol=req.benchmark.upper() if req.benchmark else None,
        start=str(dates[start_day]),
        end=str(dates[end_day]),
        periods=periods,
        equity=equity,
        summary=summary,
        delistings=gone_in_range,
        warnings=warnings,
        definitions=dict(DEFINITIONS),
    )


def _summarise(
    periods: list[BacktestPeriod], req: BacktestRequest
) -> tuple[BacktestSummary, list[BacktestEquityPoint]]:
    ppy = PERIODS_PER_YEAR[req.rebalance]
    begin = dt.date.fromisoformat(periods[0].entry_date)
    ends = [dt.date.fromisoformat(p.exit_date) for p in periods]
    net = np.array([p.net_return for p in periods])
    bench = np.array([np.nan if p.benchmark_return is None else p.benchmark_return for p in periods])
    bsym = np.array([np.nan if p.benchmark_symbol_return is None else p.benchmark_symbol_return for p in periods])
    days = [begin, *ends]
    s_eq, b_eq, y_eq = equity_of(net), equity_of(np.nan_to_num(bench)), equity_of(np.nan_to_num(bsym))
    s_dd, b_dd = drawdowns(s_eq), drawdowns(b_eq)
    with_symbol = req.benchmark is not None
    equity = [
        BacktestEquityPoint(
            date=d.isoformat(),
            strategy=float(s_eq[i]),
            benchmark=float(b_eq[i]),
            benchmark_symbol=float(y_eq[i]) if with_symbol else None,
            drawdown=float(s_dd[i]),
            benchmark_drawdown=float(b_dd[i]),
        )
        for i, d in enumerate(days)
    ]
    invested = np.array([not p.cash for p in periods])
    excess = net - bench
    both = ~np.isnan(excess)
    inv_both = both & invested

    def mean(x: NDArray[np.float64]) -> float | None:
        return float(x.mean()) if len(x) else None

    summary = BacktestSummary(
        periods=len(periods),
        invested_periods=int(invested.sum()),
        avg_holdings=float(np.mean([p.count for p in periods])),
        strategy=stats_of(net, days, ppy),
        benchmark=stats_of(np.nan_to_num(bench), days, ppy),
        benchmark_symbol=stats_of(np.nan_to_num(bsym), days, ppy) if with_symbol else None,
        hit_rate=mean((net[inv_both] > bench[inv_both]).astype(float)),
        avg_excess=mean(excess[both]),
        avg_excess_invested=mean(excess[inv_both]),
        avg_turnover=mean(np.array([p.turnover for p in periods[1:]])),
        total_cost=float(sum(p.cost for p in periods)),
    )
    return summary, equity


# ---------------------------------------------------------------- CSV

CSV_COLUMNS = [
    "signal_date",
    "count",
    "symbol",
    "entry_date",
    "entry_price",
    "exit_date",
    "exit_price",
    "return",
    "delisted",
    "period_net_return",
    "benchmark_return",
]


def to_csv(result: BacktestResult) -> str:
    """One row per holding of every period (a cash period: one row without a symbol)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for p in result.periods:
        tail: list[Any] = [p.net_return, "" if p.benchmark_return is None else p.benchmark_return]
        if p.cash:
            w.writerow([p.signal_date, 0, "", p.entry_date, "", p.exit_date, "", 0.0, "", *tail])
        for h in p.holdings:
            w.writerow(
                [
                    p.signal_date,
                    p.count,
                    h["symbol"],
                    h["entry_date"],
                    h["entry_price"],
                    h["exit_date"],
                    h["exit_price"],
                    h["gross_return"],
                    "yes" if h["delisted"] else "",
                    *tail,
                ]
            )
    return buf.getvalue()
