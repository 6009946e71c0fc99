"""Backtest a screen: evaluate it on each rebalance date over the stored history, point in time.

The screen on date ``t`` reads only columns ``<= t`` of the universe (every metric history is
causal: windows end at ``t``, weekly/monthly bars are cut at ``t``); forward returns are the
*outcome* and are measured from ``t``'s close to the close 21 (1M) and 63 (3M) sessions later.
Caveat: the demo fundamentals are one 2018 snapshot; fundamental fields are that snapshot's
shares/EPS/book/sales revalued at each day's close.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from stockscreen.core.errors import Invalid
from stockscreen.screening import ast as A
from stockscreen.screening.engine import compile_query
from stockscreen.screening.evaluate import Evaluator
from stockscreen.screening.history import period_end_flags
from stockscreen.screening.language import to_text
from stockscreen.screening.universe import Universe
from stockscreen.screening.validate import check

HORIZONS = {"1m": 21, "3m": 63}
MAX_PERIODS = 600


class BacktestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    query: Annotated[str | None, Field(max_length=4000)] = None
    ast: A.Cond | None = None
    start: dt.date | None = Field(default=None, alias="from")
    end: dt.date | None = Field(default=None, alias="to")
    rebalance: Literal["weekly", "monthly"] = "monthly"
    max_symbols: Annotated[int, Field(ge=0, le=500)] = 20

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


class Period(BaseModel):
    date: str
    matches: int
    symbols: list[str]
    fwd_1m: float | None
    fwd_3m: float | None
    universe_1m: float | None
    universe_3m: float | None
    hit_rate_1m: float | None
    turnover: float | None


class BacktestResult(BaseModel):
    query: str
    rebalance: str
    start: str
    end: str
    periods: list[Period]
    summary: dict[str, float | int | None]


def _mean(x: np.ndarray[Any, Any]) -> float | None:
    x = x[~np.isnan(x)]
    return float(x.mean()) if len(x) else None


def run_backtest(u: Universe, req: BacktestRequest) -> BacktestResult:
    cond = req.condition()
    dates = u.trading_dates
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
    if not points:
        raise Invalid("no rebalance date in the range")
    ev = Evaluator(u)
    u.want(A.fields_of(cond) | {"close"})  # one pass computes every history the backtest reads
    if any(ref.timeframe != "daily" for ref in A.field_refs(cond)):
        # weekly/monthly bars are cut at each evaluated day: evaluate only the rebalance days
        masks = np.zeros((u.n, points[-1] - points[0] + 1), dtype=bool)
        for t in points:
            masks[:, t - points[0]] = ev.mask(cond, t)
    else:
        masks = ev.cond(cond, points[0], points[-1])
    close = u.numeric("close")
    periods: list[Period] = []
    prev: set[int] | None = None
    acc: dict[str, list[float]] = {"1m": [], "3m": [], "u1m": [], "u3m": [], "hit": [], "turn": []}
    for t in points:
        rows = np.flatnonzero(masks[:, t - points[0]])
        now = close[:, t]
        fwd: dict[str, np.ndarray[Any, Any]] = {}
        for key, h in HORIZONS.items():
            if t + h < len(dates):
                with np.errstate(invalid="ignore", divide="ignore"):
                    fwd[key] = (close[:, t + h] / now - 1.0) * 100.0
            else:
                fwd[key] = np.full(u.n, np.nan)
        m1, m3 = _mean(fwd["1m"][rows]), _mean(fwd["3m"][rows])
        u1, u3 = _mean(fwd["1m"]), _mean(fwd["3m"])
        hit = None
        r1 = fwd["1m"][rows]
        r1 = r1[~np.isnan(r1)]
        if len(r1) and u1 is not None:
            hit = float((r1 > u1).mean())
        cur = set(rows.tolist())
        turnover = None
        if prev is not None and cur:
            turnover = len(cur - prev) / len(cur)
        prev = cur
        for k, v in (("1m", m1), ("3m", m3), ("u1m", u1), ("u3m", u3), ("hit", hit), ("turn", turnover)):
            if v is not None:
                acc[k].append(v)
        periods.append(
            Period(
                date=str(dates[t]),
                matches=len(rows),
                symbols=[str(s) for s in u.symbols[rows[: req.max_symbols]]],
                fwd_1m=m1,
                fwd_3m=m3,
                universe_1m=u1,
                universe_3m=u3,
                hit_rate_1m=hit,
                turnover=turnover,
            )
        )

    def avg(k: str) -> float | None:
        return float(np.mean(acc[k])) if acc[k] else None

    a1, b1 = avg("1m"), avg("u1m")
    summary: dict[str, float | int | None] = {
        "periods": len(periods),
        "avg_matches": float(np.mean([p.matches for p in periods])),
        "avg_fwd_1m": a1,
        "avg_fwd_3m": avg("3m"),
        "avg_universe_1m": b1,
        "avg_universe_3m": avg("u3m"),
        "excess_1m": None if a1 is None or b1 is None else a1 - b1,
        "hit_rate_1m": avg("hit"),
        "avg_turnover": avg("turn"),
    }
    summary = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in summary.items()}
    return BacktestResult(
        query=to_text(cond),
        rebalance=req.rebalance,
        start=str(dates[points[0]]),
        end=str(dates[points[-1]]),
        periods=periods,
        summary=summary,
    )
